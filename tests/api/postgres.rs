//! What only PostgreSQL has: several Hourglass processes on one database, a
//! replica for pulls, and server-side cursors that keep memory flat.

use crate::helpers::{
    sample_row, spawn_app_on_system_clock, spawn_app_with, window, Backend, ServerProcess, PRESENT,
};
use crate::no_miss::{check_no_miss, BATCHES};
use crate::pg_cluster;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::json;
use std::time::{Duration, Instant};

/// Two `hourglass serve` processes on one PostgreSQL: writers hit both, the
/// consumer alternates between them window by window, and still misses
/// nothing, because the commit barrier is the database's lock, not a lock
/// in one process.
#[actix_web::test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
async fn two_processes_on_one_database_miss_nothing() {
    // The in-process app makes the database and the keys; the two server
    // processes, started together, migrate it under the advisory lock.
    let app = spawn_app_on_system_clock(Backend::Postgres).await;
    // The consumer pulls several datasets at once with one key.
    let streams = crate::no_miss::CONSUMER_STREAMS.to_string();
    let (a, b) = futures_util::future::join(
        ServerProcess::start(&app.database_url, &["--streams-per-key", &streams]),
        ServerProcess::start(&app.database_url, &["--streams-per-key", &streams]),
    )
    .await;
    let servers = [a.address.clone(), b.address.clone()];
    check_no_miss(&servers, &servers, &app.read_key, &app.write_key, BATCHES).await;
}

/// The peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Streaming 500,000 rows (about 90 MB of CSV) must not raise the server's
/// peak memory by more than a few MiB: the rows come through a cursor in
/// batches, never as one result in client memory.
#[actix_web::test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
async fn a_large_window_streams_in_flat_memory() {
    const ROWS: i64 = 500_000;
    let app = spawn_app_on_system_clock(Backend::Postgres).await;
    let mut conn = PgConnection::establish(&app.database_url).unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO transactions SELECT g, g % 50000, g::bigint * 12345, 'EUR', 'Normal', 'Success', 'Visa', 'IN',
             1602313200000000 + g, 1602313200000000 + g * 1000, 'inv-' || g, g % 50000,
             'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', '10.1.2.3', '4111 **** **** 1111', NULL
         FROM generate_series(1, {ROWS}) g"
    ))
    .unwrap();
    let server = ServerProcess::start(&app.database_url, &[]).await;
    let pull = |query: String| {
        let request = server
            .request(reqwest::Method::GET, &format!("/api/transactions?{query}"))
            .bearer_auth(&app.read_key);
        async move {
            let mut response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let (mut bytes, mut lines) = (0usize, 0usize);
            while let Some(chunk) = response.chunk().await.unwrap() {
                bytes += chunk.len();
                lines += chunk.iter().filter(|b| **b == b'\n').count();
            }
            (bytes, lines - 1)
        }
    };
    // Row g is stamped 07:00:00 + g ms: the first second holds 999 rows, the hour all.
    let (_, few) = pull(window("2020-10-10 07:00:00", "2020-10-10 07:00:01")).await;
    let before = peak_rss_kib(server.pid());
    let (bytes, rows) = pull(window("2020-10-10 07:00:00", "2020-10-10 08:00:00")).await;
    let after = peak_rss_kib(server.pid());
    assert_eq!((few, rows), (999, ROWS as usize));
    eprintln!("streamed {rows} rows, {bytes} bytes: peak RSS {before} KiB after a 999-row window, {after} KiB after");
    assert!(
        after - before < 32 * 1024,
        "peak RSS grew by {} KiB streaming {bytes} bytes",
        after - before
    );
}

/// With `--read-database` on a replica, a pull waits until the replica has
/// replayed every write stamped before its `to`: a lagging replica delays a
/// pull, never truncates it.
#[actix_web::test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
async fn a_pull_from_a_lagging_replica_waits_for_it() {
    let app = spawn_app_with(Backend::Postgres, |settings| {
        settings.database.read_url = Some(pg_cluster::replica_url(&settings.database.url));
    })
    .await;
    // The replica has the schema once it has replayed the migrations.
    let mut replica = PgConnection::establish(&pg_cluster::replica_url(&app.database_url)).unwrap();
    let started = Instant::now();
    while replica
        .batch_execute("SELECT last_stamp FROM stamp_clock")
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the replica never caught up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    replica
        .batch_execute("SELECT pg_wal_replay_pause()")
        .unwrap();
    app.push_at(
        "2020-10-10 07:30:00",
        "users",
        json!([sample_row("users", 1)]),
    )
    .await;
    app.set_clock(PRESENT);
    let started = Instant::now();
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let pull = app.pull_json("users", &query);
    // The replica replays again 700 ms after the pull has reached the
    // server: a lag the pull must wait out (the 700 ms is the lag under
    // test, not synchronisation).
    let resume = async {
        app.until_pulls_in_flight(1).await;
        actix_web::rt::time::sleep(Duration::from_millis(700)).await;
        replica
            .batch_execute("SELECT pg_wal_replay_resume()")
            .unwrap();
    };
    let (rows, ()) = futures_util::future::join(pull, resume).await;
    assert_eq!(
        rows.len(),
        1,
        "the row written before the window's end is there"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "the pull did not wait for the replica"
    );
}
