//! Deletes: a deleted row leaves every later pull and comes out once in the
//! `deletions` feed, under the same window rules as every dataset.

use crate::helpers::{
    on_both_backends, sample_row, spawn_app, spawn_app_with, window, Backend, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    a_deleted_row_leaves_later_pulls_and_comes_out_once_in_deletions,
    a_batch_delete_is_atomic_and_counts_the_keys_it_found,
    deleting_game_actions_re_emits_their_sessions_and_an_emptied_one_is_deleted,
    deletions_are_kept_for_the_retention_period_and_a_window_before_it_is_410,
);

async fn delete(app: &TestApp, dataset: &str, id: &str) -> (u16, Value) {
    let response = app
        .request(Method::DELETE, &format!("/api/{dataset}/{id}"))
        .bearer_auth(&app.write_key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn delete_many(app: &TestApp, dataset: &str, content_type: &str, body: &str) -> (u16, Value) {
    let response = app
        .request(Method::POST, &format!("/api/{dataset}/deletions"))
        .bearer_auth(&app.write_key)
        .header("Content-Type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn ids(rows: &[Value], column: &str) -> Vec<String> {
    rows.iter()
        .map(|row| row[column].as_str().unwrap().to_string())
        .collect()
}

async fn a_deleted_row_leaves_later_pulls_and_comes_out_once_in_deletions(backend: Backend) {
    let app = spawn_app(backend).await;
    let rows = json!([sample_row("users", "u1"), sample_row("users", "u2")]);
    app.push_at("2020-10-10 07:00:00", "users", rows).await;

    app.set_clock("2020-10-10 07:30:00");
    assert_eq!(delete(&app, "users", "u1").await.0, 204);
    let (status, body) = delete(&app, "users", "u1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("row_not_found")),
        "{body}"
    );
    let (status, body) = delete(&app, "users", "nobody").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = delete(&app, "game_sessions", "s1").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = delete(&app, "players", "u1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_dataset")),
        "{body}"
    );
    app.set_clock(crate::helpers::PRESENT);

    let hour = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    assert_eq!(ids(&app.pull_json("users", &hour).await, "id"), ["u2"]);
    assert_eq!(
        app.pull_text("deletions", &hour).await,
        "dataset,id,deleted_at\nusers,u1,2020-10-10 07:30:00\n"
    );
    // Once: the next window holds nothing, and the window before the delete neither.
    let next = window("2020-10-10 08:00:00", "2020-10-10 09:00:00");
    assert!(app.pull_json("deletions", &next).await.is_empty());
    let before = window("2020-10-10 07:00:00", "2020-10-10 07:30:00");
    assert!(app.pull_json("deletions", &before).await.is_empty());
    // A deletion is not written: the feed takes no POST.
    let response = app.push("deletions", "application/json", "[]").await;
    assert_eq!(response.status(), 405);
}

async fn a_batch_delete_is_atomic_and_counts_the_keys_it_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let rows: Vec<Value> = (1..=6)
        .map(|n| sample_row("transactions", format!("t{n}")))
        .collect();
    app.push_at("2020-10-10 07:00:00", "transactions", json!(rows))
        .await;
    app.set_clock("2020-10-10 07:10:00");

    // One bad key: nothing is deleted.
    let (status, body) = delete_many(
        &app,
        "transactions",
        "application/json",
        "[\"t1\", \"t\\u0007\", \"t2\"]",
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str(), body["row"].as_u64()),
        (422, Some("invalid_row"), Some(2)),
        "{body}"
    );
    let (status, body) = delete_many(
        &app,
        "transactions",
        "application/json",
        r#"[{"id": "t1", "amount": "5"}]"#,
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("amount")),
        "{body}"
    );
    let (status, body) = delete_many(&app, "transactions", "text/csv", "player_id\np1\n").await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = delete_many(&app, "transactions", "application/json", "[]").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("malformed_body")),
        "{body}"
    );

    // Every form: keys, objects, NDJSON, CSV; a key that names no row is counted.
    let (status, body) = delete_many(
        &app,
        "transactions",
        "application/json",
        r#"["t1", 7, {"id": "t2"}]"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["deleted"].as_u64(), body["not_found"].as_u64()),
        (Some(2), Some(1)),
        "{body}"
    );
    assert_eq!(body["stamp"], "2020-10-10 07:10:00");
    let (status, body) = delete_many(
        &app,
        "transactions",
        "application/x-ndjson",
        "{\"id\": \"t3\"}\n\"t4\"\n",
    )
    .await;
    assert_eq!((status, body["deleted"].as_u64()), (200, Some(2)), "{body}");
    let (status, body) = delete_many(&app, "transactions", "text/csv", "id\nt5\nt1\n").await;
    assert_eq!(
        (status, body["deleted"].as_u64(), body["not_found"].as_u64()),
        (200, Some(1), Some(1)),
        "{body}"
    );
    app.set_clock(crate::helpers::PRESENT);

    let hour = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    assert_eq!(
        ids(&app.pull_json("transactions", &hour).await, "id"),
        ["t6"]
    );
    let deleted = app.pull_json("deletions", &hour).await;
    let mut gone = ids(&deleted, "id");
    gone.sort();
    assert_eq!(gone, ["t1", "t2", "t3", "t4", "t5"]);
    assert!(deleted.iter().all(|row| row["dataset"] == "transactions"));
}

