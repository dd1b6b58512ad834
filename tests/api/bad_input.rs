//! The bad-input matrix: every rejection is problem+json naming what is
//! wrong, and a rejected batch writes nothing.

use crate::helpers::{
    on_both_backends, sample_row, spawn_app, spawn_app_with, window, Backend, PRESENT,
};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    bad_windows_are_400s_that_name_the_parameter,
    unknown_datasets_and_paths_are_404s_and_the_wrong_way_a_405,
    a_bad_row_rejects_the_whole_batch_with_its_number_and_field,
    unreadable_bodies_are_400_and_unknown_media_types_415,
    oversized_bodies_are_413,
    every_body_format_writes_the_same_rows,
    windows_come_as_from_and_to_or_start_and_end_in_timestamps_or_unix_seconds,
    each_kind_of_rejection_carries_its_code,
);

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(
        body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    // Every answer carries a listed code, of its status, named in its type.
    let code = body["code"].as_str().unwrap_or_default();
    let listed = hourglass::error::PROBLEMS
        .iter()
        .find(|p| p.code == code)
        .unwrap_or_else(|| panic!("no listed code: {body}"));
    assert_eq!(listed.status, status, "{body}");
    assert!(body["type"].as_str().unwrap().ends_with(code), "{body}");
    (status, body)
}

