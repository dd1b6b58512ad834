//! Nothing is accepted quietly: empty bodies, repeated columns, unknown
//! parameters, wrong methods and foreign encodings get a clear 4xx; gzip
//! bodies are read; `rows` counts what was stored; keys never reach a log.

use crate::helpers::{
    new_database, on_both_backends, sample_row, spawn_app, spawn_app_with, window, Backend,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;

on_both_backends!(
    empty_bodies_and_bodies_without_rows_are_400s,
    a_column_or_key_given_twice_is_a_422,
    gzip_bodies_are_read_within_the_limit_and_other_encodings_are_415s,
    rows_counts_the_rows_stored,
    an_unknown_query_parameter_is_a_400_unless_allowed,
    wrong_methods_are_405s_with_allow,
    a_key_in_the_query_string_is_refused_and_never_logged,
    a_hostile_batch_gets_the_same_answer_on_both_backends,
);

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body)
}

async fn empty_bodies_and_bodies_without_rows_are_400s(backend: Backend) {
    let app = spawn_app(backend).await;
    for (content_type, body, says) in [
        ("application/json", "", "the body is empty"),
        ("text/csv", "\u{feff} \r\n", "the body is empty"),
        ("application/x-ndjson", "\n\n", "the body is empty"),
        ("text/csv", "id,registered_at\n", "no rows"),
        ("application/json", "[]", "no rows"),
    ] {
        let (status, problem) = problem(app.push("users", content_type, body).await).await;
        assert_eq!(status, 400, "{body:?}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{body:?}: {detail}");
    }
    assert_eq!(app.count("users"), 0);
}

async fn a_column_or_key_given_twice_is_a_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let csv = "id,registered_at,city,city\nu1,2020-10-10 07:00:00,Espoo,Oulu\n";
    let (status, body) = problem(app.push("users", "text/csv", csv).await).await;
    assert_eq!(
        (status, body["row"].clone(), body["field"].clone()),
        (422, json!(0), json!("city"))
    );
    let json = r#"[{"id": "u1", "registered_at": "2020-10-10 07:00:00"},
        {"id": "u2", "city": "Espoo", "registered_at": "2020-10-10 07:00:00", "city": "Oulu"}]"#;
    let (status, body) = problem(app.push("users", "application/json", json).await).await;
    assert_eq!(
        (status, body["row"].clone(), body["field"].clone()),
        (422, json!(2), json!("city"))
    );
    let ndjson = "{\"id\": \"u1\", \"id\": \"u2\", \"registered_at\": \"2020-10-10 07:00:00\"}\n";
    let (status, body) = problem(app.push("users", "application/x-ndjson", ndjson).await).await;
    assert_eq!(
        (status, body["row"].clone(), body["field"].clone()),
        (422, json!(1), json!("id"))
    );
    assert_eq!(app.count("users"), 0);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

async fn gzip_bodies_are_read_within_the_limit_and_other_encodings_are_415s(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.max_body_bytes = 200_000).await;
    let post = |encoding: &'static str, body: Vec<u8>| {
        app.request(Method::POST, "/api/users")
            .bearer_auth(&app.write_key)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", encoding)
            .body(body)
            .send()
    };
    let rows: Vec<Value> = (0..100).map(|id| sample_row("users", id)).collect();
    let body = Value::Array(rows).to_string();
    let response = post("gzip", gzip(body.as_bytes())).await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(app.count("users"), 100);

    // 10 MB of spaces compress to about 10 KB: the limit applies to what a
    // body decodes to, so a small bomb is refused, never inflated in memory.
    let bomb = gzip(&vec![b' '; 10_000_000]);
    assert!(bomb.len() < 200_000);
    assert_eq!(post("gzip", bomb).await.unwrap().status(), 413);

    // A body that is not what its encoding says: a 400 in the client's
    // terms, not the framework's.
    for encoding in ["gzip", "deflate"] {
        let (status, problem) = problem(
            post(encoding, b"not compressed at all".to_vec())
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("the body is not valid {encoding} ")),
            "{detail}"
        );
    }

    let (status, problem) = problem(post("br", body.into_bytes()).await.unwrap()).await;
    assert_eq!(status, 415);
    assert!(
        problem["detail"].as_str().unwrap().contains("'br'"),
        "{problem}"
    );
}

