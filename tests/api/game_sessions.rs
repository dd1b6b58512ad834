//! Game sessions: found by any action in the window, aggregated over all
//! their actions, exact.

use crate::helpers::{on_both_backends, spawn_app, window, Backend};
use serde_json::{json, Value};

on_both_backends!(
    a_session_straddling_three_windows_comes_out_whole_in_each,
    session_sums_stay_exact_at_casino_scale,
);

pub(crate) fn action(id: &str, session: &str, action: &str, amount: &str, at: &str) -> Value {
    json!({"id": id, "session_id": session, "player_id": 7, "game_code": "sb", "game_name": "Starburst",
        "game_vendor": "NetEnt", "currency": "EUR", "balance_type": "Normal", "action": action,
        "amount": amount, "ip": "10.0.0.1", "user_agent": "UA", "ref_code": "r", "created_at": at})
}

async fn a_session_straddling_three_windows_comes_out_whole_in_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let actions = json!([
        action("a1", "s1", "bet", "1.10", "2020-10-10 07:10:00"),
        action("a2", "s1", "win", "0.25", "2020-10-10 07:50:00"),
        action("a3", "s1", "bet", "2.000001", "2020-10-10 08:20:00"),
        action("a4", "s1", "win", "10", "2020-10-10 09:30:00"),
        action("a5", "s1", "bet", "0.000001", "2020-10-10 09:59:59"),
        action("b1", "s2", "bet", "5", "2020-10-10 08:30:00"),
        action("c1", "s0", "bet", "5", "2020-10-10 05:00:00"),
    ]);
    app.push_at("2020-10-10 12:30:00", "game_actions", actions)
        .await;

    let s1 = json!({"player_id": "7", "session_id": "s1", "game_code": "sb", "game_name": "Starburst",
        "currency": "EUR", "bet_count": 3, "win_count": 2, "bet_amount": "3.100002", "win_amount": "10.250000",
        "created_at": "2020-10-10 07:10:00", "updated_at": "2020-10-10 09:59:59", "game_vendor": "NetEnt",
        "balance_type": "Normal", "ip": "10.0.0.1", "user_agent": "UA", "ref_code": "r"});
    let normalise = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .map(|mut row| {
                for key in ["bet_amount", "win_amount"] {
                    row[key] = json!(row[key].to_string());
                }
                row
            })
            .collect()
    };
    for (from, to) in [
        ("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        ("2020-10-10 09:00:00", "2020-10-10 10:00:00"),
    ] {
        assert_eq!(
            normalise(app.pull_json("game_sessions", &window(from, to)).await),
            std::slice::from_ref(&s1),
            "[{from}, {to})"
        );
    }
    let middle = normalise(
        app.pull_json(
            "game_sessions",
            &window("2020-10-10 08:00:00", "2020-10-10 09:00:00"),
        )
        .await,
    );
    let ids: Vec<&str> = middle
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s2", "s1"], "ordered by last action, then session id");
    assert_eq!(middle[1], s1);
    assert_eq!(middle[0]["bet_count"], 1);
    assert_eq!(middle[0]["win_count"], 0);
    assert_eq!(middle[0]["win_amount"], "0.000000");
    assert!(app
        .pull_json(
            "game_sessions",
            &window("2020-10-10 10:00:00", "2020-10-10 11:00:00")
        )
        .await
        .is_empty());
    // Written at 12:30, every session comes out in the window of its write
    // too (that is how a late action reaches a consumer; see no_miss.rs).
    let written = app
        .pull_json(
            "game_sessions",
            &window("2020-10-10 12:00:00", "2020-10-10 13:00:00"),
        )
        .await;
    let ids: Vec<&str> = written
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s0", "s2", "s1"]);

    // The CSV says the same.
    let csv = app
        .pull_text(
            "game_sessions",
            &window("2020-10-10 09:00:00", "2020-10-10 10:00:00"),
        )
        .await;
    assert_eq!(
        csv.lines().nth(1).unwrap(),
        "7,s1,sb,Starburst,EUR,3,2,3.100002,10.250000,2020-10-10 07:10:00,2020-10-10 09:59:59,NetEnt,Normal,10.0.0.1,UA,r"
    );
}

