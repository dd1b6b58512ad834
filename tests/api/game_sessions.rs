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

/// Kept totals against a model: any sequence of writes (new actions, and
/// actions sent again with another session, kind, amount, time or IP) and
/// deletes leaves every hour's sessions, their totals and their count as
/// the rule computes them from the actions there are: a session is in a
/// window when one of its actions happened or was written in it, or a write
/// changed the session in it (an action left it, or was deleted).
mod kept {
    use crate::helpers::{new_database, Backend};
    use hourglass::clock::ManualClock;
    use hourglass::config::Settings;
    use hourglass::datasets::catalog::Catalog;
    use hourglass::datasets::Dataset;
    use hourglass::db;
    use hourglass::ingest::{self, BodyFormat};
    use hourglass::money::Money;
    use hourglass::timestamp::{TimeWindow, Timestamp};
    use hourglass::window::Format;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use std::collections::BTreeMap;

    /// An action as sent: (id, session, win, amount in millionths, minute
    /// it happened after 00:00, IP or none).
    type Sent = (u8, u8, bool, i64, i64, Option<u8>);

    #[derive(Debug, Clone)]
    enum Op {
        Write(Vec<Sent>),
        Delete(Vec<u8>),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let sent = (
            0u8..14,
            0u8..4,
            any::<bool>(),
            -1_000_000i64..1_000_000_000,
            0i64..360,
            proptest::option::of(0u8..3),
        );
        let op = prop_oneof![
            4 => proptest::collection::vec(sent, 1..6).prop_map(Op::Write),
            1 => proptest::collection::vec(0u8..14, 1..4).prop_map(Op::Delete),
        ];
        proptest::collection::vec(op, 1..16)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        #[test]
        fn kept_sessions_follow_their_actions_on_sqlite(ops in ops()) {
            check(Backend::Sqlite, ops)?;
        }

        #[test]
        #[cfg_attr(not(hourglass_pg), ignore = "no PostgreSQL binaries were found at build time")]
        fn kept_sessions_follow_their_actions_on_postgres(ops in ops()) {
            check(Backend::Postgres, ops)?;
        }
    }

    /// A stored action in the model: the sent fields and its stamp.
    #[derive(Clone)]
    struct Kept {
        sent: Sent,
        stamp: i64,
    }

    fn at(minute: i64) -> Timestamp {
        let midnight = Timestamp::parse("2020-10-10 00:00:00").unwrap();
        Timestamp::from_micros(midnight.as_micros() + minute * 60_000_000)
    }

