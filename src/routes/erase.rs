//! `POST /api/players/{id}/erase`: blank a player's personal data
//! everywhere (see `ingest::erase`).

use crate::auth::Scope;
use crate::datasets::column::check_id;
use crate::error::ApiError;
use crate::ingest::erase;
use crate::startup::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn erase(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.keys.require(&req, Scope::Write).await?;
    let player = path.into_inner();
    if let Err(reason) = check_id(&player) {
        return Err(ApiError::InvalidParameter {
            parameter: "id",
            reason: format!("(the player's id, in the path) {reason}"),
        });
    }
    let (pool, clock, catalog) = (
        state.pools.write.clone(),
        state.clock.clone(),
        state.catalog.current(),
    );
    let erased = web::block(move || {
        let mut conn = pool.get()?;
        erase::erase(&mut conn, clock.as_ref(), &catalog, &player)
    })
    .await??;
    // The count, never the id: a log keeps no trace of whom.
    log::info!("erased a player: {} row(s) blanked", erased.rows);
    Ok(HttpResponse::Ok().json(erased))
}
