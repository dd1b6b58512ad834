//! `POST /api/players/{id}/erase`: blank a player's personal data
//! everywhere (see `ingest::erase`).

use crate::auth::WriteKey;
use crate::datasets::column::check_id;
use crate::error::ApiError;
use crate::ingest::erase;
use crate::state::Db;
use actix_web::{web, HttpResponse};

pub async fn erase(
    path: web::Path<String>,
    _key: WriteKey,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let player = path.into_inner();
    if let Err(reason) = check_id(&player) {
        return Err(ApiError::InvalidParameter {
            parameter: "id",
            reason: format!("(the player's id, in the path) {reason}"),
        });
    }
    let (pool, clock, catalog) = (
        db.pools.write.clone(),
        db.clock.clone(),
        db.catalog.current(),
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
