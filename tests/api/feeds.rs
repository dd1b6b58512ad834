//! The count endpoint and feed health: `GET /api/<dataset>/count` agrees
//! with the pull; `GET /api/stats` counts rows written per hour as writes
//! commit and flags a dataset that has gone quiet for longer than usual.

use crate::helpers::{
    eventually, on_both_backends, sample_row, spawn_app, ts, window, Backend, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::time::Duration;

on_both_backends!(
    a_count_is_the_number_of_rows_the_same_pull_returns,
    a_count_refuses_what_a_pull_refuses_and_what_it_does_not_take,
    stats_count_rows_written_per_hour_and_flag_a_feed_gone_quiet,
    stats_are_read_on_one_snapshot,
);

/// `GET {path}` with the read key: the status and the JSON body (null if
/// it is not JSON).
async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_count_is_the_number_of_rows_the_same_pull_returns(backend: Backend) {
    let app = spawn_app(backend).await;
    for (at, ids) in [
        ("2020-10-10 06:59:59", 0..3),
        ("2020-10-10 07:00:00", 3..8),
        ("2020-10-10 07:59:59", 8..10),
        ("2020-10-10 08:00:00", 10..11),
    ] {
        let rows: Vec<Value> = ids.clone().map(|i| sample_row("users", i)).collect();
        app.push_at(at, "users", json!(rows)).await;
        let actions: Vec<Value> = ids
            .map(|i| {
                let mut action = sample_row("game_actions", i);
                action["session_id"] = json!(format!("s{}", i % 4));
                action
            })
            .collect();
        app.push_at(at, "game_actions", json!(actions)).await;
    }
    app.set_clock("2020-10-10 09:00:00");
    let (status, _) = get(&app, "/api/users/u5").await;
    assert_eq!(status, 405, "a row's path still answers DELETE only");
    let (status, _) = get(&app, "/api/users/count?from=2020-10-10+07:00:00").await;
    assert_eq!(status, 400);
    for dataset in ["users", "game_sessions"] {
        for (from, to) in [
            ("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
            ("2020-10-10 06:00:00", "2020-10-10 09:00:00"),
            ("2020-10-09 00:00:00", "2020-10-09 01:00:00"),
        ] {
            let query = window(from, to);
            let (status, body) = get(&app, &format!("/api/{dataset}/count?{query}")).await;
            assert_eq!(status, 200, "{body}");
            let pulled = app.pull_json(dataset, &query).await.len();
            assert_eq!(body["rows"], json!(pulled), "{dataset} [{from}, {to})");
            assert_eq!(
                (&body["dataset"], &body["from"], &body["to"]),
                (&json!(dataset), &json!(from), &json!(to))
            );
        }
    }
    let (_, body) = get(
        &app,
        &format!(
            "/api/users/count?{}",
            window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
        ),
    )
    .await;
    assert_eq!(body["rows"], 7);
}

async fn a_count_refuses_what_a_pull_refuses_and_what_it_does_not_take(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    for (path, status, code, parameter) in [
        (
            format!("/api/users/count?{query}&format=csv"),
            400,
            "invalid_parameter",
            Some("format"),
        ),
        (
            format!("/api/users/count?{query}&download=1"),
            400,
            "invalid_parameter",
            Some("download"),
        ),
        (
            "/api/users/count?from=yesterday&to=2020-10-10+08:00:00".to_string(),
            400,
            "invalid_parameter",
            Some("from"),
        ),
        (
            format!("/api/users/count?{query}&limit=5"),
            400,
            "unknown_parameter",
            None,
        ),
        (
            format!("/api/nope/count?{query}"),
            404,
            "unknown_dataset",
            None,
        ),
        (
            format!("/api/game_actions/count?{query}"),
            405,
            "method_not_allowed",
            None,
        ),
        (
            format!(
                "/api/users/count?{}",
                window("2020-10-12 00:00:00", "2020-10-12 01:00:00")
            ),
            425,
            "too_early",
            None,
        ),
    ] {
        let (got, body) = get(&app, &path).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
        if let Some(parameter) = parameter {
            assert_eq!(body["parameter"], parameter, "{path}: {body}");
        }
    }
    let response = app
        .request(Method::GET, &format!("/api/users/count?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// `/api/stats` once the server has stored its tally (every second).
async fn stats_when(app: &TestApp, ready: impl Fn(&Value) -> bool) -> Value {
    // The counters are written every second, by a task that needs a
    // connection like any other: on a loaded machine that can take seconds.
    let (seen, ready) = (&RefCell::new(Value::Null), &ready);
    eventually(
        Duration::from_secs(30),
        "the write counters to show the writes",
        move || async move {
            let (status, body) = get(app, "/api/stats").await;
            assert_eq!(status, 200, "{body}");
            let done = ready(&body);
            *seen.borrow_mut() = body;
            done
        },
    )
    .await;
    seen.take()
}

fn feed<'a>(stats: &'a Value, dataset: &str) -> &'a Value {
    stats["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == dataset)
        .unwrap_or_else(|| panic!("no {dataset} in {stats}"))
}

async fn stats_count_rows_written_per_hour_and_flag_a_feed_gone_quiet(backend: Backend) {
    let app = spawn_app(backend).await;
    // Users every hour from 00:xx to 05:xx, two rows at 03:xx (in time
    // order: a write is never stamped before the last).
    for hour in 0..6 {
        let at = format!("2020-10-10 {hour:02}:30:00");
        app.push_at(&at, "users", json!([sample_row("users", hour)]))
            .await;
        if hour == 3 {
            let at = "2020-10-10 03:45:10";
            app.push_at(at, "users", json!([sample_row("users", 99)]))
                .await;
        }
    }
    // A deletion counts under the deletions feed.
    app.set_clock("2020-10-10 05:40:00");
    let response = app
        .request(Method::DELETE, "/api/users/0")
        .bearer_auth(&app.write_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    app.set_clock("2020-10-10 06:10:00");
    let stats = stats_when(&app, |s| feed(s, "deletions")["last_write"] != Value::Null).await;
    assert_eq!(stats["now"], "2020-10-10 06:10:00");
    assert_eq!(stats["first_hour"], "2020-10-08 07:00:00");
    let users = feed(&stats, "users");
    let hours: Vec<i64> = users["rows_per_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(hours.len(), 48);
    // The last is 06:00, the current hour; 00:00 to 05:00 are the six before.
    eprintln!("STATS {stats}");
    assert_eq!(hours[41..], [1, 1, 1, 2, 1, 1, 0]);
    assert!(hours[..41].iter().all(|&rows| rows == 0));
    assert_eq!(users["last_write"], "2020-10-10 05:30:00");
    assert_eq!(users["silent_seconds"], 40 * 60);
    assert_eq!(users["usual_gap_seconds"], 3600);
    assert_eq!(users["stalled"], false);
    let deletions = feed(&stats, "deletions");
    assert_eq!(deletions["rows_per_hour"][46], 1);
    assert_eq!(
        deletions["usual_gap_seconds"],
        Value::Null,
        "one hour: no gap to judge by"
    );
    let bets = feed(&stats, "bets");
    assert_eq!(
        (&bets["last_write"], &bets["stalled"]),
        (&Value::Null, &json!(false))
    );
    assert!(
        !stats["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["dataset"] == "game_sessions"),
        "computed datasets are not written to"
    );

    // Two hours without a write, where an hour was the longest wait: stalled.
    app.set_clock("2020-10-10 07:31:00");
    let (_, stats) = get(&app, "/api/stats").await;
    let users = feed(&stats, "users");
    assert_eq!(
        (&users["silent_seconds"], &users["stalled"]),
        (&json!(2 * 3600 + 60), &json!(true))
    );
    assert_eq!(feed(&stats, "deletions")["stalled"], false);

    // A write brings it back.
    app.push_at(
        "2020-10-10 07:32:00",
        "users",
        json!([sample_row("users", 7)]),
    )
    .await;
    app.set_clock("2020-10-10 07:33:00");
    let stats = stats_when(&app, |s| feed(s, "users")["stalled"] == false).await;
    assert_eq!(feed(&stats, "users")["last_write"], "2020-10-10 07:32:00");
}

/// `GET /api/stats` reads every feed's counters on one snapshot
/// (`feeds::stats`): a flush of the counters that commits while it reads
/// is seen whole or not at all. (Read statement by statement, an answer
/// showed a flush's deletion and not the users counted with it.)
async fn stats_are_read_on_one_snapshot(backend: Backend) {
    let app = spawn_app(backend).await;
    let at = ts("2020-10-10 05:30:00");
    let users = |conn: &mut hourglass::db::DbConnection| {
        hourglass::feeds::stats(conn, at).map(|stats| {
            let users = stats.datasets.iter().find(|d| d.dataset == "users");
            users.unwrap().rows_per_hour.iter().sum::<i64>()
        })
    };
    let mut reader = app.pools.read.get().unwrap();
    let (before, during) = hourglass::db::in_snapshot(&mut reader, |conn| {
        let before = count_users(conn);
        hourglass::feeds::record(&mut app.conn(), "users", 3, Some(at)).unwrap();
        Ok((before, count_users(conn)))
    })
    .unwrap();
    assert_eq!(
        (before, during),
        (0, 0),
        "a commit after the first read is not seen"
    );
    assert_eq!(
        users(&mut reader).unwrap(),
        3,
        "and is seen by the next snapshot"
    );
}

/// The users rows counted in `write_hours`, read on `conn`.
fn count_users(conn: &mut hourglass::db::DbConnection) -> i64 {
    use diesel::prelude::*;
    diesel::sql_query("SELECT CAST(COALESCE(SUM(rows), 0) AS BIGINT) AS n FROM write_hours WHERE dataset = 'users'")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
