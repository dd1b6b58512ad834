//! Streaming: a client that leaves frees its connection at once; a failure
//! after the first byte leaves a visibly broken response.

use crate::helpers::{on_both_backends, rows_of, sample_row, spawn_app_with, ts, window, Backend};
use diesel::connection::SimpleConnection;
use hourglass::clock::ManualClock;
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::Dataset;
use hourglass::ingest;
use std::time::{Duration, Instant};

on_both_backends!(
    a_client_that_goes_away_frees_the_connection,
    an_exhausted_pool_is_a_503_with_retry_after,
);

/// Writes `count` transactions stamped 07:00 straight through the write path.
fn write_transactions(app: &crate::helpers::TestApp, count: i64) {
    let clock = ManualClock::new(ts("2020-10-10 07:00:00"));
    let mut conn = app.conn();
    let catalog = Catalog::load(&mut conn).unwrap();
    for start in (0..count).step_by(20_000) {
        let objects: Vec<_> = (start..(start + 20_000).min(count))
            .map(|id| sample_row("transactions", id + 1))
            .collect();
        let rows = rows_of(&mut conn, "transactions", &objects);
        let shape = catalog.shape(Dataset::named("transactions"));
        ingest::write_batch(&mut conn, &clock, shape, &rows).unwrap();
    }
}

async fn a_client_that_goes_away_frees_the_connection(backend: Backend) {
    // One read connection: if the abandoned stream kept it (reading on to the
    // end of the window, which takes a second or more here), the next pull
    // would wait for it and fail with 503. Stopping at once takes milliseconds.
    let app = spawn_app_with(backend, |settings| {
        settings.database.read_pool_size = 1;
        settings.database.acquire_timeout = Duration::from_millis(500);
    })
    .await;
    write_transactions(&app, 100_000);
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");

    let mut response = app.pull("transactions", &query).await;
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(response);

    let started = Instant::now();
    let next = app
        .pull(
            "transactions",
            "from=2020-10-10+06:00:00&to=2020-10-10+07:00:00",
        )
        .await;
    assert_eq!(
        next.status(),
        200,
        "the abandoned stream's connection came back"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[actix_web::test]
async fn a_failure_mid_stream_breaks_the_response_on_sqlite() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.database.read_pool_size = 1
    })
    .await;
    write_transactions(&app, 200_000);
    // Everything into the main file, so damage to it is damage to the data.
    app.conn()
        .batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();

    let mut response = app
        .pull(
            "transactions",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut received = response.chunk().await.unwrap().unwrap().len();

    // The producer now waits on the full channel, deep in the table. The disk
    // "goes bad" under it: the back half of the file becomes garbage.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(app.db_path.as_ref().unwrap())
            .unwrap();
        let length = file.metadata().unwrap().len();
        file.seek(SeekFrom::Start(length / 2)).unwrap();
        file.write_all(&vec![0xA5; (length / 2) as usize]).unwrap();
        file.sync_all().unwrap();
    }

    let outcome = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    assert!(
        outcome.is_err(),
        "the response ended cleanly after {received} bytes, as if the file were complete"
    );
}

async fn an_exhausted_pool_is_a_503_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.database.read_pool_size = 1;
        settings.database.acquire_timeout = Duration::from_millis(200);
    })
    .await;
    let held = app.pools.read.get().unwrap();
    let response = app
        .pull(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    drop(held);
    let response = app
        .pull(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "it recovers once a connection is free"
    );
}
