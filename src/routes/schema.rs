//! `GET /api/schema`: every dataset with its columns in output order (custom
//! fields included): type, whether a write requires it, allowed values, and
//! which column is the stamp.

use crate::auth::Scope;
use crate::error::ApiError;
use crate::startup::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn schema(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.keys.require(&req, Scope::Read).await?;
    Ok(HttpResponse::Ok().json(state.catalog.current().describe()))
}
