//! Pulling windows: content, columns, edges, spellings, formats, gzip.

use crate::helpers::{
    expected_output, on_both_backends, sample_row, spawn_app, stamped, window, Backend,
};
use hourglass::datasets::column::Kind;
use hourglass::datasets::Dataset;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

on_both_backends!(
    every_dataset_round_trips_identically_through_csv_json_and_ndjson,
    ids_sent_as_json_numbers_are_kept_as_their_digits,
    an_absent_optional_value_is_an_empty_field_and_null,
    a_row_stamped_at_from_is_in_and_one_stamped_at_to_is_out,
    a_changed_row_moves_to_the_window_of_its_change,
    every_spelling_of_a_window_gives_the_same_rows,
    an_empty_window_still_has_its_header_or_brackets_and_x_columns,
    content_type_follows_format_and_accept,
    download_names_the_dataset_and_the_window,
    gzip_is_used_when_asked_for_and_holds_the_same_bytes,
);

/// The spec's columns, in the spec's order (plus the trailing `modified_at`
/// that hourglass gives logins, tournaments and events).
fn spec_columns(dataset: &str) -> &'static str {
    match dataset {
        "users" => "id,first_name,last_name,gender,country,city,ip,birthday,registered_at,ref_code,traffic_source,user_agent,modified_at,is_blocked,self_excluded,locale",
        "contacts" => "player_id,email,email_confirmed_at,email_subscribe,phone,phone_subscribe,phone_confirmed_at,push_token,created_at,modified_at",
        "transactions" => "id,player_id,amount,currency,type,status,payment_system,dir,created_at,updated_at,invoice_id,wallet_id,user_agent,ip,requisite,comment",
        "logins" => "id,player_id,ip,created_at,ref_code,traffic_source,user_agent,host,is_success,fail_reason,modified_at",
        "wallets" => "id,player_id,type,balance,currency,created_at,modified_at",
        "game_sessions" => "player_id,session_id,game_code,game_name,currency,bet_count,win_count,bet_amount,win_amount,created_at,updated_at,game_vendor,balance_type,ip,user_agent,ref_code",
        "tournaments" => "id,name,sport_id,sport_name,country_code,dateStart,dateEnd,modified_at",
        "events" => "id,tournament_id,title,status,startTime,endTime,type,modified_at",
        "bets" => "id,player_id,status,type,stake,win_amount,currency,kind,created_at,user_agent,modified_at",
        "bet_selections" => "id,bet_id,event_id,ratio,status,market,created_at,updated_at",
        // Not the spec's: hourglass's feed of deleted rows (README).
        "deletions" => "dataset,id,deleted_at",
        other => panic!("{other}"),
    }
}

type Row = BTreeMap<String, String>;

/// A JSON value as CSV writes it.
fn as_field(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn rows_from_csv(body: &str) -> (String, Vec<Row>) {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|record| {
            header
                .iter()
                .cloned()
                .zip(record.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (header.join(","), rows)
}

fn rows_from_json(objects: &[Value]) -> Vec<Row> {
    objects
        .iter()
        .map(|object| {
            object
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), as_field(v)))
                .collect()
        })
        .collect()
}

/// The operator's own identifiers: a UUID (InTarget's own example), a
/// free-form string (Fast Track's) and a URN (Sportradar's).
const IDS: [&str; 3] = [
    "sr:match:12345",
    "11ecc708-32d5-423b-bd59-7d114c26c979",
    "a123b456",
];

/// A sample row whose text spans lines, as comments and user agents may.
fn multi_line_row(dataset: &str, id: &str) -> Value {
    let mut row = sample_row(dataset, id);
    for column in Dataset::named(dataset).def().columns {
        if column.kind == Kind::Text && column.values.is_empty() {
            row[column.name.as_ref()] = json!(format!(
                "{}\nline 2",
                row[column.name.as_ref()].as_str().unwrap()
            ));
        }
    }
    row
}

