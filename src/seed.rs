//! Deterministic synthetic data for every dataset, written through the real
//! write path.
//!
//! The seed simulates `days` of activity ending at `until`: players register,
//! log in, deposit (a transaction created `New` and updated to `Success`
//! minutes later), play game sessions whose actions span several minutes and
//! often cross an hour, and bet on real events that later settle. The write
//! clock walks through the simulated time, so every row is stamped when it
//! "happened" and windows over the past days hold realistic data. The same
//! options always produce the same rows.

use crate::clock::ManualClock;
use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ingest::fields::{FieldError, Fields};
use crate::ingest::{parse_row, write_batch, Row};
use crate::money::Money;
use crate::timestamp::Timestamp;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub players: u32,
    pub days: u32,
    /// The end of the simulated period (usually now).
    pub until: Timestamp,
    /// Seed of the random generator.
    pub seed: u64,
}

/// How many rows the seed wrote (every version of a row counts) and in how
/// many write batches.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedSummary {
    pub rows: usize,
    pub batches: usize,
}

/// One simulated write: a row of a dataset, as a platform would send it.
type Write = (&'static str, Value);

/// Parents before children, so a puller of one minute sees a bet's event no
/// later than the bet.
const WRITE_ORDER: &[&str] = &[
    "tournaments",
    "events",
    "users",
    "contacts",
    "wallets",
    "logins",
    "transactions",
    "game_actions",
    "bets",
    "bet_selections",
];

/// Writes the simulated period. Rows are generated first (a few hundred
/// bytes each: this is a seed, not an export), sorted by time, and written
/// one minute at a time, each minute's rows of a dataset in one batch. Every
/// row goes through the same validation as a written one.
pub fn seed(conn: &mut DbConnection, options: SeedOptions) -> Result<SeedSummary, ApiError> {
    let catalog = Catalog::load(conn)?;
    let mut writes = generate(options);
    writes.sort_by_key(|(at, _)| *at);
    let clock = ManualClock::new(options.until);
    let mut summary = SeedSummary::default();
    let mut pending: BTreeMap<usize, Vec<Row>> = BTreeMap::new();
    let mut minute = None;
    let mut flush = |pending: &mut BTreeMap<usize, Vec<Row>>, conn: &mut DbConnection| {
        for (order, rows) in std::mem::take(pending) {
            let shape = catalog.shape(Dataset::named(WRITE_ORDER[order]));
            summary.rows += write_batch(conn, &clock, shape, &rows)?.rows;
            summary.batches += 1;
        }
        Ok::<_, ApiError>(())
    };
    for (at, (dataset, object)) in writes {
        let this_minute = at.as_micros().div_euclid(MINUTE);
        if minute != Some(this_minute) {
            flush(&mut pending, conn)?;
            minute = Some(this_minute);
            clock.set(at);
        }
        let order = WRITE_ORDER
            .iter()
            .position(|d| *d == dataset)
            .expect("the seed writes known datasets");
        let shape = catalog.shape(Dataset::named(dataset));
        let object = object.as_object().expect("seed rows are objects");
        let row =
            parse_row(shape, &Fields::Json(object)).map_err(|FieldError { field, reason }| {
                ApiError::InvalidRow {
                    row: 0,
                    field: format!("{dataset}.{field}"),
                    reason,
                }
            })?;
        pending.entry(order).or_default().push(row);
    }
    flush(&mut pending, conn)?;
    Ok(summary)
}

const COUNTRIES: &[(&str, &str, &str)] = &[
    ("DE", "Berlin", "de_DE"),
    ("FI", "Helsinki", "fi_FI"),
    ("BR", "São Paulo", "pt_BR"),
    ("CA", "Toronto", "en_CA"),
    ("NZ", "Auckland", "en_NZ"),
];
const GAMES: &[(&str, &str, &str)] = &[
    ("starburst", "Starburst", "NetEnt"),
    ("book-of-dead", "Book of Dead", "Play'n GO"),
    ("sweet-bonanza", "Sweet Bonanza", "Pragmatic Play"),
    ("lightning-roulette", "Lightning Roulette", "Evolution"),
];
const SPORTS: &[(&str, &str)] = &[("1", "Football"), ("2", "Tennis"), ("3", "Ice Hockey")];
const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36";

fn cents(amount: i64) -> Money {
    Money::from_micros(amount * 10_000)
}

fn time(micros: i64) -> String {
    Timestamp::from_micros(micros).to_string()
}

/// A later version of `row`: the same row with `changes` applied.
fn changed(row: &Value, changes: Value) -> Value {
    let mut row = row.clone();
    for (name, value) in changes.as_object().expect("changes are an object") {
        row[name] = value.clone();
    }
    row
}

fn generate(options: SeedOptions) -> Vec<(Timestamp, Write)> {
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let end = options.until.as_micros();
    let start = end - i64::from(options.days.max(1)) * DAY;
    let at = |micros: i64| Timestamp::from_micros(micros.min(end - 1));
    let mut rows: Vec<(Timestamp, Write)> = Vec::new();

    // The sportsbook: tournaments and their events across the period.
    let mut events = Vec::new();
    for t in 0..(8 + options.days as i64 * 2) {
        let (sport_id, sport_name) = SPORTS[rng.usize(..SPORTS.len())];
        let opens = start + rng.i64(0..(end - start) / 2);
        let tournament = json!({
            "id": format!("t{}", t + 1),
            "name": format!("{sport_name} Cup {}", t + 1),
            "sport_id": sport_id,
            "sport_name": sport_name,
            "country_code": COUNTRIES[rng.usize(..COUNTRIES.len())].0,
            "dateStart": time(opens),
            "dateEnd": time(opens + 14 * DAY),
        });
        rows.push((at(opens), ("tournaments", tournament)));
        for e in 0..10 {
            let id = format!("e{}", t * 100 + e + 1);
            let kickoff = opens + rng.i64(HOUR..(end - opens).max(2 * HOUR));
            let event = json!({
                "id": id,
                "tournament_id": format!("t{}", t + 1),
                "title": format!("Team {} v Team {}", rng.u32(1..40), rng.u32(40..80)),
                "status": "scheduled",
                "startTime": time(kickoff),
                "endTime": time(kickoff + 2 * HOUR),
                "type": "match",
            });
            rows.push((at(opens), ("events", event.clone())));
            rows.push((
                at(kickoff + 2 * HOUR),
                ("events", changed(&event, json!({"status": "finished"}))),
            ));
            events.push((id, kickoff));
        }
    }

    let mut next_id = 1i64;
    let mut fresh_id = || {
        next_id += 1;
        next_id
    };
    for p in 0..i64::from(options.players) {
        let player_id = (p + 1).to_string();
        let registered = start + rng.i64(0..(end - start) * 3 / 4);
        let (country, city, locale) = COUNTRIES[rng.usize(..COUNTRIES.len())];
        let ip = format!("10.{}.{}.{}", rng.u8(..), rng.u8(..), rng.u8(1..255));
        let ref_code = format!("ref{}", rng.u32(100..120));
        let traffic_source = ["google", "affiliate", "direct"][rng.usize(..3)];
        let user = json!({
            "id": player_id,
            "first_name": format!("Player{player_id}"),
            "last_name": (["Smith", "Virtanen", "Silva", "Müller", "O'Brien"][rng.usize(..5)]),
            "gender": (["m", "f"][rng.usize(..2)]),
            "country": country,
            "city": city,
            "ip": ip,
            "birthday": format!("{}-{:02}-{:02}", rng.i32(1950..2004), rng.u32(1..13), rng.u32(1..29)),
            "registered_at": time(registered),
            "ref_code": ref_code,
            "traffic_source": traffic_source,
            "user_agent": AGENT,
            "is_blocked": false,
            "self_excluded": false,
            "locale": locale,
        });
        rows.push((at(registered), ("users", user.clone())));
        let contact = json!({
            "player_id": player_id,
            "email": format!("player{player_id}@example.com"),
            "email_subscribe": rng.bool(),
            "phone": format!("+3585{:08}", rng.u32(..100_000_000)),
            "phone_subscribe": rng.bool(),
            "created_at": time(registered),
        });
        rows.push((at(registered), ("contacts", contact.clone())));
        let confirmed = registered + rng.i64(MINUTE..HOUR);
        rows.push((
            at(confirmed),
            (
                "contacts",
                changed(&contact, json!({"email_confirmed_at": time(confirmed)})),
            ),
        ));
        if rng.u32(..50) == 0 {
            let blocked = registered + rng.i64(HOUR..DAY);
            rows.push((
                at(blocked),
                ("users", changed(&user, json!({"is_blocked": true}))),
            ));
        }

        let currency = if country == "BR" { "BRL" } else { "EUR" };
        let mut balance = Money::ZERO;
        let wallet = |balance: Money| {
            json!({
                "id": format!("w{player_id}"),
                "player_id": player_id,
                "type": "Normal",
                "balance": balance.to_string(),
                "currency": currency,
                "created_at": time(registered),
            })
        };
        rows.push((at(registered), ("wallets", wallet(balance))));

        // Visits: a login, then perhaps a deposit, a game session, a bet.
        let mut visit = registered + rng.i64(0..HOUR);
        while visit < end {
            let success = rng.u32(..10) > 0;
            rows.push((
                at(visit),
                (
                    "logins",
                    json!({
                        "id": fresh_id().to_string(),
                        "player_id": player_id,
                        "ip": ip,
                        "created_at": time(visit),
                        "ref_code": ref_code,
                        "traffic_source": traffic_source,
                        "user_agent": AGENT,
                        "host": "casino.example.com",
                        "is_success": u8::from(success),
                        "fail_reason": (!success).then_some("wrong password"),
                    }),
                ),
            ));
            let mut now = visit + rng.i64(10_000_000..MINUTE);
            if success && (balance < cents(500) || rng.u32(..4) == 0) {
                let amount = cents(rng.i64(10..50) * 500);
                let deposit = json!({
                    "id": fresh_id().to_string(),
                    "player_id": player_id,
                    "amount": amount.to_string(),
                    "currency": currency,
                    "type": "Normal",
                    "status": "New",
                    "payment_system": (["Visa", "Skrill", "Trustly"][rng.usize(..3)]),
                    "dir": "IN",
                    "created_at": time(now),
                    "invoice_id": format!("inv-{player_id}-{now}"),
                    "wallet_id": format!("w{player_id}"),
                    "user_agent": AGENT,
                    "ip": ip,
                    "requisite": format!("4111 **** **** {:04}", rng.u32(..10_000)),
                });
                rows.push((at(now), ("transactions", deposit.clone())));
                now += rng.i64(30_000_000..5 * MINUTE);
                rows.push((
                    at(now),
                    (
                        "transactions",
                        changed(&deposit, json!({"status": "Success"})),
                    ),
                ));
                balance = Money::from_micros(balance.as_micros() + amount.as_micros());
                rows.push((at(now), ("wallets", wallet(balance))));
            }
            if success && balance > Money::ZERO && rng.u32(..3) < 2 {
                // A game session: bets and wins over minutes, often across an hour.
                let (code, name, vendor) = GAMES[rng.usize(..GAMES.len())];
                let session_id = format!("s{}", fresh_id());
                for _ in 0..rng.u32(2..30) {
                    now += rng.i64(5_000_000..3 * MINUTE);
                    let bet = cents(rng.i64(1..20) * 10);
                    for (action, amount) in [("bet", bet), ("win", cents(rng.i64(0..40) * 10))] {
                        if action == "win" && (amount == Money::ZERO || rng.bool()) {
                            continue;
                        }
                        balance = Money::from_micros(match action {
                            "bet" => balance.as_micros() - amount.as_micros(),
                            _ => balance.as_micros() + amount.as_micros(),
                        });
                        rows.push((
                            at(now),
                            (
                                "game_actions",
                                json!({
                                    "id": format!("a{}", fresh_id()),
                                    "session_id": session_id,
                                    "player_id": player_id,
                                    "game_code": code,
                                    "game_name": name,
                                    "game_vendor": vendor,
                                    "currency": currency,
                                    "balance_type": "Normal",
                                    "action": action,
                                    "amount": amount.to_string(),
                                    "ip": ip,
                                    "user_agent": AGENT,
                                    "ref_code": ref_code,
                                    "created_at": time(now),
                                }),
                            ),
                        ));
                    }
                }
                rows.push((at(now), ("wallets", wallet(balance))));
            }
            let open_events: Vec<&(String, i64)> = events
                .iter()
                .filter(|(_, kickoff)| *kickoff > now)
                .take(3)
                .collect();
            if success && !open_events.is_empty() && rng.u32(..3) == 0 {
                let stake = cents(rng.i64(1..10) * 100);
                let bet_id = fresh_id().to_string();
                let bet = json!({
                    "id": bet_id,
                    "player_id": player_id,
                    "status": "open",
                    "type": if open_events.len() > 1 { "express" } else { "single" },
                    "stake": stake.to_string(),
                    "currency": currency,
                    "kind": "Normal",
                    "created_at": time(now),
                    "user_agent": AGENT,
                });
                rows.push((at(now), ("bets", bet.clone())));
                let mut settles = now;
                for (event_id, kickoff) in &open_events {
                    let selection = json!({
                        "id": fresh_id().to_string(),
                        "bet_id": bet_id,
                        "event_id": event_id,
                        "ratio": Money::from_micros(rng.i64(110..400) * 10_000).to_string(),
                        "status": "open",
                        "market": (["1X2", "Total over 2.5", "Handicap -1"][rng.usize(..3)]),
                        "created_at": time(now),
                    });
                    rows.push((at(now), ("bet_selections", selection.clone())));
                    let finished = kickoff + 2 * HOUR;
                    settles = settles.max(finished);
                    let won = rng.bool();
                    rows.push((
                        at(finished),
                        (
                            "bet_selections",
                            changed(
                                &selection,
                                json!({"status": if won { "won" } else { "lost" }}),
                            ),
                        ),
                    ));
                }
                let won = rng.u32(..3) == 0;
                let win_amount = if won {
                    Money::from_micros(stake.as_micros() * 3)
                } else {
                    Money::ZERO
                };
                rows.push((
                    at(settles),
                    (
                        "bets",
                        changed(
                            &bet,
                            json!({
                                "status": if won { "won" } else { "lost" },
                                "win_amount": win_amount.to_string(),
                            }),
                        ),
                    ),
                ));
            }
            visit = now + rng.i64(2 * HOUR..30 * HOUR);
        }
    }
    rows
}