async fn session_sums_stay_exact_at_casino_scale(backend: Backend) {
    let app = spawn_app(backend).await;
    let actions: Vec<Value> = (0..9)
        .map(|i| {
            action(
                &format!("big{i}"),
                "whale",
                "bet",
                "1000000000000.000001",
                "2020-10-10 07:00:00",
            )
        })
        .collect();
    app.push_at("2020-10-10 07:30:00", "game_actions", Value::Array(actions))
        .await;
    let rows = app
        .pull_json(
            "game_sessions",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(rows[0]["bet_amount"].to_string(), "9000000000000.000009");
    assert_eq!(rows[0]["bet_count"], 9);
}

mod sums {
    use crate::helpers::{new_database, Backend};
    use hourglass::clock::ManualClock;
    use hourglass::config::Settings;
    use hourglass::datasets::catalog::Catalog;
    use hourglass::datasets::Dataset;
    use hourglass::db;
    use hourglass::ingest::{self, BodyFormat};
    use hourglass::money::Money;
    use hourglass::timestamp::TimeWindow;
    use hourglass::timestamp::Timestamp;
    use hourglass::window::Format;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use std::collections::BTreeMap;

    /// Up to 40 actions over 4 sessions; each amount up to 10^11 units with
    /// six decimals, so a session's total reaches past 10^12 yet fits.
    fn actions() -> impl Strategy<Value = Vec<(u8, bool, i64)>> {
        proptest::collection::vec(
            (0u8..4, any::<bool>(), 0i64..100_000_000_000_000_000),
            1..40,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

        #[test]
        fn session_sums_equal_the_exact_sums_on_sqlite(actions in actions()) {
            check_sums(Backend::Sqlite, actions)?;
        }

        #[test]
        #[cfg_attr(not(hourglass_pg), ignore = "no PostgreSQL binaries were found at build time")]
        fn session_sums_equal_the_exact_sums_on_postgres(actions in actions()) {
            check_sums(Backend::Postgres, actions)?;
        }
    }

    fn check_sums(backend: Backend, actions: Vec<(u8, bool, i64)>) -> Result<(), TestCaseError> {
        {
            let dir = tempfile::tempdir().unwrap();
            let settings = Settings::for_database(new_database(backend, dir.path()));
            let pools = db::open(&settings.database).unwrap();
            let mut conn = pools.write.get().unwrap();
            let rows: Vec<serde_json::Value> = actions
                .iter()
                .enumerate()
                .map(|(i, (session, win, micros))| {
                    let mut row = super::action(
                        &format!("a{i}"),
                        &format!("s{session}"),
                        if *win { "win" } else { "bet" },
                        &Money::from_micros(*micros).to_string(),
                        "2020-10-10 07:00:00",
                    );
                    // Half the amounts arrive as JSON numbers, half as strings.
                    if i % 2 == 0 {
                        row["amount"] =
                            serde_json::from_str(&Money::from_micros(*micros).to_string()).unwrap();
                    }
                    row
                })
                .collect();
            let clock = ManualClock::new(Timestamp::parse("2020-10-10 08:00:00").unwrap());
            let body = serde_json::Value::Array(rows).to_string();
            let catalog = Catalog::load(&mut conn).unwrap();
            ingest::ingest(
                &mut conn,
                &clock,
                catalog.shape(Dataset::named("game_actions")),
                BodyFormat::Json,
                body.as_bytes(),
            )
            .unwrap();

            let mut expected: BTreeMap<String, (i128, i128)> = BTreeMap::new();
            for (session, win, micros) in &actions {
                let totals = expected.entry(format!("s{session}")).or_default();
                if *win {
                    totals.1 += i128::from(*micros)
                } else {
                    totals.0 += i128::from(*micros)
                }
            }
            let window = TimeWindow::new(
                Timestamp::parse("2020-10-10 07:00:00").unwrap(),
                Timestamp::parse("2020-10-10 07:00:01").unwrap(),
            )
            .unwrap();
            let mut count = 0;
            let csv = hourglass::export::window(
                &mut conn,
                catalog.shape(Dataset::named("game_sessions")),
                window,
                Format::Csv,
                Vec::new(),
                &mut count,
            )
            .unwrap();
            let mut got = BTreeMap::new();
            for record in csv::Reader::from_reader(&csv[..]).records() {
                let record = record.unwrap();
                let micros = |i: usize| i128::from(Money::parse(&record[i]).unwrap().as_micros());
                got.insert(record[1].to_string(), (micros(7), micros(8)));
            }
            prop_assert_eq!(got, expected);
        }
        Ok(())
    }
}
