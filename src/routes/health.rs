//! `GET /health`: 200 when the database answers, 503 when it does not. No key needed.

use crate::db;
use crate::error::ApiError;
use crate::startup::AppState;
use actix_web::{web, HttpResponse};

pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.pools.read.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        db::ping(&mut conn).map_err(|error| ApiError::Unavailable(Box::new(error)))
    })
    .await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "database": "ok" })))
}
