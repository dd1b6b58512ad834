//! `GET /health`: whether the database answers, within one second, whatever
//! pulls and writes are doing. No key needed.
//!
//! It has connections of its own (`Pools::health`), so it never queues
//! behind pulls or writes. 200 when the primary (and the replica pulls read,
//! if any) answer; 503 otherwise, saying which part did not. The pools'
//! occupancy comes along, to tell "busy" from "down", and so do the writes
//! queued for or in their group commit.

use crate::db::{self, DbPool, HEALTH_TIMEOUT};
use crate::state::Db;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn health(db: web::Data<Db>) -> HttpResponse {
    let pools = db.pools.clone();
    let checked = actix_web::rt::time::timeout(
        HEALTH_TIMEOUT * 2,
        web::block(move || {
            let primary = check(&pools.health);
            let replica = pools.health_replica.as_ref().map(check);
            (primary, replica)
        }),
    )
    .await;
    let (primary, replica) = match checked {
        Ok(Ok(answers)) => answers,
        _ => (Err(()), None),
    };
    let word = |answer: &Result<(), ()>| if answer.is_ok() { "ok" } else { "unavailable" };
    let healthy = primary.is_ok() && replica.as_ref().is_none_or(Result::is_ok);
    let occupancy = |pool: &DbPool| {
        let state = pool.state();
        json!({
            "size": pool.max_size(),
            "in_use": state.connections - state.idle_connections,
        })
    };
    let mut body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "database": word(&primary),
        "pools": {
            "read": occupancy(&db.pools.read),
            "write": occupancy(&db.pools.write),
        },
        "writes_waiting": db.writes.waiting(),
    });
    if let Some(replica) = &replica {
        body["replica"] = json!(word(replica));
    }
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "2"))
            .json(body)
    }
}

/// One `SELECT 1` on the health pool's connection; the cause of a failure
/// goes to the log, not to the unauthenticated answer.
fn check(pool: &DbPool) -> Result<(), ()> {
    let answered = pool
        .get()
        .map_err(|error| error.to_string())
        .and_then(|mut conn| db::ping(&mut conn).map_err(|error| error.to_string()));
    answered.map_err(|cause| log::warn!("health check: the database did not answer: {cause}"))
}
