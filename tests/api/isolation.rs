//! No kind of traffic starves another: a write holding the write
//! connection does not stop pulls, one key's stalled pulls do not stop another
//! key's, and `/health` answers within a second whatever the pools are doing.

use crate::helpers::{
    eventually, on_both_backends, sample_row, spawn_app_with, window, Backend, TestApp,
};
use futures_util::StreamExt as _;
use reqwest::Method;
use serde_json::{json, Value};

use std::time::{Duration, Instant};

on_both_backends!(
    pulls_and_health_go_on_while_a_write_holds_the_write_connection,
    eight_stalled_pulls_on_one_key_leave_room_for_other_keys_and_health,
    trickling_uploads_neither_stop_other_writes_nor_outlive_the_body_timeout,
);

/// `/health`, asserting that it answered 200 within a second.
async fn health_within_a_second(app: &crate::helpers::TestApp) -> Value {
    let started = Instant::now();
    let health = app.health().await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    health
}

async fn pulls_and_health_go_on_while_a_write_holds_the_write_connection(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.database.acquire_timeout = Duration::from_millis(2000);
    })
    .await;
    app.push_at(
        "2020-10-10 07:00:00",
        "users",
        json!([sample_row("users", "u1")]),
    )
    .await;
    // As a long write would: the committer's one connection taken, and a
    // write queued behind it.
    let held = app.pools.write.get().unwrap();
    let queued = app.push(
        "users",
        "application/json",
        json!([sample_row("users", "u2")]).to_string(),
    );
    let check = async {
        eventually(
            Duration::from_secs(10),
            "the write to queue (writes_waiting 1 in /health)",
            || async { health_within_a_second(&app).await["writes_waiting"] == 1 },
        )
        .await;
        let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
        let started = Instant::now();
        let pulled = app.pull_text("users", &query).await;
        assert_eq!(pulled.lines().count(), 2);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "the pull waited for the write connection"
        );
        let reads: Vec<_> = (0..8).map(|_| app.pools.read.get().unwrap()).collect();
        let health = health_within_a_second(&app).await;
        assert_eq!(health["status"], "ok");
        assert_eq!(health["pools"]["write"], json!({"size": 1, "in_use": 1}));
        assert_eq!(health["pools"]["read"], json!({"size": 8, "in_use": 8}));
        assert_eq!(health["writes_waiting"], 1);
        drop((held, reads));
    };
    let (queued, ()) = futures_util::future::join(queued, check).await;
    assert_eq!(
        queued.status(),
        200,
        "the queued write commits once the connection is back"
    );
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
        .request(Method::GET, &format!("/api/transactions?{query}"))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another key still pulls");
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(other);
    health_within_a_second(&app).await;
}

