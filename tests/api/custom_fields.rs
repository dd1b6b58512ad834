//! Custom player fields: declared while the server runs, picked up without a
//! restart, validated by type on write, trailing columns on pull; and
//! `/api/schema`, which always agrees with the header a pull writes.

use crate::helpers::{on_both_backends, sample_row, spawn_app, window, Backend, TestApp};
use hourglass::datasets::custom::{self, FieldType};
use hourglass::datasets::Dataset;
use hourglass::timestamp::Timestamp;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

on_both_backends!(
    a_field_declared_while_the_server_runs_shows_up_in_the_next_pulls,
    each_field_type_round_trips_and_refuses_what_it_cannot_hold,
    a_retired_field_leaves_pulls_and_comes_back_with_its_data,
    the_schema_agrees_with_the_header_of_every_pull,
);

/// Declares a field on the app's database, as `hourglass fields add` does,
/// and waits until the server has picked it up (it looks every second).
pub async fn declare(app: &TestApp, name: &str, field_type: FieldType) {
    custom::add(
        &mut app.conn(),
        Dataset::named("users"),
        name,
        field_type,
        Timestamp::now(),
    )
    .unwrap();
    wait_for_schema(app, |columns| columns.contains(&name.to_string())).await;
}

/// The column names of `users` in `/api/schema`.
async fn schema_columns(app: &TestApp) -> Vec<String> {
    users_schema(app).await["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// `GET /api/schema`.
async fn schema(app: &TestApp) -> Value {
    let response = app.get("/api/schema").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn users_schema(app: &TestApp) -> Value {
    schema(app).await["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "users")
        .unwrap()
        .clone()
}

async fn wait_for_schema(app: &TestApp, done: impl Fn(&Vec<String>) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if done(&schema_columns(app).await) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the server did not pick up the field change within 5 s"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_field_declared_while_the_server_runs_shows_up_in_the_next_pulls(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    app.push_at(
        "2020-10-10 07:00:00",
        "users",
        json!([sample_row("users", "u1")]),
    )
    .await;
    let mut row = sample_row("users", "u2");
    row["vip_level"] = json!(3);
    let refused = app
        .push("users", "application/json", json!([row]).to_string())
        .await;
    assert_eq!(refused.status(), 422, "an undeclared field is refused");

    custom::add(
        &mut app.conn(),
        Dataset::named("users"),
        "vip_level",
        FieldType::Integer,
        Timestamp::now(),
    )
    .unwrap();
    let took = wait_for_schema(&app, |c| c.last().map(String::as_str) == Some("vip_level")).await;
    println!("the server picked up the new field after {took:?}");
    app.push_at("2020-10-10 07:30:00", "users", json!([row]))
        .await;
    let csv = app.pull_text("users", &query).await;
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().ends_with(",locale,vip_level"),
        "a trailing column after the spec's: {csv}"
    );
    assert!(lines.next().unwrap().ends_with(','), "u1 has it empty");
    assert!(lines.next().unwrap().ends_with(",3"), "u2 has 3");
}

async fn each_field_type_round_trips_and_refuses_what_it_cannot_hold(backend: Backend) {
    let app = spawn_app(backend).await;
    for (name, field_type) in [
        ("deposits", FieldType::Integer),
        ("ltv", FieldType::Decimal),
        ("segment", FieldType::String),
        ("last_bonus_at", FieldType::Date),
    ] {
        declare(&app, name, field_type).await;
    }
    let mut full = sample_row("users", "11ecc708-32d5-423b-bd59-7d114c26c979");
    full["deposits"] = json!(-9223372036854775807i64);
    full["ltv"] = json!(12.5);
    full["segment"] = json!("high \"rollers\", EU");
    full["last_bonus_at"] = json!("2020-10-09T21:15:00Z");
    let mut empty = sample_row("users", "sr:player:2");
    empty["segment"] = Value::Null;
    app.push_at("2020-10-10 07:00:00", "users", json!([full, empty]))
        .await;

    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let csv = app.pull_text("users", &query).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",locale,deposits,ltv,segment,last_bonus_at"),
        "{csv}"
    );
    assert!(
        lines[1].ends_with(
            ",-9223372036854775807,12.50,\"high \"\"rollers\"\", EU\",2020-10-09 21:15:00"
        ),
        "{csv}"
    );
    assert!(lines[2].ends_with(",,,,"), "absent fields are empty: {csv}");
    for format in ["json", "ndjson"] {
        let body = app
            .pull_text("users", &format!("{query}&format={format}"))
            .await;
        let rows: Vec<Value> = if format == "json" {
            serde_json::from_str(&body).unwrap()
        } else {
            body.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let row = &rows[0];
        assert_eq!(
            row["deposits"].to_string(),
            "-9223372036854775807",
            "{format}"
        );
        assert_eq!(row["ltv"].to_string(), "12.50", "{format}: an exact number");
        assert_eq!(row["segment"], "high \"rollers\", EU", "{format}");
        assert_eq!(row["last_bonus_at"], "2020-10-09 21:15:00", "{format}");
        for name in ["deposits", "ltv", "segment", "last_bonus_at"] {
            assert_eq!(rows[1][name], Value::Null, "{format}: {name}");
        }
    }

    for (name, value, says) in [
        ("deposits", json!(1.5), "a whole number"),
        ("deposits", json!("9223372036854775808"), "a whole number"),
        ("ltv", json!("1.005"), "two decimal places"),
        ("ltv", json!("12,50"), "plain decimal"),
        ("segment", json!({"nested": true}), "a string"),
        ("last_bonus_at", json!("yesterday"), "YYYY-MM-DD HH:MM:SS"),
        ("last_bonus_at", json!("2020-10-10 07:00:00+02:00"), "UTC"),
    ] {
        let mut row = sample_row("users", "u3");
        row[name] = value.clone();
        let response = app
            .push(
                "users",
                "application/json",
                json!([sample_row("users", "u4"), row]).to_string(),
            )
            .await;
        assert_eq!(response.status(), 422, "{name} = {value}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            (problem["row"].as_u64(), problem["field"].as_str()),
            (Some(2), Some(name))
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{name} = {value}: {detail}");
    }
    assert_eq!(app.count("users"), 2, "no refused batch wrote anything");
}

async fn a_retired_field_leaves_pulls_and_comes_back_with_its_data(backend: Backend) {
    let app = spawn_app(backend).await;
    declare(&app, "tier", FieldType::String).await;
    let mut row = sample_row("users", "u1");
    row["tier"] = json!("gold");
    app.push_at("2020-10-10 07:00:00", "users", json!([row.clone()]))
        .await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");

    custom::retire(
        &mut app.conn(),
        Dataset::named("users"),
        "tier",
        Timestamp::now(),
    )
    .unwrap();
    wait_for_schema(&app, |c| !c.contains(&"tier".to_string())).await;
    assert!(app
        .pull_text("users", &query)
        .await
        .lines()
        .next()
        .unwrap()
        .ends_with(",locale"));
    let response = app
        .push("users", "application/json", json!([row]).to_string())
        .await;
    assert_eq!(
        response.status(),
        422,
        "a retired field is no longer written"
    );

    let again = custom::add(
        &mut app.conn(),
        Dataset::named("users"),
        "tier",
        FieldType::Integer,
        Timestamp::now(),
    );
    assert!(again.unwrap_err().to_string().contains("of type string"));
    declare(&app, "tier", FieldType::String).await;
    let csv = app.pull_text("users", &query).await;
    assert!(
        csv.lines().nth(1).unwrap().ends_with(",gold"),
        "the data was kept: {csv}"
    );
}

async fn the_schema_agrees_with_the_header_of_every_pull(backend: Backend) {
    let app = spawn_app(backend).await;
    declare(&app, "score", FieldType::Decimal).await;
    let schema = schema(&app).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let datasets = schema["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), Dataset::all().count());
    for dataset in datasets {
        let name = dataset["name"].as_str().unwrap();
        let columns: Vec<&str> = dataset["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        if dataset["pull"] == true {
            let csv = app.pull_text(name, &query).await;
            assert_eq!(csv.lines().next().unwrap(), columns.join(","), "{name}");
        }
        let stamps: Vec<&Value> = dataset["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["stamp"] == true)
            .map(|c| &c["name"])
            .collect();
        match &dataset["stamp"] {
            Value::Null => assert!(stamps.is_empty(), "{name}"),
            stamp => assert_eq!(stamps, [stamp], "{name}"),
        }
    }
    let users = users_schema(&app).await;
    let score = users["columns"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        score,
        json!({"name": "score", "type": "decimal", "places": 2, "required": false, "stamp": false,
            "custom": true, "personal": false, "description": "custom field (decimal)"})
    );
    let dir = users["columns"].as_array().unwrap()[0].clone();
    assert_eq!(
        (dir["type"].as_str(), dir["required"].as_bool()),
        (Some("id"), Some(true))
    );
    let transactions = datasets
        .iter()
        .find(|d| d["name"] == "transactions")
        .unwrap();
    let direction = transactions["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dir")
        .unwrap();
    assert_eq!(direction["values"], json!(["IN", "OUT"]));
    let unauthorized = app
        .request(reqwest::Method::GET, "/api/schema")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
}
