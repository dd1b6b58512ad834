//! `GET /api/stats`: every fed dataset's rows written per hour over the
//! last 48 hours, its last write, and whether it has gone quiet for longer
//! than usual (`feeds.rs`). Read from the per-hour counters, never from the
//! datasets, so it costs the same on any size of database. Each dataset
//! also says how long its rows are kept here, and its horizon.

use crate::auth::ReadKey;
use crate::datasets::Dataset;
use crate::error::ApiError;
use crate::state::{Db, Limits};
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn stats(
    req: HttpRequest,
    ReadKey(key): ReadKey,
    db: web::Data<Db>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    if let Some((name, _)) = pairs
        .into_iter()
        .find(|(name, _)| !limits.extra_params.contains(name))
    {
        return Err(ApiError::UnknownParameter {
            name,
            hint: "stats take no parameters".into(),
        });
    }
    // A read connection, from the key's share like a pull's.
    let _permit = limits.streams.acquire(&key)?;
    let (pool, now) = (db.pools.read.clone(), db.clock.now());
    let mut stats = web::block(move || {
        let mut conn = pool.get()?;
        Ok::<_, ApiError>(crate::feeds::stats(&mut conn, now)?)
    })
    .await??;
    for feed in &mut stats.datasets {
        let (age, horizon) = limits.kept(Dataset::named(feed.dataset), now);
        feed.retention_seconds = age.map(|age| age.as_secs());
        feed.horizon = horizon;
    }
    Ok(HttpResponse::Ok().json(stats))
}
