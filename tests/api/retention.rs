//! Retention (`serve --retain DATASET=AGE`): rows past a dataset's horizon
//! are purged in batches, a window reaching before the horizon is a `410`,
//! purged game actions leave their sessions' totals, and a write goes in
//! between two batches of a purge.

use crate::game_sessions::action;
use crate::helpers::{
    eventually, on_both_backends, sample_row, spawn_app, spawn_app_with, window, Backend, TestApp,
    PRESENT,
};
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::Dataset;
use hourglass::retention::Retention;
use hourglass::timestamp::Timestamp;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(
    a_window_before_the_horizon_is_410_window_purged_for_pulls_and_counts,
    rows_past_the_horizon_are_purged_and_not_recorded_as_deletions,
    a_session_whose_actions_are_purged_keeps_its_totals_and_takes_later_actions,
    a_write_during_a_purge_commits_before_the_purge_ends,
);

const DAY: Duration = Duration::from_secs(86_400);

/// The horizon of a one-day retention while the clock stands at `PRESENT`.
const HORIZON: &str = "2020-10-10 00:00:00";

fn retaining<'a>(
    rules: &'a [(&'a str, Duration)],
) -> impl FnOnce(&mut hourglass::config::Settings) + 'a {
    |settings| {
        settings.retention = rules
            .iter()
            .map(|(name, age)| (Dataset::named(name), *age))
            .collect();
        settings.purge_every = Duration::from_secs(1);
    }
}

