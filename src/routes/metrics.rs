//! `GET /metrics`: Prometheus text, for a read key (see `metrics.rs`).
//! Served from memory: it never waits for a database connection.

use crate::auth::Scope;
use crate::error::ApiError;
use crate::metrics::{Now, CONTENT_TYPE};
use crate::startup::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.keys.require(&req, Scope::Read).await?;
    let text = state.metrics.render(Now {
        pools: &state.pools,
        streams: state.stream_limits.running(),
        writes_waiting: state.writes.waiting(),
    });
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}