#[actix_web::test]
async fn a_write_past_the_upload_budget_is_a_503_at_once() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.max_uploads = 1;
        settings.max_upload_bytes = 1_000_000;
    })
    .await;
    // One body that trickles in: its first row, then nothing until the
    // second write has been answered. It holds the only place while it does.
    let (mut slow, mut end_body) = trickling_write(&app, sample_row("users", "u1"));
    // Until it holds the place: then a probe write with no valid row (which
    // writes nothing either way) is refused with 503 rather than read and
    // answered 422. A probe holds the place for an instant itself: should the
    // trickling write arrive just then, it is refused, and sent again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe = app.push("users", "application/json", "[{\"id\": 5}]").await;
        let status = probe.status().as_u16();
        assert!(status == 422 || status == 503, "probe: {status}");
        if status == 503 {
            break;
        }
        if slow.is_finished() {
            let refused = (&mut slow).await.unwrap();
            assert_eq!(
                refused.status(),
                503,
                "the trickling write ended before it was told to"
            );
            (slow, end_body) = trickling_write(&app, sample_row("users", "u1"));
        }
        assert!(
            Instant::now() < deadline,
            "the trickling write never took the only place"
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let second = app
        .push(
            "users",
            "application/json",
            json!([sample_row("users", "u2")]).to_string(),
        )
        .await;
    let took = started.elapsed();
    // The slow body ends; if its request failed already, it says so below.
    let _ = end_body.send(());
    assert_eq!(second.status(), 503);
    assert!(second.headers().contains_key("retry-after"));
    assert!(
        took < Duration::from_millis(500),
        "refused at once, not queued"
    );
    assert_eq!(slow.await.unwrap().status(), 200);

    // A body declared larger than the byte budget is refused before it is read.
    let response = app
        .push("users", "application/json", vec![b' '; 1_500_000])
        .await;
    assert_eq!(response.status(), 503);
    // With the place free again, writes go through.
    let response = app
        .push(
            "users",
            "application/json",
            json!([sample_row("users", "u3")]).to_string(),
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// A write of `row` whose NDJSON body trickles in, on a task of its own:
/// the row, then nothing until told to end (or until the sender is
/// dropped). Meanwhile it holds a place among the uploads.
fn trickling_write(
    app: &TestApp,
    row: Value,
) -> (
    tokio::task::JoinHandle<reqwest::Response>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (end, ends) = tokio::sync::oneshot::channel::<()>();
    let first = format!("{row}\n").into_bytes();
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
        futures_util::stream::once(async move {
            let _ = ends.await;
            Ok(Vec::new())
        }),
    );
    let request = app
        .request(Method::POST, "/api/users")
        .bearer_auth(&app.write_key)
        .header("Content-Type", "application/x-ndjson")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    (
        actix_web::rt::spawn(async move { request.await.unwrap() }),
        end,
    )
}

/// Two clients declare the largest body, which the whole upload budget
/// holds twice, and send a byte every 100 ms. They hold only what they
/// sent: another key's small writes go through at once meanwhile. And
/// each is refused with 408 once the body timeout has passed, giving its
/// place back. (When declared lengths were reserved up front, every other
/// write was a 503 for as long as the two hung, and nothing ended them.)
async fn trickling_uploads_neither_stop_other_writes_nor_outlive_the_body_timeout(
    backend: Backend,
) {
    const BODY_TIMEOUT: Duration = Duration::from_secs(3);
    let app = spawn_app_with(backend, |settings| settings.body_timeout = BODY_TIMEOUT).await;
    let other_key = hourglass::auth::keys::create_key(
        &mut app.conn(),
        "another-writer",
        hourglass::auth::Scopes {
            read: true,
            write: true,
        },
        hourglass::timestamp::Timestamp::now(),
    )
    .unwrap();
    let slow = [trickling_upload(&app), trickling_upload(&app)];
    eventually(Duration::from_secs(10), "two uploads held", || async {
        app.metric("hourglass_uploads_in_flight", &[]).await == 2.0
    })
    .await;
    for n in 0..5 {
        let started = Instant::now();
        let response = app
            .request(Method::POST, "/api/users")
            .bearer_auth(&other_key)
            .header("Content-Type", "application/json")
            .body(json!([sample_row("users", format!("u{n}"))]).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a small write took {:?} while two uploads trickled",
            started.elapsed()
        );
    }
    for upload in slow {
        let (status_line, took) = upload.await.unwrap();
        assert!(
            took >= BODY_TIMEOUT && took < BODY_TIMEOUT + Duration::from_secs(5),
            "the upload ended after {took:?} ({status_line:?})"
        );
        // The answer may be lost to the reset of a connection closed with
        // bytes unread; the server's own count of 408s says it all the same.
        assert!(
            status_line.is_empty() || status_line.starts_with("HTTP/1.1 408"),
            "{status_line}"
        );
    }
    // The server's own count of the 408s it answered (the histogram of
    // answers by route and status).
    eventually(Duration::from_secs(10), "two 408s counted", || async {
        let text = app.get("/metrics").await.text().await.unwrap();
        let answered: f64 = text
            .lines()
            .filter(|l| l.starts_with("hourglass_http_request_duration_seconds_count{"))
            .filter(|l| l.contains("status=\"408\"") && l.contains("method=\"POST\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        answered == 2.0
    })
    .await;
    assert_eq!(app.metric("hourglass_uploads_in_flight", &[]).await, 0.0);
    assert_eq!(app.metric("hourglass_upload_bytes_held", &[]).await, 0.0);
}

/// A write to `users` that declares a 64 MiB body on a connection of its
/// own and sends a byte every 100 ms until the server answers or closes
/// (at most a minute): the answer's status line (empty if none could be
/// read), and how long after the request it came.
fn trickling_upload(app: &TestApp) -> tokio::task::JoinHandle<(String, Duration)> {
    let host = app.address.trim_start_matches("http://").to_string();
    let key = app.write_key.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::{ErrorKind, Read, Write};
        let started = Instant::now();
        let mut stream = std::net::TcpStream::connect(&host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        write!(
            stream,
            "POST /api/users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
            64 << 20
        )
        .unwrap();
        let mut answer = Vec::new();
        let mut buffer = [0; 4096];
        while started.elapsed() < Duration::from_secs(60) {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(2).any(|w| w == b"\r\n") {
                        break;
                    }
                    continue;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
            if stream.write_all(b" ").is_err() {
                // Closed: whatever it answered is still to be read.
                let _ = stream
                    .read(&mut buffer)
                    .map(|n| answer.extend_from_slice(&buffer[..n]));
                break;
            }
        }
        let took = started.elapsed();
        let answer = String::from_utf8_lossy(&answer);
        (answer.lines().next().unwrap_or_default().to_string(), took)
    })
}

/// Peak resident memory of a process, from /proc (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

#[actix_web::test]
async fn six_concurrent_60_mib_uploads_stay_within_the_memory_budget() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let server = crate::helpers::ServerProcess::start(&app.database_url, &[]).await;
    let before = peak_rss_mib(server.pid());
    // About 61 MiB of CSV: 20,000 rows with 3 KB comments each.
    let comment = "x".repeat(3_150);
    let body = |batch: usize| {
        let mut csv = String::from("id,player_id,amount,currency,dir,created_at,comment\n");
        for i in 0..20_000 {
            csv.push_str(&format!(
                "t{batch}-{i},p{i},12.50,EUR,IN,2020-10-10 07:00:00,{comment}\n"
            ));
        }
        csv
    };
    let bodies: Vec<String> = (0..6).map(body).collect();
    assert!(bodies[0].len() > 60 * 1024 * 1024, "{}", bodies[0].len());
    let uploads = futures_util::future::join_all(bodies.into_iter().map(|body| {
        server
            .request(Method::POST, "/api/transactions")
            .bearer_auth(&app.write_key)
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    }));
    let pulls = async {
        let mut slowest = Duration::ZERO;
        let users = format!(
            "/api/users?{}",
            window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
        );
        for _ in 0..5 {
            // Spacing, not synchronisation: five pulls spread over the
            // uploads, for the slowest to be reported; nothing asserted
            // depends on where they fall.
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            let started = Instant::now();
            let response = server
                .request(Method::GET, &users)
                .bearer_auth(&app.read_key)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
            slowest = slowest.max(started.elapsed());
        }
        slowest
    };
    let (uploads, slowest_pull) = futures_util::future::join(uploads, pulls).await;
    let statuses: Vec<u16> = uploads
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let peak = peak_rss_mib(server.pid());
    println!(
        "six 60 MiB uploads: answers {statuses:?}; peak RSS {before} -> {peak} MiB; slowest pull meanwhile {slowest_pull:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    // The budget is two 64 MiB bodies: each costs its body and a chunk of
    // rows, never every row of it, nor six bodies at once.
    assert!(peak < 320, "peak RSS {peak} MiB");
}