async fn every_dataset_round_trips_identically_through_csv_json_and_ndjson(backend: Backend) {
    let app = spawn_app(backend).await;
    // Everything is written before the first pull: once [07:00, 08:00) has
    // been served, no write can be stamped inside it any more.
    for (dataset, _) in stamped() {
        let rows: Vec<Value> = IDS.iter().map(|id| multi_line_row(dataset, id)).collect();
        app.push_at("2020-10-10 07:00:00", dataset, Value::Array(rows))
            .await;
    }
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    for (dataset, stamp) in stamped() {
        let (header, csv_rows) = rows_from_csv(&app.pull_text(dataset, &query).await);
        assert_eq!(header, spec_columns(dataset), "{dataset}");
        let json = app.pull_json(dataset, &query).await;
        let ndjson = app
            .pull_text(dataset, &format!("{query}&format=ndjson"))
            .await;
        let ndjson: Vec<Value> = ndjson
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            csv_rows,
            rows_from_json(&json),
            "{dataset}: CSV and JSON differ"
        );
        assert_eq!(
            csv_rows,
            rows_from_json(&ndjson),
            "{dataset}: CSV and NDJSON differ"
        );

        // Rows come in (stamp, id) order, ids compared as text, exactly.
        let def = Dataset::named(dataset).def();
        let ids: Vec<&str> = csv_rows.iter().map(|r| r[def.key].as_str()).collect();
        let mut sorted = IDS;
        sorted.sort();
        assert_eq!(ids, sorted, "{dataset}");
        for (row, object) in csv_rows.iter().zip(&json) {
            let written = multi_line_row(dataset, &row[def.key]);
            for column in def.columns {
                let name: &str = &column.name;
                let expected = if name == stamp {
                    "2020-10-10 07:00:00".to_string()
                } else {
                    expected_output(column, &written[name])
                };
                assert_eq!(row[name], expected, "{dataset}.{name}");
                let json_type_ok = match column.kind {
                    Kind::Id | Kind::Text | Kind::Date | Kind::Time => object[name].is_string(),
                    Kind::Money | Kind::Cents | Kind::Int | Kind::Bit => object[name].is_number(),
                    Kind::Bool => object[name].is_boolean(),
                };
                assert!(json_type_ok, "{dataset}.{name} in JSON: {}", object[name]);
            }
        }
    }
}

async fn ids_sent_as_json_numbers_are_kept_as_their_digits(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut row = sample_row("transactions", "x");
    row["id"] = serde_json::from_str("12345678901234567890123").unwrap();
    row["player_id"] = json!(7);
    row["wallet_id"] = json!(70);
    app.push_at("2020-10-10 07:00:00", "transactions", json!([row]))
        .await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let pulled = app.pull_json("transactions", &query).await;
    assert_eq!(pulled[0]["id"], "12345678901234567890123");
    assert_eq!(pulled[0]["player_id"], "7");
    assert_eq!(pulled[0]["wallet_id"], "70");
    let (_, csv) = rows_from_csv(&app.pull_text("transactions", &query).await);
    assert_eq!(csv[0]["id"], "12345678901234567890123");
}

async fn an_absent_optional_value_is_an_empty_field_and_null(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut row = sample_row("tournaments", "t1");
    row["dateEnd"] = Value::Null;
    row.as_object_mut().unwrap().remove("sport_id");
    app.push_at("2020-10-10 07:00:00", "tournaments", json!([row]))
        .await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let (_, csv) = rows_from_csv(&app.pull_text("tournaments", &query).await);
    assert_eq!(
        (csv[0]["dateEnd"].as_str(), csv[0]["sport_id"].as_str()),
        ("", "")
    );
    let json = app.pull_json("tournaments", &query).await;
    assert_eq!(
        (&json[0]["dateEnd"], &json[0]["sport_id"]),
        (&Value::Null, &Value::Null)
    );
}

async fn a_row_stamped_at_from_is_in_and_one_stamped_at_to_is_out(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_at(
        "2020-10-10 07:00:00",
        "users",
        json!([sample_row("users", 1)]),
    )
    .await;
    app.push_at(
        "2020-10-10 08:00:00",
        "users",
        json!([sample_row("users", 2)]),
    )
    .await;
    let ids = |rows: Vec<Value>| {
        rows.iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(app
            .pull_json(
                "users",
                &window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
            )
            .await),
        ["1"]
    );
    assert_eq!(
        ids(app
            .pull_json(
                "users",
                &window("2020-10-10 08:00:00", "2020-10-10 09:00:00")
            )
            .await),
        ["2"]
    );
    assert_eq!(
        ids(app
            .pull_json(
                "users",
                &window("2020-10-10 06:00:00", "2020-10-10 07:00:00")
            )
            .await),
        Vec::<String>::new()
    );
    // A microsecond before `to` is still in.
    assert_eq!(
        ids(app
            .pull_json(
                "users",
                "from=2020-10-10+07:59:00&to=2020-10-10+08:00:00.000001"
            )
            .await),
        ["2"]
    );
}

