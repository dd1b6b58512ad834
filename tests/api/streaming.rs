//! Streaming: a client that leaves frees its connection at once; a failure
//! after the first byte leaves a visibly broken response.

use crate::helpers::{
    eventually, on_both_backends, request_to, rows_of, sample_row, spawn_app_with, ts, window,
    Backend,
};
use diesel::connection::SimpleConnection;
use hourglass::clock::ManualClock;
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::Dataset;
use hourglass::ingest;
use reqwest::Method;
use std::time::{Duration, Instant};

on_both_backends!(
    a_client_that_goes_away_frees_the_connection,
    an_exhausted_pool_is_a_503_with_retry_after,
    a_stalled_pull_is_cut_after_the_send_timeout_and_frees_its_snapshot,
    one_key_cannot_take_every_read_connection,
    a_pull_cut_by_the_shutdown_grace_is_logged_as_such,
);

/// Writes `count` transactions stamped 07:00 straight through the write path.
pub(crate) fn write_transactions(app: &crate::helpers::TestApp, count: i64) {
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

/// Work the database cannot finish while a reader holds an old snapshot: on
/// SQLite, WAL frames a checkpoint cannot copy back; on PostgreSQL,
/// sessions idle in a transaction (each pinning the vacuum horizon).
fn pinned_by_readers(app: &crate::helpers::TestApp, backend: Backend) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        log: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        checkpointed: i32,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    let conn: &mut hourglass::db::DbConnection = &mut conn;
    match backend {
        Backend::Sqlite => {
            let c: Checkpoint = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                .get_result(conn)
                .unwrap();
            i64::from(c.log - c.checkpointed)
        }
        Backend::Postgres => {
            diesel::sql_query(
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()",
            )
            .get_result::<Count>(conn)
            .unwrap()
            .n
        }
    }
}

async fn a_stalled_pull_is_cut_after_the_send_timeout_and_frees_its_snapshot(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.database.read_pool_size = 1;
        settings.database.acquire_timeout = Duration::from_millis(500);
        settings.send_timeout = Duration::from_secs(1);
    })
    .await;
    write_transactions(&app, 100_000);
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let sent = Instant::now();
    let mut stalled = app.pull("transactions", &query).await;
    assert_eq!(stalled.status(), 200);
    let mut received = stalled.chunk().await.unwrap().unwrap().len();

    // The client reads no more. Writes go on meanwhile; while the pull holds
    // its snapshot, the database cannot let go of what they replaced (on
    // PostgreSQL, once the producer waits for room to send, between two
    // fetches: idle in its transaction).
    write_transactions(&app, 1_000);
    let mut while_stalled = 0;
    eventually(
        Duration::from_secs(5),
        "the stalled pull to hold its snapshot",
        || {
            while_stalled = pinned_by_readers(&app, backend);
            std::future::ready(while_stalled > 0)
        },
    )
    .await;

    // Until the server has cut the pull: its stream is no longer in flight
    // (the producer gives back its place after its connection). Not before
    // the send timeout has passed.
    app.until_pulls_in_flight(0).await;
    assert!(
        sent.elapsed() >= Duration::from_secs(1),
        "cut {:?} after it was sent, before the send timeout (1 s)",
        sent.elapsed()
    );
    // Counted as a client that stalled, not one that went away (a CSV
    // encoder once hid the timeout's kind).
    let pulls = "hourglass_pulls_total";
    let outcome = |outcome| [("dataset", "transactions"), ("outcome", outcome)];
    assert_eq!(
        (
            app.metric(pulls, &outcome("stalled")).await,
            app.metric(pulls, &outcome("client_gone")).await
        ),
        (1.0, 0.0),
        "the cut pull's outcome in /metrics"
    );
    let after = pinned_by_readers(&app, backend);
    assert_eq!(
        after, 0,
        "cut after the send timeout, the pull let go of its snapshot"
    );
    if let Some(path) = &app.db_path {
        let wal = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
        println!("WAL after the cut: {wal} bytes; frames no checkpoint could copy: {while_stalled} while stalled, {after} after");
    }
    let started = Instant::now();
    let next = app.pull("users", &query).await;
    assert_eq!(next.status(), 200, "the one read connection came back");
    assert!(started.elapsed() < Duration::from_millis(500));

    // What the server had already sent still arrives; then the transfer
    // breaks, so the client can never take the cut file for a whole one.
    let outcome = loop {
        match stalled.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    assert!(
        outcome.is_err(),
        "the cut pull ended cleanly after {received} bytes"
    );
}

async fn one_key_cannot_take_every_read_connection(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.database.read_pool_size = 4;
        settings.streams_per_key = 2;
        settings.database.acquire_timeout = Duration::from_millis(500);
    })
    .await;
    write_transactions(&app, 100_000);
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut response = app.pull("transactions", &query).await;
        assert_eq!(response.status(), 200);
        response.chunk().await.unwrap();
        stalled.push(response);
    }
    let started = Instant::now();
    let refused = app.pull("transactions", &query).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "refused at once"
    );

    // Another key still pulls, and /health answers.
    let other = app
        .request(Method::GET, &format!("/api/users?{query}"))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    let started = Instant::now();
    app.health().await;
    assert!(started.elapsed() < Duration::from_secs(1));

    // When one of its pulls ends, the key may start another.
    drop(stalled.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = app.pull("users", &query).await;
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 429);
        assert!(Instant::now() < deadline, "the place was never given back");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_pull_cut_by_the_shutdown_grace_is_logged_as_such(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    write_transactions(&app, 100_000);
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = crate::helpers::ServerProcess::start_logging(
        &app.database_url,
        &["--shutdown-grace", "1", "--send-timeout", "60"],
        log.path(),
    )
    .await;
    // The server process, through the app's client (which does not ask for
    // gzip: the stream is the server's own).
    let mut stalled = request_to(
        &app.client,
        Method::GET,
        &server.address,
        &format!(
            "/api/transactions?{}",
            window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
        ),
    )
    .bearer_auth(&app.read_key)
    .send()
    .await
    .unwrap();
    assert_eq!(stalled.status(), 200);
    stalled.chunk().await.unwrap();

    let started = Instant::now();
    let status = server.terminate();
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "stopped after {took:?} with a grace of 1 s"
    );
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logged.contains("shutting down: requests in flight have 1 s to finish"),
        "{logged}"
    );
    assert!(logged.contains("cut by the shutdown"), "{logged}");
    let outcome = loop {
        match stalled.chunk().await {
            Ok(Some(_)) => continue,
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    assert!(outcome.is_err(), "the cut pull ended cleanly");
}
