//! `POST /api/{dataset}` with a JSON array, NDJSON or CSV body: an atomic upsert.

use crate::auth::{self, Scope};
use crate::datasets::Dataset;
use crate::error::ApiError;
use crate::ingest::{self, BodyFormat};
use crate::startup::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::time::Instant;

pub async fn push(
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    auth::require(&req, &state.pools.write, Scope::Write).await?;
    let name = path.into_inner();
    let dataset = Dataset::from_name(&name)
        .filter(|d| d.is_pushable())
        .ok_or_else(|| {
            ApiError::NotFound(if name == "game_sessions" {
                "game sessions are computed from game actions: POST them to /api/game_actions"
                    .to_string()
            } else {
                format!(
                    "no dataset named '{name}'; write one of: {}",
                    Dataset::names_where(Dataset::is_pushable)
                )
            })
        })?;

    // Read the body up to the limit, refusing early when Content-Length
    // already says it is too large.
    let limit = state.max_body_bytes;
    let too_large = ApiError::PayloadTooLarge { limit };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large);
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::MalformedBody(format!("cannot read the request body: {error}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }

    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = BodyFormat::from_content_type(content_type, &body)?;
    let bytes = body.len();
    let pool = state.pools.write.clone();
    let clock = state.clock.clone();
    let catalog = state.catalog.current();
    let written = web::block(move || {
        let mut conn = pool.get()?;
        ingest::ingest(
            &mut conn,
            clock.as_ref(),
            catalog.shape(dataset),
            format,
            &body,
        )
    })
    .await??;
    log::info!(
        "POST /api/{} rows={} bytes={} duration_ms={}",
        written.dataset,
        written.rows,
        bytes,
        started.elapsed().as_millis()
    );
    Ok(HttpResponse::Ok().json(written))
}