    fn check(backend: Backend, ops: Vec<Op>) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_database(new_database(backend, dir.path()));
        let pools = db::open(&settings.database).unwrap();
        let mut conn = pools.write.get().unwrap();
        let catalog = Catalog::load(&mut conn).unwrap();
        let actions = catalog.shape(Dataset::named("game_actions"));
        let sessions = catalog.shape(Dataset::named("game_sessions"));
        let mut model: BTreeMap<u8, Kept> = BTreeMap::new();
        // Each session's own stamp: the last write that changed it, which
        // includes an action sent again into another session, and a delete.
        let mut stamps: BTreeMap<u8, i64> = BTreeMap::new();
        for (n, op) in ops.iter().enumerate() {
            // Every write at its own minute, some before the actions they
            // carry and some after (late actions).
            let now = at(n as i64 * 23 + 1);
            let clock = ManualClock::new(now);
            match op {
                Op::Write(sent) => {
                    let rows: Vec<serde_json::Value> = sent
                        .iter()
                        .map(|&(id, session, win, micros, minute, ip)| {
                            let mut row = super::action(
                                &format!("a{id}"),
                                &format!("s{session}"),
                                if win { "win" } else { "bet" },
                                &Money::from_micros(micros).to_string(),
                                &at(minute).to_string(),
                            );
                            row["ip"] = ip.map_or(serde_json::Value::Null, |ip| {
                                format!("10.0.0.{ip}").into()
                            });
                            row
                        })
                        .collect();
                    let body = serde_json::Value::Array(rows).to_string();
                    ingest::ingest(
                        &mut conn,
                        &clock,
                        actions,
                        BodyFormat::Json,
                        body.as_bytes(),
                    )
                    .unwrap();
                    // A batch that repeats an id stores its last row.
                    let last: BTreeMap<u8, &Sent> =
                        sent.iter().map(|sent| (sent.0, sent)).collect();
                    for sent in last.into_values() {
                        let old = model.insert(
                            sent.0,
                            Kept {
                                sent: *sent,
                                stamp: now.as_micros(),
                            },
                        );
                        for session in old.map(|old| old.sent.1).into_iter().chain([sent.1]) {
                            stamps.insert(session, now.as_micros());
                        }
                    }
                }
                Op::Delete(ids) => {
                    let keys: Vec<String> = ids.iter().map(|id| format!("a{id}")).collect();
                    ingest::delete::delete(&mut conn, &clock, actions, &keys).unwrap();
                    let touched: Vec<u8> = ids
                        .iter()
                        .filter_map(|id| model.remove(id))
                        .map(|k| k.sent.1)
                        .collect();
                    // What is left of their sessions is stamped again.
                    for kept in model.values_mut() {
                        if touched.contains(&kept.sent.1) {
                            kept.stamp = now.as_micros();
                        }
                    }
                    for session in touched {
                        stamps.insert(session, now.as_micros());
                    }
                }
            }
        }
        // Every hour; windows of whole hours, found on the sessions' hours;
        // windows with partial first and last hours, or shorter than an
        // hour, found on the actions too.
        let hours = (0..8).map(|hour| (hour * 60, hour * 60 + 60));
        let more = [
            (0, 480),
            (60, 240),
            (30, 135),
            (239, 361),
            (130, 160),
            (61, 119),
        ];
        for (from, to) in hours.chain(more) {
            let window = TimeWindow::new(at(from), at(to)).unwrap();
            let hour = format!("[{from}, {to}) min");
            let inside = |t: i64| t >= window.from().as_micros() && t < window.to().as_micros();
            let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for session in 0u8..4 {
                let of: Vec<&Kept> = model.values().filter(|k| k.sent.1 == session).collect();
                let in_window = stamps.get(&session).is_some_and(|&t| inside(t))
                    || of
                        .iter()
                        .any(|k| inside(at(k.sent.4).as_micros()) || inside(k.stamp));
                if of.is_empty() || !in_window {
                    continue;
                }
                let sum = |win: bool| -> i64 {
                    of.iter()
                        .filter(|k| k.sent.2 == win)
                        .map(|k| k.sent.3)
                        .sum()
                };
                let count = |win: bool| of.iter().filter(|k| k.sent.2 == win).count().to_string();
                let times = of.iter().map(|k| k.sent.4);
                let ip = of.iter().filter_map(|k| k.sent.5).min();
                expected.insert(
                    format!("s{session}"),
                    vec![
                        count(false),
                        count(true),
                        Money::from_micros(sum(false)).to_string(),
                        Money::from_micros(sum(true)).to_string(),
                        at(times.clone().min().unwrap()).to_string(),
                        at(times.max().unwrap()).to_string(),
                        ip.map_or(String::new(), |ip| format!("10.0.0.{ip}")),
                    ],
                );
            }
            let mut rows = 0;
            let csv = hourglass::export::window(
                &mut conn,
                sessions,
                window,
                Format::Csv,
                Vec::new(),
                &mut rows,
            )
            .unwrap();
            let mut got = BTreeMap::new();
            for record in csv::Reader::from_reader(&csv[..]).records() {
                let record = record.unwrap();
                let money = |i: usize| Money::parse(&record[i]).unwrap().to_string();
                let fields = vec![
                    record[5].to_string(),
                    record[6].to_string(),
                    money(7),
                    money(8),
                    record[9].to_string(),
                    record[10].to_string(),
                    record[13].to_string(),
                ];
                prop_assert!(
                    got.insert(record[1].to_string(), fields).is_none(),
                    "a session twice in hour {}",
                    hour
                );
            }
            prop_assert_eq!(&got, &expected, "hour {}", hour);
            prop_assert_eq!(
                sessions.count(&mut conn, window).unwrap(),
                expected.len() as i64,
                "count, hour {}",
                hour
            );
        }
        Ok(())
    }
}