/// `n` rows of `dataset`, ids `{prefix}0`, `{prefix}1`, …
fn rows(dataset: &str, prefix: &str, n: usize) -> Value {
    (0..n)
        .map(|i| sample_row(dataset, format!("{prefix}{i}")))
        .collect()
}

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn a_window_before_the_horizon_is_410_window_purged_for_pulls_and_counts(backend: Backend) {
    let app = spawn_app_with(backend, retaining(&[("users", DAY)])).await;
    let before = window("2020-10-09 23:59:59", "2020-10-10 01:00:00");
    for path in [
        format!("/api/users?{before}"),
        format!("/api/users/count?{before}"),
    ] {
        let (status, body) = problem(app.get(&path).await).await;
        assert_eq!(status, 410, "{path}: {body}");
        assert_eq!(body["code"], "window_purged", "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(HORIZON), "names the horizon: {detail}");
        assert!(detail.contains("users are kept 1d"), "{detail}");
    }
    // From the horizon on, and any window of a dataset kept forever, is served.
    let kept = window(HORIZON, "2020-10-10 01:00:00");
    assert_eq!(app.pull("users", &kept).await.status(), 200);
    assert_eq!(
        app.get(&format!("/api/users/count?{kept}")).await.status(),
        200
    );
    assert_eq!(app.pull("transactions", &before).await.status(), 200);
    assert_eq!(app.pull("game_sessions", &before).await.status(), 200);
}

async fn rows_past_the_horizon_are_purged_and_not_recorded_as_deletions(backend: Backend) {
    let retained = [("transactions", DAY), ("users", DAY * 2)];
    let app = spawn_app_with(backend, retaining(&retained)).await;
    // More than a first batch (500), so the purge takes several.
    app.push_at(
        "2020-10-09 12:00:00",
        "transactions",
        rows("transactions", "old", 1_200),
    )
    .await;
    app.push_at(
        "2020-10-10 12:00:00",
        "transactions",
        rows("transactions", "new", 10),
    )
    .await;
    app.push_at("2020-10-09 12:00:00", "users", rows("users", "u", 5))
        .await;
    eventually(
        Duration::from_secs(30),
        "the old transactions purged",
        || async { app.count("transactions") == 10 },
    )
    .await;
    assert_eq!(app.count("users"), 5, "users are kept two days");
    // A batch is counted just after it commits: the last one may be gone
    // from the table a moment before it is counted.
    let purged = || async {
        app.metric(
            "hourglass_purged_rows_total",
            &[("dataset", "transactions")],
        )
        .await
    };
    eventually(Duration::from_secs(10), "1,200 rows counted", || async {
        purged().await >= 1_200.0
    })
    .await;
    assert_eq!(purged().await, 1_200.0, "each purged row counted once");
    let day = window("2020-10-10 00:00:00", "2020-10-11 00:00:00");
    let kept = app.pull_json("transactions", &day).await;
    assert_eq!(kept.len(), 10);
    let deletions = window("2020-10-09 00:00:00", "2020-10-11 00:00:00");
    assert!(
        app.pull_json("deletions", &deletions).await.is_empty(),
        "a purge is not a delete"
    );

    // Every view says how long each dataset is kept, and from when.
    let schema: Value = app.get("/api/schema").await.json().await.unwrap();
    let described = |name: &str| {
        schema["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(described("transactions")["retention_seconds"], 86_400);
    assert_eq!(described("transactions")["horizon"], HORIZON);
    assert_eq!(described("users")["horizon"], "2020-10-09 00:00:00");
    assert_eq!(described("logins")["retention_seconds"], Value::Null);
    assert_eq!(described("logins")["horizon"], Value::Null);
    let stats: Value = app.get("/api/stats").await.json().await.unwrap();
    let feed = stats["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == "transactions")
        .unwrap();
    assert_eq!(
        (&feed["retention_seconds"], &feed["horizon"]),
        (&json!(86_400), &json!(HORIZON))
    );
    let labels = [("dataset", "transactions")];
    assert_eq!(
        app.metric("hourglass_retention_seconds", &labels).await,
        86_400.0
    );
    assert_eq!(
        app.metric("hourglass_retention_horizon_timestamp_seconds", &labels)
            .await,
        ts_seconds(HORIZON)
    );
}

fn ts_seconds(text: &str) -> f64 {
    (Timestamp::parse(text).unwrap().as_micros() / 1_000_000) as f64
}

/// A session as a pull gives it, reduced to what the test follows.
fn totals(session: &Value) -> Value {
    json!([
        session["session_id"],
        session["bet_count"],
        session["win_count"],
        session["bet_amount"].to_string(),
        session["win_amount"].to_string(),
        session["created_at"],
        session["updated_at"],
    ])
}

async fn sessions(app: &TestApp, from: &str, to: &str) -> Vec<Value> {
    let rows = app.pull_json("game_sessions", &window(from, to)).await;
    rows.iter().map(totals).collect()
}

async fn a_session_whose_actions_are_purged_keeps_its_totals_and_takes_later_actions(
    backend: Backend,
) {
    let app = spawn_app_with(backend, retaining(&[("game_actions", DAY)])).await;
    app.push_at(
        "2020-10-09 11:00:00",
        "game_actions",
        json!([
            action("a1", "s1", "bet", "1.10", "2020-10-09 10:10:00"),
            action("a2", "s1", "bet", "2", "2020-10-09 10:20:00"),
            action("a3", "s1", "win", "0.25", "2020-10-09 10:50:00"),
        ]),
    )
    .await;
    let whole = json!([
        "s1",
        2,
        1,
        "3.100000",
        "0.250000",
        "2020-10-09 10:10:00",
        "2020-10-09 10:50:00"
    ]);
    assert_eq!(
        sessions(&app, "2020-10-09 10:15:00", "2020-10-09 10:30:00").await,
        std::slice::from_ref(&whole),
        "found by its action a2 while it is kept"
    );
    eventually(Duration::from_secs(30), "the actions purged", || async {
        app.count("game_actions") == 0
    })
    .await;
    // Found by its own first and last action time, and by its stamp.
    for (from, to) in [
        ("2020-10-09 10:00:00", "2020-10-09 10:15:00"),
        ("2020-10-09 10:45:00", "2020-10-09 11:00:00"),
        ("2020-10-09 11:00:00", "2020-10-09 11:01:00"),
    ] {
        assert_eq!(
            sessions(&app, from, to).await,
            std::slice::from_ref(&whole),
            "[{from}, {to})"
        );
    }
    // No longer by a purged action between them.
    assert!(sessions(&app, "2020-10-09 10:15:00", "2020-10-09 10:30:00")
        .await
        .is_empty());

    // A later action adds to the full totals.
    app.push_at(
        "2020-10-10 20:30:00",
        "game_actions",
        json!([action("a4", "s1", "bet", "5", "2020-10-10 20:15:00")]),
    )
    .await;
    let grown = json!([
        "s1",
        3,
        1,
        "8.100000",
        "0.250000",
        "2020-10-09 10:10:00",
        "2020-10-10 20:15:00"
    ]);
    for (from, to) in [
        ("2020-10-10 20:00:00", "2020-10-10 20:20:00"),
        ("2020-10-10 20:30:00", "2020-10-10 20:31:00"),
        ("2020-10-09 10:00:00", "2020-10-09 10:15:00"),
    ] {
        assert_eq!(
            sessions(&app, from, to).await,
            std::slice::from_ref(&grown),
            "[{from}, {to})"
        );
    }
    assert_eq!(app.count("game_actions"), 1);
}

async fn a_write_during_a_purge_commits_before_the_purge_ends(backend: Backend) {
    // This server purges nothing itself: the test runs the purge, through
    // the library, on the server's connections.
    let app = spawn_app(backend).await;
    app.push_at(
        "2020-10-09 12:00:00",
        "logins",
        rows("logins", "old", 3_000),
    )
    .await;
    let batches = Arc::new(AtomicUsize::new(0));
    let purged = Arc::new(AtomicUsize::new(0));
    let (go_on, go) = std::sync::mpsc::channel::<()>();
    let purge = {
        let (pools, batches, purged) = (app.pools.clone(), batches.clone(), purged.clone());
        actix_web::rt::task::spawn_blocking(move || {
            let retention = Retention::new([(Dataset::named("logins"), DAY)]).unwrap();
            let catalog = Catalog::load(&mut pools.maintenance.get().unwrap()).unwrap();
            let now = Timestamp::parse(PRESENT).unwrap();
            let stopping = AtomicBool::new(false);
            retention
                .purge(&pools, &catalog, now, &stopping, |_, rows| {
                    purged.fetch_add(rows, Ordering::SeqCst);
                    // After the first batch, the purge waits (at most a
                    // minute) for the test's write to be acknowledged.
                    if batches.fetch_add(1, Ordering::SeqCst) == 0 {
                        let _ = go.recv_timeout(Duration::from_secs(60));
                    }
                })
                .unwrap()
        })
    };
    eventually(
        Duration::from_secs(30),
        "the purge's first batch",
        || async { batches.load(Ordering::SeqCst) == 1 },
    )
    .await;
    let response = app
        .push(
            "logins",
            "application/json",
            rows("logins", "new", 1).to_string(),
        )
        .await;
    assert_eq!(response.status(), 200);
    let left = app.count("logins");
    assert!(
        left > 1,
        "the write was acknowledged with {left} rows in the table: the purge had not ended"
    );
    go_on.send(()).unwrap();
    assert_eq!(purge.await.unwrap(), Some(()));
    assert!(
        batches.load(Ordering::SeqCst) > 1,
        "3,000 rows go in several batches"
    );
    assert_eq!(purged.load(Ordering::SeqCst), 3_000);
    assert_eq!(app.count("logins"), 1, "the new row stays");

    // The horizon the purge recorded reaches this server, which retains
    // nothing itself.
    let before = window("2020-10-09 12:00:00", "2020-10-09 13:00:00");
    eventually(
        Duration::from_secs(10),
        "a 410 for the purged window",
        || async { app.pull("logins", &before).await.status() == 410 },
    )
    .await;
}