async fn windows_come_as_from_and_to_or_start_and_end_in_timestamps_or_unix_seconds(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.push_at(
        "2020-10-10 07:30:00",
        "users",
        json!([sample_row("users", "u1")]),
    )
    .await;
    let canonical = app
        .pull_text("users", "from=2020-10-10+07:00:00&to=2020-10-10+08:00:00")
        .await;
    assert_eq!(canonical.lines().count(), 2, "{canonical}");
    for query in [
        "start=2020-10-10+07:00:00&end=2020-10-10+08:00:00",
        "start=2020-10-10T07:00:00Z&end=2020-10-10T08:00:00Z",
        "from=1602313200&to=1602316800",
        "start=1602313200.000000&end=1602316799.999999",
        "start=1602313200&to=2020-10-10T08:00:00Z",
    ] {
        assert_eq!(app.pull_text("users", query).await, canonical, "{query}");
    }
    // The window is still half-open: 07:30 is outside [07:00, 07:30).
    let before = app
        .pull_text("users", "start=1602313200&end=1602315000")
        .await;
    assert_eq!(before.lines().count(), 1, "{before}");
    for (query, parameter, says) in [
        (
            "from=1602313200&start=1602313200&to=1602316800",
            "start",
            "'from' name the same bound",
        ),
        (
            "start=1602313200&to=1602316800&end=1602316800",
            "end",
            "'to' name the same bound",
        ),
        ("start=1602313200&end=8am", "end", "UNIX seconds"),
        (
            "start=1602316800&end=1602313200",
            "end",
            "later than 'start'",
        ),
        ("end=1602316800", "from", "or its synonym 'start'"),
        (
            "start=1602313200.1234567&end=1602316800",
            "start",
            "not a timestamp",
        ),
    ] {
        let (status, body) = problem(app.pull("users", query).await).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{query}: {body}");
        assert_eq!(body["parameter"], parameter, "{query}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
}

async fn each_kind_of_rejection_carries_its_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let get = |path: &str, key: Option<&str>| {
        let request = app.request(Method::GET, path);
        match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
        .send()
    };
    let code = |response: reqwest::Response| async {
        let (_, body) = problem(response).await;
        body["code"].as_str().unwrap().to_string()
    };
    let users = format!("/api/users?{query}");
    let cases = [
        (get(&users, None).await.unwrap(), "key_missing"),
        (get(&users, Some("hg_wrong")).await.unwrap(), "key_unknown"),
        (
            app.request(Method::POST, "/api/users")
                .bearer_auth(&app.read_key)
                .json(&json!([sample_row("users", "u1")]))
                .send()
                .await
                .unwrap(),
            "scope_missing",
        ),
        (app.pull("players", &query).await, "unknown_dataset"),
        (
            get("/nowhere", Some(&app.read_key)).await.unwrap(),
            "not_found",
        ),
        (app.pull("game_actions", &query).await, "method_not_allowed"),
        (
            app.pull("users", "from=noon&to=1602316800").await,
            "invalid_parameter",
        ),
        (
            app.pull("users", &format!("{query}&limit=5")).await,
            "unknown_parameter",
        ),
        (
            app.pull("users", "from=2020-10-10+07:00:00&to=2020-10-12+00:00:00")
                .await,
            "too_early",
        ),
        (
            app.push("users", "application/json", "[{").await,
            "malformed_body",
        ),
        (
            app.push("users", "application/xml", "<users/>").await,
            "unsupported_media_type",
        ),
        (
            app.push(
                "users",
                "application/json",
                json!([{"id": "u1", "birth_date": "yesterday"}]).to_string(),
            )
            .await,
            "invalid_row",
        ),
    ];
    for (response, wanted) in cases {
        assert_eq!(code(response).await, wanted);
    }
}

async fn bad_windows_are_400s_that_name_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    for (query, parameter, says) in [
        ("to=2020-10-10+08:00:00", "from", "is missing"),
        ("from=2020-10-10+08:00:00", "to", "is missing"),
        (
            "from=yesterday&to=2020-10-10+08:00:00",
            "from",
            "YYYY-MM-DD HH:MM:SS",
        ),
        (
            "from=2020-10-10+07:00:00&to=2020-10-10+8am",
            "to",
            "YYYY-MM-DD HH:MM:SS",
        ),
        (
            "from=2020-10-10+07:00:00%2B03:00&to=2020-10-10+08:00:00",
            "from",
            "UTC",
        ),
        (
            "from=2020-10-10+08:00:00&to=2020-10-10+07:00:00",
            "to",
            "later than 'from'",
        ),
        (
            "from=2020-10-10+08:00:00&to=2020-10-10+08:00:00",
            "to",
            "later than 'from'",
        ),
        (
            "from=2020-10-10+07:00:00&from=2020-10-10+06:00:00&to=2020-10-10+08:00:00",
            "from",
            "more than once",
        ),
        (
            "from=2020-10-10+07:00:00&to=2020-10-10+08:00:00&format=xml",
            "format",
            "csv, json, ndjson",
        ),
        (
            "from=2020-10-10+07:00:00&to=2020-10-10+08:00:00&download=yes",
            "download",
            "1 or 0",
        ),
    ] {
        let (status, body) = problem(app.pull("users", query).await).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["parameter"], parameter, "{query}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
}

async fn unknown_datasets_and_paths_are_404s_and_the_wrong_way_a_405(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let (status, body) = problem(app.pull("players", &query).await).await;
    assert_eq!(status, 404, "{body}");
    // Datasets that go one way only: the wrong way is the wrong method.
    let (status, body) = problem(app.pull("game_actions", &query).await).await;
    assert_eq!(status, 405, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("GET /api/game_sessions"),
        "{body}"
    );
    let (status, body) = problem(app.push("game_sessions", "application/json", "[]").await).await;
    assert_eq!(status, 405);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/game_actions"),
        "{body}"
    );
    let response = app.request(Method::GET, "/nowhere").send().await.unwrap();
    assert_eq!(problem(response).await.0, 404);
}