async fn rows_counts_the_rows_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let batch = json!([
        sample_row("users", "u1"),
        sample_row("users", "u2"),
        sample_row("users", "u1")
    ]);
    let response = app
        .push("users", "application/json", batch.to_string())
        .await;
    let written: Value = response.json().await.unwrap();
    assert_eq!(written["rows"], 2, "{written}");
    assert_eq!(app.count("users"), 2);
}

async fn an_unknown_query_parameter_is_a_400_unless_allowed(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    for extra in ["player_id=5", "limit=10", "signature=abc"] {
        let (status, body) = problem(app.pull("users", &format!("{query}&{extra}")).await).await;
        let name = extra.split('=').next().unwrap();
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some(name)),
            "{body}"
        );
    }
    let app = spawn_app_with(backend, |settings| {
        settings.extra_params = vec!["signature".into(), "ts".into()];
    })
    .await;
    let response = app
        .pull("users", &format!("{query}&signature=abc&ts=1"))
        .await;
    assert_eq!(response.status(), 200);
    let (status, body) = problem(app.pull("users", &format!("{query}&limit=1")).await).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("ignores signature, ts"),
        "{body}"
    );
}

async fn wrong_methods_are_405s_with_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    for (method, path, allow) in [
        (Method::PUT, "/api/users", "GET, POST"),
        (Method::DELETE, "/api/users", "GET, POST"),
        (Method::PATCH, "/api/bets", "GET, POST"),
        (Method::HEAD, "/api/users", "GET, POST"),
        (Method::OPTIONS, "/api/users", "GET, POST"),
        (Method::TRACE, "/api/users", "GET, POST"),
        (Method::PUT, "/api/game_actions", "POST"),
        (Method::OPTIONS, "/api/game_sessions", "GET"),
        (Method::POST, "/api/schema", "GET"),
        (Method::POST, "/health", "GET"),
        (Method::DELETE, "/openapi.yaml", "GET"),
    ] {
        let response = app
            .request(method.clone(), path)
            .bearer_auth(&app.write_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
    let spec = app
        .request(Method::GET, "/openapi.yaml")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.status(), 200);
    assert_eq!(spec.headers()["content-type"], "application/yaml");
    let served = spec.text().await.unwrap();
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert_eq!(served, file);
}

