//! `GET /metrics`: Prometheus text, for a read key (see `metrics.rs`).
//! Served from memory: it never waits for a database connection.

use crate::auth::ReadKey;
use crate::metrics::{Now, CONTENT_TYPE};
use crate::state::{Db, Limits, Tallies};
use actix_web::{web, HttpResponse};

pub async fn metrics(
    _key: ReadKey,
    db: web::Data<Db>,
    limits: web::Data<Limits>,
    tallies: web::Data<Tallies>,
) -> HttpResponse {
    let horizons = limits.retention.horizons(db.clock.now());
    let text = tallies.metrics.render(Now {
        pools: &db.pools,
        streams: limits.streams.running(),
        writes_waiting: db.writes.waiting(),
        uploads: limits.uploads.held(),
        horizons: horizons
            .into_iter()
            .map(|(dataset, horizon)| (dataset.name(), horizon))
            .collect(),
    });
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(text)
}