async fn deleting_game_actions_re_emits_their_sessions_and_an_emptied_one_is_deleted(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let action = |id: &str, session: &str| {
        let mut row = sample_row("game_actions", id);
        row["session_id"] = json!(session);
        row["action"] = json!("bet");
        row["amount"] = json!("1.50");
        row["created_at"] = json!("2020-10-10 07:05:00");
        row
    };
    let actions = json!([action("a1", "s1"), action("a2", "s1"), action("a3", "s2")]);
    app.push_at("2020-10-10 07:05:00", "game_actions", actions)
        .await;

    app.set_clock("2020-10-10 09:00:00");
    assert_eq!(delete(&app, "game_actions", "a1").await.0, 204);
    assert_eq!(delete(&app, "game_actions", "a3").await.0, 204);
    app.set_clock(crate::helpers::PRESENT);

    let nine = window("2020-10-10 09:00:00", "2020-10-10 10:00:00");
    let sessions = app.pull_json("game_sessions", &nine).await;
    assert_eq!(ids(&sessions, "session_id"), ["s1"], "{sessions:?}");
    // The session's totals without the deleted action.
    assert_eq!(sessions[0]["bet_count"], 1, "{sessions:?}");
    assert_eq!(
        sessions[0]["bet_amount"].to_string(),
        "1.500000",
        "{sessions:?}"
    );
    let deleted = app.pull_json("deletions", &nine).await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(
        (deleted[0]["dataset"].as_str(), deleted[0]["id"].as_str()),
        (Some("game_sessions"), Some("s2"))
    );
}

async fn deletions_are_kept_for_the_retention_period_and_a_window_before_it_is_410(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |settings| {
        settings.deletions_retention = std::time::Duration::from_secs(24 * 3600);
    })
    .await;
    app.push_at(
        "2020-10-10 07:00:00",
        "users",
        json!([sample_row("users", "u1")]),
    )
    .await;
    app.set_clock("2020-10-10 07:30:00");
    assert_eq!(delete(&app, "users", "u1").await.0, 204);
    // The server's clock stands at 2020-10-11 00:00: a day back is 2020-10-10 00:00.
    app.set_clock(crate::helpers::PRESENT);
    let response = app
        .pull(
            "deletions",
            &window("2020-10-09 23:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(response.status(), 410);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "deletions_purged");
    assert!(
        body["detail"].as_str().unwrap().contains("resync"),
        "{body}"
    );
    let kept = window("2020-10-10 00:00:00", "2020-10-10 08:00:00");
    assert_eq!(app.pull_json("deletions", &kept).await.len(), 1);

    // Purged past the period, on the database itself.
    let purged = hourglass::ingest::delete::purge(
        &mut app.conn(),
        hourglass::timestamp::Timestamp::parse("2020-10-10 08:00:00").unwrap(),
    )
    .unwrap();
    assert_eq!(purged, 1);
    assert!(app.pull_json("deletions", &kept).await.is_empty());
}
