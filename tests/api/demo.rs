//! The demo's data, made by `hourglass seed` and pulled over HTTP as a CRM
//! would, holds together: no row is stamped before what it records, bets
//! settle by their selections and pay stake × odds, money moves both ways in
//! every status, names and phones fit their country, and every hour of the
//! last day has rows in every dataset.

use crate::helpers::{new_database, on_both_backends, window, Backend, ServerProcess};
use hourglass::money::Money;
use hourglass::timestamp::Timestamp;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::process::Command;

on_both_backends!(the_seeded_demo_holds_together);

const HOUR: i64 = 3_600_000_000;

fn hourglass(database: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hourglass"))
        .args(["--database", database])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

struct Demo {
    server: ServerProcess,
    key: String,
}

impl Demo {
    async fn pull(&self, dataset: &str, query: &str, format: &str) -> String {
        let response = self
            .server
            .request(
                reqwest::Method::GET,
                &format!("/api/{dataset}?{query}&format={format}"),
            )
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{dataset}?{query}");
        response.text().await.unwrap()
    }

    async fn rows(&self, dataset: &str, query: &str) -> Vec<Value> {
        serde_json::from_str(&self.pull(dataset, query, "json").await).unwrap()
    }
}

fn text<'r>(row: &'r Value, column: &str) -> &'r str {
    row[column].as_str().unwrap_or("")
}

fn time(row: &Value, column: &str) -> Option<i64> {
    row[column]
        .as_str()
        .map(|t| Timestamp::parse(t).unwrap().as_micros())
}

fn micros(row: &Value, column: &str) -> i64 {
    Money::parse(&row[column].to_string()).unwrap().as_micros()
}

fn values<'r>(rows: &'r [Value], column: &str) -> BTreeSet<&'r str> {
    rows.iter().map(|r| text(r, column)).collect()
}

