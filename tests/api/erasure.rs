//! Erasure (GDPR article 17): a player's personal data is blanked in every
//! dataset, the money rows are kept, and consumers see it in the next window.

use crate::custom_fields::declare;
use crate::helpers::{on_both_backends, sample_row, spawn_app, window, Backend, PRESENT};
use hourglass::datasets::custom::FieldType;
use serde_json::{json, Value};

on_both_backends!(an_erased_player_keeps_the_money_rows_and_loses_the_personal_data);

async fn an_erased_player_keeps_the_money_rows_and_loses_the_personal_data(backend: Backend) {
    let app = spawn_app(backend).await;
    declare(&app, "nickname", FieldType::String).await;
    declare(&app, "vip_level", FieldType::Integer).await;
    for player in ["p1", "p2"] {
        let mut user = sample_row("users", player);
        user["first_name"] = json!("Ann");
        user["ip"] = json!("10.1.2.3");
        user["nickname"] = json!("annie");
        user["vip_level"] = json!(3);
        let mut contact = sample_row("contacts", player);
        contact["email"] = json!("ann@example.com");
        contact["phone"] = json!("+358401234567");
        let mut transaction = sample_row("transactions", format!("t-{player}"));
        transaction["player_id"] = json!(player);
        transaction["amount"] = json!("25.00");
        transaction["requisite"] = json!("4111 **** **** 1111");
        let mut action = sample_row("game_actions", format!("a-{player}"));
        action["player_id"] = json!(player);
        action["session_id"] = json!(format!("s-{player}"));
        action["ip"] = json!("10.1.2.3");
        action["created_at"] = json!("2020-10-10 07:00:00");
        app.push_at("2020-10-10 07:00:00", "users", json!([user]))
            .await;
        app.push_at("2020-10-10 07:00:00", "contacts", json!([contact]))
            .await;
        app.push_at("2020-10-10 07:00:00", "transactions", json!([transaction]))
            .await;
        app.push_at("2020-10-10 07:00:00", "game_actions", json!([action]))
            .await;
    }

    app.set_clock("2020-10-10 09:00:00");
    let response = app
        .request(reqwest::Method::POST, "/api/players/p1/erase")
        .bearer_auth(&app.write_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let erased: Value = response.json().await.unwrap();
    // users, contacts, transactions, game_actions: one row each.
    assert_eq!(erased["rows"], 4, "{erased}");
    assert_eq!(erased["erased_at"], "2020-10-10 09:00:00");
    let read_only = app
        .request(reqwest::Method::POST, "/api/players/p1/erase")
        .bearer_auth(&app.read_key)
        .send()
        .await
        .unwrap();
    assert_eq!(read_only.status(), 403);
    app.set_clock(PRESENT);

    // Consumers see it in the window of the erasure, p1's rows only.
    let nine = window("2020-10-10 09:00:00", "2020-10-10 10:00:00");
    let users = app.pull_json("users", &nine).await;
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    assert_eq!(user["id"], "p1");
    for blank in [
        "first_name",
        "ip",
        "nickname",
        "city",
        "birthday",
        "user_agent",
    ] {
        assert!(user[blank].is_null(), "users.{blank}: {user}");
    }
    assert_eq!(user["vip_level"], 3, "not personal: kept");
    assert_eq!(
        user["registered_at"],
        sample_row("users", "p1")["registered_at"]
    );
    let contacts = app.pull_json("contacts", &nine).await;
    assert_eq!(contacts.len(), 1);
    assert!(
        contacts[0]["email"].is_null() && contacts[0]["phone"].is_null(),
        "{contacts:?}"
    );
    let transactions = app.pull_json("transactions", &nine).await;
    assert_eq!(transactions.len(), 1);
    let transaction = &transactions[0];
    assert_eq!(
        (
            transaction["id"].as_str(),
            transaction["player_id"].as_str()
        ),
        (Some("t-p1"), Some("p1"))
    );
    assert_eq!(transaction["amount"].to_string(), "25.000000");
    assert_eq!(
        transaction["currency"],
        sample_row("transactions", "x")["currency"]
    );
    assert!(
        transaction["requisite"].is_null() && transaction["ip"].is_null(),
        "{transaction}"
    );
    let sessions = app.pull_json("game_sessions", &nine).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["session_id"], "s-p1");
    assert!(sessions[0]["ip"].is_null(), "{sessions:?}");

    // The other player is untouched.
    let before = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let p2 = app.pull_json("users", &before).await;
    assert_eq!(p2.len(), 1);
    assert_eq!(
        (p2[0]["id"].as_str(), p2[0]["first_name"].as_str()),
        (Some("p2"), Some("Ann"))
    );

    // The erasure is recorded as who and when, and nothing else.
    let mut conn = app.conn();
    let recorded: Vec<(String, i64)> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT player_id, erased_at FROM erasures").into_boxed(),
        &mut *conn,
    )
    .map(|rows: Vec<Erasure>| {
        rows.into_iter()
            .map(|r| (r.player_id, r.erased_at))
            .collect()
    })
    .unwrap();
    drop(conn);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].0, "p1");

    // Later writes for the player are stored as usual.
    let mut user = sample_row("users", "p1");
    user["first_name"] = json!("Ann");
    app.push_at("2020-10-10 10:30:00", "users", json!([user]))
        .await;
    let later = app
        .pull_json(
            "users",
            &window("2020-10-10 10:00:00", "2020-10-10 11:00:00"),
        )
        .await;
    assert_eq!(later[0]["first_name"], "Ann");
}

#[derive(diesel::QueryableByName)]
struct Erasure {
    #[diesel(sql_type = diesel::sql_types::Text)]
    player_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    erased_at: i64,
}

/// docs/writing.md's list of personal fields is the description's.
#[test]
fn the_docs_list_every_personal_field() {
    use hourglass::datasets::Dataset;
    let page = include_str!("../../docs/writing.md");
    let section = &page[page.find("### Erasing a player").unwrap()..];
    for dataset in Dataset::all().filter(|d| d.def().player.is_some()) {
        let personal: Vec<&str> = dataset
            .def()
            .columns
            .iter()
            .filter(|c| c.personal)
            .map(|c| c.name.as_ref())
            .collect();
        if personal.is_empty() {
            continue;
        }
        let line = section
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&format!("- `{}`", dataset.name()))
            })
            .unwrap_or_else(|| {
                panic!(
                    "docs/writing.md lists no personal fields of {}",
                    dataset.name()
                )
            });
        let listed = line.split_once(": ").unwrap().1;
        let listed: Vec<&str> = listed.split(", ").take(personal.len()).collect();
        assert_eq!(listed, personal, "{}", dataset.name());
    }
}