async fn a_bad_row_rejects_the_whole_batch_with_its_number_and_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let good = sample_row("transactions", 1);
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"amount": "12,50"}), "amount", "plain decimal"),
        (
            json!({"amount": "0.0000001"}),
            "amount",
            "more than 6 decimal places",
        ),
        (json!({"amount": "99999999999999"}), "amount", "too large"),
        (json!({"amount": null}), "amount", "is required"),
        (json!({"dir": "SIDEWAYS"}), "dir", "IN, OUT"),
        (
            json!({"type": "Bonus"}),
            "type",
            "Normal, Prize, Compensation, Cash back, Other",
        ),
        (
            json!({"status": "Done"}),
            "status",
            "New, Process, Success, Fail",
        ),
        (
            json!({"created_at": "2020-10-10 07:00:00+02:00"}),
            "created_at",
            "UTC",
        ),
        (
            json!({"created_at": "10/10/2020"}),
            "created_at",
            "YYYY-MM-DD HH:MM:SS",
        ),
        (json!({"player_id": ""}), "player_id", "1 to 128"),
        (json!({"id": "é".repeat(129)}), "id", "has 129 characters"),
        (
            json!({"wallet_id": "w\u{1}7"}),
            "wallet_id",
            "control character U+0001",
        ),
        (
            json!({"invoice_id": "inv\n1"}),
            "invoice_id",
            "control character U+000A",
        ),
        (
            json!({"player_id": true}),
            "player_id",
            "expected an identifier",
        ),
        (json!({"comment": "a\u{0}b"}), "comment", "NUL"),
        (
            json!({"updated_at": "2020-10-10 07:00:00"}),
            "updated_at",
            "stamped by hourglass",
        ),
        (json!({"colour": "red"}), "colour", "not a column"),
    ];
    for (patch, field, says) in cases {
        let mut bad = good.clone();
        for (key, value) in patch.as_object().unwrap() {
            bad[key] = value.clone();
        }
        let batch = json!([
            sample_row("transactions", 10),
            sample_row("transactions", 11),
            bad
        ]);
        let (status, body) = problem(
            app.push("transactions", "application/json", batch.to_string())
                .await,
        )
        .await;
        assert_eq!(status, 422, "{patch}: {body}");
        assert_eq!(
            (body["row"].clone(), body["field"].clone()),
            (json!(3), json!(field)),
            "{patch}: {body}"
        );
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{patch}: {body}"
        );
    }
    assert_eq!(
        app.count("transactions"),
        0,
        "nothing of a rejected batch is written"
    );

    // CSV rows are numbered the same way, the header not counted.
    let csv = "id,player_id,amount,currency,dir,created_at\n1,7,1.00,EUR,IN,2020-10-10 07:00:00\n2,7,1.00,EUR,IN,\n";
    let (status, body) = problem(app.push("transactions", "text/csv", csv).await).await;
    assert_eq!(
        (status, body["row"].clone(), body["field"].clone()),
        (422, json!(2), json!("created_at"))
    );
    assert_eq!(app.count("transactions"), 0);
}

async fn unreadable_bodies_are_400_and_unknown_media_types_415(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = problem(app.push("users", "application/json", "[{\"id\": 1,").await).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = problem(app.push("users", "application/xml", "<users/>").await).await;
    assert_eq!(status, 415);
    let (status, _) = problem(
        app.push(
            "users",
            "text/csv",
            "id,registered_at\n1,2020-10-10 07:00:00,extra\n",
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(app.count("users"), 0);
}

async fn oversized_bodies_are_413(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.max_body_bytes = 4096).await;
    let rows: Vec<Value> = (1..=100).map(|id| sample_row("users", id)).collect();
    let (status, body) = problem(
        app.push("users", "application/json", Value::Array(rows).to_string())
            .await,
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(app.count("users"), 0);
    // Without a Content-Length (a chunked upload), the limit holds all the same.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..100).map(|_| Ok("x".repeat(100))).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (status, _) = problem(app.push("users", "text/csv", body).await).await;
    assert_eq!(status, 413);
}

async fn every_body_format_writes_the_same_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let json_rows = json!([sample_row("bets", 1), sample_row("bets", 2)]);
    app.push_at("2020-10-10 07:00:00", "bets", json_rows).await;
    app.set_clock("2020-10-10 07:00:01");
    let ndjson = format!("{}\n{}\n", sample_row("bets", 3), sample_row("bets", 4));
    assert_eq!(
        app.push("bets", "application/x-ndjson", ndjson)
            .await
            .status(),
        200
    );
    let csv =
        "id,player_id,type,stake,created_at,kind\n5,7,single,\"10.00\",2020-10-10 06:10:00,prize\n";
    let response = app.push("bets", "text/csv", csv).await;
    app.set_clock(PRESENT);
    assert_eq!(response.status(), 200);
    let written: Value = response.json().await.unwrap();
    assert_eq!(
        (written["dataset"].clone(), written["rows"].clone()),
        (json!("bets"), json!(1))
    );
    let rows = app
        .pull_json(
            "bets",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[4]["kind"], "Prize",
        "enumerations are stored in the spec's spelling"
    );
    assert_eq!(rows[4]["stake"].to_string(), "10.000000");
}
