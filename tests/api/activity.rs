//! A player's activity: their rows in every dataset, in time order, each
//! tagged with its dataset.

use crate::helpers::{on_both_backends, sample_row, spawn_app, Backend, TestApp};
use hourglass::datasets::Dataset;
use serde_json::{json, Value};

on_both_backends!(
    a_players_activity_is_their_rows_in_time_order_across_datasets,
    activity_pages_through_large_batches_in_order,
    a_players_activity_reads_indexes_not_tables,
);

async fn activity(app: &TestApp, player: &str, query: &str) -> reqwest::Response {
    app.get(&format!("/api/players/{player}/activity?{query}"))
        .await
}

fn row(dataset: &str, id: &str, player: &str) -> Value {
    let mut row = sample_row(dataset, id);
    let column = Dataset::named(dataset).def().player.unwrap();
    row[column] = json!(player);
    row
}

async fn a_players_activity_is_their_rows_in_time_order_across_datasets(backend: Backend) {
    let app = spawn_app(backend).await;
    for (at, dataset, id, player) in [
        ("2020-10-10 07:00:00", "users", "p1", "p1"),
        ("2020-10-10 07:10:00", "transactions", "t1", "p1"),
        ("2020-10-10 07:15:00", "transactions", "t2", "p2"),
        ("2020-10-10 07:20:00", "logins", "l1", "p1"),
        ("2020-10-10 07:30:00", "bets", "b1", "p1"),
        ("2020-10-10 07:40:00", "game_actions", "a1", "p1"),
        ("2020-10-10 07:50:00", "wallets", "w1", "p1"),
        ("2020-10-10 08:10:00", "contacts", "p1", "p1"),
    ] {
        app.push_at(at, dataset, json!([row(dataset, id, player)]))
            .await;
    }
    let hour = "start=2020-10-10T07:00:00Z&end=2020-10-10T08:00:00Z";
    let response = activity(&app, "p1", hour).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let rows: Vec<Value> = response.json().await.unwrap();
    let tags: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["dataset"].as_str().unwrap(), r["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tags,
        [
            ("users", "p1"),
            ("transactions", "t1"),
            ("logins", "l1"),
            ("bets", "b1"),
            ("game_actions", "a1"),
            ("wallets", "w1"),
        ]
    );
    // Each row is its dataset's, whole.
    let written = sample_row("transactions", "t1")["amount"].clone();
    assert_eq!(
        rows[1]["amount"].to_string(),
        written.to_string().trim_matches('"')
    );

    let ndjson = activity(&app, "p1", &format!("{hour}&format=ndjson")).await;
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let lines = ndjson.text().await.unwrap();
    assert_eq!(lines.lines().count(), 6, "{lines}");

    // Without a window: the last day (the server's clock stands at 2020-10-11 00:00).
    let day: Vec<Value> = activity(&app, "p1", "").await.json().await.unwrap();
    assert_eq!(day.len(), 7, "{day:?}");
    assert_eq!(day[6]["dataset"], "contacts");

    // One bound given: the other is filled in (to: now; from: a day before to).
    let since: Vec<Value> = activity(&app, "p1", "start=2020-10-10T07:45:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(since.len(), 2, "{since:?}");
    let until: Vec<Value> = activity(&app, "p1", "end=2020-10-10T07:15:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(until.len(), 2, "{until:?}");

    let csv = activity(&app, "p1", &format!("{hour}&format=csv")).await;
    assert_eq!(csv.status(), 400);
    let body: Value = csv.json().await.unwrap();
    assert_eq!(body["parameter"], "format");
    let nobody: Vec<Value> = activity(&app, "nobody", hour).await.json().await.unwrap();
    assert!(nobody.is_empty());
}

fn amount_of(row: &Value) -> &Value {
    &row["amount"]
}

/// Batches larger than a page, with many rows under one stamp: every row
/// comes out once, in (time, dataset, key) order.
async fn activity_pages_through_large_batches_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let batch = |dataset: &str, prefix: &str, n: usize| {
        json!((0..n)
            .map(|i| row(dataset, &format!("{prefix}{i:05}"), "p1"))
            .collect::<Vec<_>>())
    };
    app.push_at(
        "2020-10-10 07:00:00",
        "transactions",
        batch("transactions", "t", 1200),
    )
    .await;
    app.push_at("2020-10-10 07:05:00", "logins", batch("logins", "l", 600))
        .await;
    app.push_at(
        "2020-10-10 07:10:00",
        "transactions",
        batch("transactions", "u", 700),
    )
    .await;
    let rows: Vec<Value> = activity(
        &app,
        "p1",
        "start=2020-10-10T07:00:00Z&end=2020-10-10T08:00:00Z",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(rows.len(), 2500);
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = (0..1200).map(|i| format!("t{i:05}")).collect();
    expected.extend((0..600).map(|i| format!("l{i:05}")));
    expected.extend((0..700).map(|i| format!("u{i:05}")));
    assert_eq!(ids, expected);
    assert!(rows[..1200]
        .iter()
        .all(|r| r["dataset"] == "transactions" && !amount_of(r).is_null()));
}

/// Every dataset's page query of a player's activity is answered from an
/// index, in order: no table scan, no sort (each backend's query plan; on
/// PostgreSQL with sequential scans priced out, as on a large table).
async fn a_players_activity_reads_indexes_not_tables(backend: Backend) {
    #[derive(diesel::QueryableByName)]
    struct Sqlite {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Postgres {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let app = spawn_app(backend).await;
    let mut conn = app.conn();
    if backend == Backend::Postgres {
        diesel::RunQueryDsl::execute(diesel::sql_query("SET enable_seqscan = off"), &mut *conn)
            .unwrap();
    }
    for dataset in Dataset::all().filter(|d| d.def().player.is_some()) {
        let def = dataset.def();
        let stamp = def.stamp.unwrap();
        let query = format!(
            "SELECT * FROM {name} WHERE {player} = 'p1' AND {stamp} >= 0 AND {stamp} < 9 \
             AND ({stamp} > 1 OR ({stamp} = 1 AND {key} > 'a')) ORDER BY {stamp}, {key} LIMIT 500",
            name = def.name,
            player = def.player.unwrap(),
            key = def.key,
        );
        let (steps, scan, sort): (Vec<String>, _, _) = match backend {
            Backend::Sqlite => (
                diesel::RunQueryDsl::load::<Sqlite>(
                    diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}")),
                    &mut *conn,
                )
                .unwrap()
                .into_iter()
                .map(|step| step.detail)
                .collect(),
                "SCAN",
                "TEMP B-TREE",
            ),
            Backend::Postgres => (
                diesel::RunQueryDsl::load::<Postgres>(
                    diesel::sql_query(format!("EXPLAIN {query}")),
                    &mut *conn,
                )
                .unwrap()
                .into_iter()
                .map(|step| step.line)
                .collect(),
                "Seq Scan",
                "Sort",
            ),
        };
        assert!(
            steps.iter().all(|step| !step
                .trim_start()
                .trim_start_matches("->  ")
                .starts_with(scan)
                && !step.contains(sort)),
            "{}: {steps:?}",
            def.name
        );
    }
}