async fn a_key_in_the_query_string_is_refused_and_never_logged(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(backend, dir.path());
    let log = dir.path().join("serve.log");
    let key = {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"))
            .args(["--database", &database, "migrate"])
            .output()
            .unwrap();
        assert!(output.status.success());
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"))
            .args(["--database", &database, "keys", "create", "--name", "crm"])
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    // A server process of its own, logging to a file the test reads.
    let server = crate::helpers::ServerProcess::start_logging(&database, &[], &log).await;
    let get = |path: &str| server.request(Method::GET, path);
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    for parameter in ["key", "api_key", "access_token", "token", "API_KEY"] {
        let response = get(&format!("/api/users?{query}&{parameter}={key}"))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(status, 400, "{parameter}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("Authorization: Bearer"), "{detail}");
        assert!(!detail.contains(&key), "the answer does not echo the key");
    }
    for path in [
        format!("/health?key={key}"),
        format!("/nowhere?token={key}"),
        // A key pasted into the path, wherever it lands.
        format!("/api/{key}"),
        format!("/{key}"),
        format!("/api/users/{key}"),
        format!("/api/users/{key}/x"),
        format!("/assets/{key}"),
        format!("/api/users?from={key}&to=2020-10-10+08:00:00"),
        format!("/api/users?{query}&note={key}"),
    ] {
        get(&path).bearer_auth("hg_wrong").send().await.unwrap();
        get(&format!("/api/users?{query}&signature={key}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
    }
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("/api/users"),
        "the requests were logged: {logged}"
    );
    assert!(!logged.contains(&key), "a key reached the log:\n{logged}");
    assert!(
        !logged.contains("hg_wrong"),
        "a key reached the log:\n{logged}"
    );
}

/// What either backend could refuse (a NUL in text, an id too long for an
/// index), and what neither should store, is checked before the database
/// sees it: the answers below are compared to the letter, and they are the
/// same on SQLite and PostgreSQL because neither backend is asked.
async fn a_hostile_batch_gets_the_same_answer_on_both_backends(backend: Backend) {
    let app = spawn_app(backend).await;
    let long_id = "a".repeat(10_000);
    let mut answers = Vec::new();
    for (dataset, field, value) in [
        ("users", "city", json!("Es\u{0}poo")),
        ("users", "first_name", json!("\u{0}")),
        ("game_actions", "id", json!(long_id)),
        ("game_actions", "session_id", json!("s\u{7f}1")),
        ("transactions", "invoice_id", json!("inv\r1")),
        ("contacts", "player_id", json!("")),
        ("bets", "player_id", json!(["nested"])),
        ("bet_selections", "ratio", json!("1e400")),
        ("events", "startTime", json!("2020-13-40 25:61:61")),
        ("tournaments", "dateStart", json!("0000-01-01 00:00:00")),
    ] {
        let mut bad = sample_row(dataset, "x1");
        bad[field] = value;
        let batch = json!([sample_row(dataset, "ok1"), bad]);
        let response = app
            .push(dataset, "application/json", batch.to_string())
            .await;
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["row"].as_u64(), body["field"].as_str()),
            (422, Some(2), Some(field)),
            "{dataset}.{field}: {body}"
        );
        answers.push(format!(
            "{dataset}.{field}: {}",
            body["detail"].as_str().unwrap()
        ));
    }
    let expected = [
        "users.city: row 2: field 'city' contains a NUL character, which text cannot hold; nothing was written",
        "users.first_name: row 2: field 'first_name' contains a NUL character, which text cannot hold; nothing was written",
        "game_actions.id: row 2: field 'id' has 10000 characters: expected an identifier of 1 to 128; nothing was written",
        "game_actions.session_id: row 2: field 'session_id' contains the control character U+007F: expected an identifier without control characters; nothing was written",
        "transactions.invoice_id: row 2: field 'invoice_id' contains the control character U+000D: expected an identifier without control characters; nothing was written",
        "contacts.player_id: row 2: field 'player_id' has 0 characters: expected an identifier of 1 to 128; nothing was written",
        "bets.player_id: row 2: field 'player_id' (an array or object) is not valid: expected an identifier of 1 to 128 characters without control characters; nothing was written",
        "bet_selections.ratio: row 2: field 'ratio' ('1e400') is not a plain decimal number like 12.50 (no exponent, no thousands separators); nothing was written",
        "events.startTime: row 2: field 'startTime' ('2020-13-40 25:61:61') is not a timestamp: expected YYYY-MM-DD HH:MM:SS in UTC (the space may be sent as '+', '%20' or 'T'; fractional seconds and a trailing 'Z' or '+00:00' are allowed); nothing was written",
        "tournaments.dateStart: row 2: field 'dateStart' ('0000-01-01 00:00:00') is out of the supported range (years 1 to 9999); nothing was written",
    ];
    assert_eq!(answers, expected);
    for dataset in [
        "users",
        "game_actions",
        "transactions",
        "contacts",
        "bets",
        "bet_selections",
        "events",
        "tournaments",
    ] {
        assert_eq!(app.count(dataset), 0, "{dataset}: nothing half-written");
    }
}
