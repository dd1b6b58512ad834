//! The one route table.
//!
//! | method | path              | handler        | key scope |
//! |--------|-------------------|----------------|-----------|
//! | GET    | `/health`         | [`health`]     | none      |
//! | GET    | `/api/schema`     | [`schema::schema`] | read  |
//! | GET    | `/api/{dataset}`  | [`pull::pull`] | read      |
//! | POST   | `/api/{dataset}`  | [`push::push`] | write     |
//!
//! Anything else is a problem+json 404.
//!
//! Logging: a pull logs its line when its stream ends (rows, bytes,
//! duration, outcome), a write when it has committed; the `/api` scope logs
//! every rejected request here. Other paths get actix's access log.

mod health;
mod pull;
mod push;
mod schema;

use crate::error::ApiError;
use actix_web::dev::Service;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .service(
            web::scope("/api")
                .wrap_fn(|req, service| {
                    let line = format!("{} {}", req.method(), req.uri());
                    let response = service.call(req);
                    async move {
                        let response = response.await?;
                        if let Some(error) = response.response().error() {
                            log::info!("{line} rejected {}: {error}", response.status().as_u16());
                        }
                        Ok(response)
                    }
                })
                .route("/schema", web::get().to(schema::schema))
                .route("/{dataset}", web::get().to(pull::pull))
                .route("/{dataset}", web::post().to(push::push)),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "nothing at {} {}; datasets are pulled with GET /api/<dataset>?from=...&to=... and written with POST /api/<dataset>",
        req.method(),
        req.path()
    )))
}