async fn a_changed_row_moves_to_the_window_of_its_change(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_at(
        "2020-10-10 07:10:00",
        "transactions",
        json!([sample_row("transactions", 1)]),
    )
    .await;
    let mut updated = sample_row("transactions", 1);
    updated["status"] = json!("Fail");
    app.push_at("2020-10-10 08:10:00", "transactions", json!([updated]))
        .await;
    let first = app
        .pull_json(
            "transactions",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    let second = app
        .pull_json(
            "transactions",
            &window("2020-10-10 08:00:00", "2020-10-10 09:00:00"),
        )
        .await;
    assert!(first.is_empty(), "the old version is gone: {first:?}");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["status"], "Fail");
    assert_eq!(second[0]["updated_at"], "2020-10-10 08:10:00");
    assert_eq!(
        app.count("transactions"),
        1,
        "an upsert replaces, it does not duplicate"
    );
}

async fn every_spelling_of_a_window_gives_the_same_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_at(
        "2020-10-10 07:30:00",
        "wallets",
        json!([sample_row("wallets", 1)]),
    )
    .await;
    let expected = app
        .pull_text("wallets", "from=2020-10-10+07:00:00&to=2020-10-10+08:00:00")
        .await;
    assert_eq!(expected.lines().count(), 2);
    for query in [
        "from=2020-10-10%2007:00:00&to=2020-10-10%2008:00:00",
        "from=2020-10-10T07:00:00&to=2020-10-10T08:00:00",
        "from=2020-10-10T07:00:00Z&to=2020-10-10T08:00:00.000Z",
        "from=2020-10-10+07:00:00%2B00:00&to=2020-10-10+08:00:00+00:00",
        "to=2020-10-10+08:00:00&from=2020-10-10+07:00:00",
    ] {
        assert_eq!(app.pull_text("wallets", query).await, expected, "{query}");
    }
}

async fn an_empty_window_still_has_its_header_or_brackets_and_x_columns(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    assert_eq!(
        app.pull_text("bets", &query).await,
        format!("{}\n", spec_columns("bets"))
    );
    assert_eq!(
        app.pull_text("bets", &format!("{query}&format=json")).await,
        "[]\n"
    );
    assert_eq!(
        app.pull_text("bets", &format!("{query}&format=ndjson"))
            .await,
        ""
    );
    assert_eq!(
        app.pull_text("game_sessions", &query).await,
        format!("{}\n", spec_columns("game_sessions"))
    );
    // Whatever the format, X-Columns names the columns: an empty JSON or
    // NDJSON window still tells a client its columns.
    for format in ["csv", "json", "ndjson"] {
        for dataset in ["bets", "game_sessions", "deletions"] {
            let response = app.pull_as(dataset, &query, format).await;
            assert_eq!(
                response.headers()["x-columns"].to_str().unwrap(),
                spec_columns(dataset),
                "{dataset} as {format}"
            );
        }
    }
}

async fn content_type_follows_format_and_accept(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let content_type = |response: &reqwest::Response| {
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        content_type(&app.pull("users", &query).await),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        content_type(&app.pull_as("users", &query, "json").await),
        "application/json"
    );
    assert_eq!(
        content_type(&app.pull_as("users", &query, "ndjson").await),
        "application/x-ndjson"
    );
    let response = app
        .request(Method::GET, &format!("/api/users?{query}"))
        .bearer_auth(&app.read_key)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(content_type(&response), "application/json");
    assert_eq!(response.text().await.unwrap(), "[]\n");
}

async fn download_names_the_dataset_and_the_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .pull(
            "transactions",
            &format!(
                "{}&download=1",
                window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
            ),
        )
        .await;
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"transactions_2020-10-10T070000_2020-10-10T080000.csv\""
    );
    let plain = app
        .pull(
            "transactions",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    // Named all the same, so that `curl -OJ` saves the window under its name.
    assert_eq!(
        plain.headers()["content-disposition"],
        "inline; filename=\"transactions_2020-10-10T070000_2020-10-10T080000.csv\""
    );
}

async fn gzip_is_used_when_asked_for_and_holds_the_same_bytes(backend: Backend) {
    use std::io::Read;
    let app = spawn_app(backend).await;
    let rows: Vec<Value> = (1..=2000).map(|id| sample_row("logins", id)).collect();
    app.push_at("2020-10-10 07:00:00", "logins", Value::Array(rows))
        .await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let plain = app.pull_text("logins", &query).await;
    // The app's client does not decompress: the bytes are the server's.
    let response = app
        .request(Method::GET, &format!("/api/logins?{query}"))
        .bearer_auth(&app.read_key)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().await.unwrap();
    assert!(
        compressed.len() * 5 < plain.len(),
        "{} vs {}",
        compressed.len(),
        plain.len()
    );
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
}
