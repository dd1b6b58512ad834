//! The one route table.
//!
//! | method | path              | handler        | key scope |
//! |--------|-------------------|----------------|-----------|
//! | GET    | `/health`         | [`health`]     | none      |
//! | GET    | `/api/{dataset}`  | [`pull::pull`] | read      |
//! | POST   | `/api/{dataset}`  | [`push::push`] | write     |
//!
//! Anything else is a problem+json 404.

mod health;
mod pull;
mod push;

use crate::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/api/{dataset}", web::get().to(pull::pull))
        .route("/api/{dataset}", web::post().to(push::push))
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "nothing at {} {}; datasets are pulled with GET /api/<dataset>?from=...&to=... and written with POST /api/<dataset>",
        req.method(),
        req.path()
    )))
}
