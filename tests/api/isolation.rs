//! No kind of traffic starves another: writes holding every write
//! connection do not stop pulls, one key's stalled pulls do not stop another
//! key's, and `/health` answers within a second whatever the pools are doing.

use crate::helpers::{on_both_backends, sample_row, spawn_app_with, window, Backend};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

on_both_backends!(
    pulls_and_health_go_on_while_writes_hold_every_write_connection,
    eight_stalled_pulls_on_one_key_leave_room_for_other_keys_and_health,
);

async fn health_within_a_second(app: &crate::helpers::TestApp) -> Value {
    let started = Instant::now();
    let response = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn pulls_and_health_go_on_while_writes_hold_every_write_connection(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.database.acquire_timeout = Duration::from_millis(500);
    })
    .await;
    app.push_at(
        "2020-10-10 07:00:00",
        "users",
        json!([sample_row("users", "u1")]),
    )
    .await;
    // As six uploads would: every write connection taken, and every read one.
    let writes: Vec<_> = (0..4).map(|_| app.pools.write.get().unwrap()).collect();
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let started = Instant::now();
    let pulled = app.pull_text("users", &query).await;
    assert_eq!(pulled.lines().count(), 2);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the pull waited for a write connection"
    );
    let reads: Vec<_> = (0..8).map(|_| app.pools.read.get().unwrap()).collect();
    let health = health_within_a_second(&app).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["pools"]["write"], json!({"size": 4, "in_use": 4}));
    assert_eq!(health["pools"]["read"], json!({"size": 8, "in_use": 8}));
    drop((writes, reads));
}

async fn eight_stalled_pulls_on_one_key_leave_room_for_other_keys_and_health(backend: Backend) {
    // The default read pool of 8; one key may hold half of it.
    let app = spawn_app_with(backend, |settings| {
        settings.database.acquire_timeout = Duration::from_millis(500);
    })
    .await;
    crate::streaming::write_transactions(&app, 100_000);
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let mut stalled = Vec::new();
    let mut refused = 0;
    for _ in 0..8 {
        let mut response = app.pull("transactions", &query).await;
        match response.status().as_u16() {
            200 => {
                response.chunk().await.unwrap();
                stalled.push(response);
            }
            429 => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((stalled.len(), refused), (4, 4));
    let started = Instant::now();
    let other = app
        .client
        .get(format!("{}/api/transactions?{query}", app.address))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another key still pulls");
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(other);
    health_within_a_second(&app).await;
}