async fn the_seeded_demo_holds_together(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(backend, dir.path());
    hourglass(&database, &["migrate"]);
    let before = Timestamp::now().as_micros();
    hourglass(
        &database,
        &["seed", "--players", "600", "--days", "2", "--seed", "7"],
    );
    let after = Timestamp::now().as_micros();
    let key = hourglass(
        &database,
        &["keys", "create", "--name", "t", "--scope", "read"],
    );
    let demo = Demo {
        server: ServerProcess::start(&database, &[]).await,
        key: key.trim().to_string(),
    };
    let all = window(
        &Timestamp::from_micros(before - 3 * 24 * HOUR).to_string(),
        &Timestamp::from_micros(after + 1_000_000).to_string(),
    );
    let mut data: HashMap<&str, Vec<Value>> = HashMap::new();
    for dataset in [
        "users",
        "contacts",
        "transactions",
        "logins",
        "wallets",
        "game_sessions",
        "tournaments",
        "events",
        "bets",
        "bet_selections",
        "deletions",
    ] {
        let rows = demo.rows(dataset, &all).await;
        assert!(!rows.is_empty(), "{dataset} is empty");
        data.insert(dataset, rows);
    }

    // No stamp before what the row records, nor after the seed ended.
    let happened: &[(&str, &str, &[&str])] = &[
        ("users", "modified_at", &["registered_at"]),
        (
            "contacts",
            "modified_at",
            &["created_at", "email_confirmed_at", "phone_confirmed_at"],
        ),
        ("transactions", "updated_at", &["created_at"]),
        ("logins", "modified_at", &["created_at"]),
        ("wallets", "modified_at", &["created_at"]),
        ("bets", "modified_at", &["created_at"]),
        ("bet_selections", "updated_at", &["created_at"]),
        ("tournaments", "modified_at", &[]),
        ("events", "modified_at", &["endTime"]),
        ("game_sessions", "updated_at", &["created_at"]),
    ];
    for (dataset, stamp, earlier) in happened {
        for row in &data[dataset] {
            let stamped = time(row, stamp).unwrap();
            assert!(stamped <= after, "{dataset} stamped after the seed: {row}");
            for column in *earlier {
                if let Some(at) = time(row, column) {
                    assert!(at <= stamped, "{dataset}.{stamp} before {column}: {row}");
                }
            }
        }
    }
    let events: HashMap<&str, &Value> = data["events"].iter().map(|e| (text(e, "id"), e)).collect();
    for event in events.values() {
        let stamped = time(event, "modified_at").unwrap();
        match text(event, "status") {
            "live" => assert!(time(event, "startTime").unwrap() <= stamped, "{event}"),
            "finished" => assert!(time(event, "endTime").is_some(), "{event}"),
            status => assert!(["scheduled", "cancelled"].contains(&status), "{event}"),
        }
    }
    for selection in &data["bet_selections"] {
        let event = events[text(selection, "event_id")];
        match text(selection, "status") {
            "won" | "lost" => assert!(
                time(event, "endTime").unwrap() <= time(selection, "updated_at").unwrap(),
                "{selection} {event}"
            ),
            "void" => assert_eq!(text(event, "status"), "cancelled", "{selection} {event}"),
            status => assert_eq!(status, "open", "{selection}"),
        }
    }

    // Bets settle by their selections; a win pays stake × odds, to the cent.
    let mut legs: HashMap<&str, Vec<&Value>> = HashMap::new();
    for selection in &data["bet_selections"] {
        legs.entry(text(selection, "bet_id"))
            .or_default()
            .push(selection);
    }
    for bet in &data["bets"] {
        let legs = &legs[text(bet, "id")];
        let statuses: BTreeSet<&str> = legs.iter().map(|s| text(s, "status")).collect();
        match text(bet, "status") {
            "won" => {
                assert_eq!(statuses, BTreeSet::from(["won"]), "{bet}");
                let mut value = i128::from(micros(bet, "stake"));
                let mut scale = 1i128;
                for leg in legs {
                    value *= i128::from(micros(leg, "ratio"));
                    scale *= 1_000_000;
                }
                // value / scale is in millionths; round it half up to the cent.
                let cent = scale * 10_000;
                let exact_cents = (value * 2 + cent) / (cent * 2);
                assert_eq!(
                    i128::from(micros(bet, "win_amount")),
                    exact_cents * 10_000,
                    "{bet} {legs:?}"
                );
            }
            "lost" => assert!(statuses.contains("lost"), "{bet}"),
            "void" => {
                assert!(
                    statuses.contains("void") && !statuses.contains("lost"),
                    "{bet}"
                );
                assert_eq!(micros(bet, "win_amount"), micros(bet, "stake"), "{bet}");
            }
            "cashout" => assert!(micros(bet, "win_amount") > 0, "{bet}"),
            status => {
                assert_eq!(status, "open", "{bet}");
                assert!(bet["win_amount"].is_null(), "{bet}");
            }
        }
    }
    assert_eq!(
        values(&data["bets"], "status"),
        BTreeSet::from(["cashout", "lost", "open", "void", "won"])
    );

    // Money moves both ways, in every status, by fitting means.
    let transactions = &data["transactions"];
    for dir in ["IN", "OUT"] {
        let statuses: BTreeSet<&str> = transactions
            .iter()
            .filter(|t| text(t, "dir") == dir)
            .map(|t| text(t, "status"))
            .collect();
        assert_eq!(
            statuses,
            BTreeSet::from(["Fail", "New", "Process", "Success"]),
            "{dir}"
        );
    }
    let contacts: HashMap<&str, &Value> = data["contacts"]
        .iter()
        .map(|c| (text(c, "player_id"), c))
        .collect();
    for t in transactions {
        let requisite = text(t, "requisite");
        let fits = match text(t, "payment_system") {
            "Visa" => {
                requisite.starts_with('4') && requisite.len() == 16 && requisite[6..12] == *"******"
            }
            "Mastercard" => {
                requisite.starts_with('5') && requisite.len() == 16 && requisite[6..12] == *"******"
            }
            "Skrill" | "Interac" => requisite == text(contacts[text(t, "player_id")], "email"),
            "MuchBetter" => requisite == text(contacts[text(t, "player_id")], "phone"),
            "Trustly" => {
                requisite.len() > 4
                    && requisite[..2].chars().all(|c| c.is_ascii_uppercase())
                    && requisite.contains("****")
            }
            "PIX" => requisite.starts_with("***.") && requisite.ends_with("-**"),
            "POLi" | "Bank transfer" => requisite.contains("-*******-"),
            "Bonus" => requisite.is_empty() && text(t, "type") != "Normal",
            other => panic!("an unexpected payment system {other:?}: {t}"),
        };
        assert!(fits, "the requisite does not fit the payment system: {t}");
    }

    // People fit their country; devices and hosts vary.
    let phone_codes = HashMap::from([
        ("DE", "+49"),
        ("FI", "+358"),
        ("BR", "+55"),
        ("CA", "+1"),
        ("NZ", "+64"),
    ]);
    for user in &data["users"] {
        let country = text(user, "country");
        assert!(
            text(user, "locale").ends_with(&format!("_{country}")),
            "{user}"
        );
        let contact = contacts[text(user, "id")];
        assert!(
            text(contact, "phone").starts_with(phone_codes[country]),
            "{user} {contact}"
        );
        assert!(!text(user, "first_name").starts_with("Player"), "{user}");
    }
    assert!(values(&data["users"], "city").len() >= 20);
    assert!(values(&data["logins"], "user_agent").len() >= 5);
    assert!(values(&data["logins"], "host").len() >= 3);
    assert!(values(&data["logins"], "fail_reason").len() >= 3);

    // Tournaments and events: scheduled, running and over.
    assert_eq!(
        values(&data["events"], "status"),
        BTreeSet::from(["cancelled", "finished", "live", "scheduled"])
    );
    let now = after;
    let tournaments = &data["tournaments"];
    assert!(tournaments
        .iter()
        .any(|t| time(t, "dateStart").unwrap() > now));
    assert!(tournaments
        .iter()
        .any(|t| time(t, "dateStart").unwrap() <= now && time(t, "dateEnd").unwrap() > now));
    assert!(tournaments
        .iter()
        .any(|t| time(t, "dateEnd").unwrap() <= now));
    assert!(values(&data["events"], "title").len() > 20);

    // Some game sessions span hours.
    assert!(data["game_sessions"]
        .iter()
        .any(|s| time(s, "updated_at").unwrap() - time(s, "created_at").unwrap() > HOUR));

    // Every hour of the last day has rows in every dataset. (Not deletions:
    // abandoned deposits, deleted when their payment page expires, are a few
    // an hour for this many players; the demo's 3,000 fill every hour.)
    let last_hour = before - before.rem_euclid(HOUR);
    for dataset in data.keys().filter(|d| **d != "deletions") {
        for h in 1..=24 {
            let from = Timestamp::from_micros(last_hour - h * HOUR).to_string();
            let to = Timestamp::from_micros(last_hour - (h - 1) * HOUR).to_string();
            let csv = demo.pull(dataset, &window(&from, &to), "csv").await;
            assert!(csv.lines().count() > 1, "no {dataset} in [{from}, {to})");
        }
    }
}
