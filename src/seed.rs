//! Deterministic synthetic data for every dataset, written through the real
//! write path: the demo's casino and sportsbook.
//!
//! The seed simulates `days` of a casino and sportsbook ending at `until`
//! (see `players` and `sportsbook` for what happens in it, and `world` for
//! the names, games and teams it draws from). Every change is recorded on a
//! [`Timeline`] at the moment it happens; changes after `until` have not
//! happened yet and are left out (bets stay open, events scheduled). The
//! timeline is then written one minute at a time, on a clock set to that
//! minute's last change, so no row is stamped before what it records. Rows
//! are checked as they are recorded, by the same validation as a written
//! row; each minute's upserts share one stamp, and deletes go through the
//! same delete as the API's. The same options always produce the same rows.

mod players;
mod sportsbook;
mod world;

use crate::clock::ManualClock;
use crate::datasets::catalog::Catalog;
use crate::datasets::sql;
use crate::datasets::Dataset;
use crate::db::{self, DbConnection, StorageError};
use crate::ingest::fields::Fields;
use crate::ingest::{delete, parse_row, Row};
use crate::money::Money;
use crate::timestamp::Timestamp;
use diesel::Connection;
use serde_json::Value;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
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

/// How many rows the seed wrote (every version of a row counts, and every
/// delete) and under how many stamps (about one per simulated minute).
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedSummary {
    pub rows: usize,
    pub stamps: usize,
}

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

fn write_order(dataset: &str) -> usize {
    WRITE_ORDER
        .iter()
        .position(|d| *d == dataset)
        .expect("the seed writes known datasets")
}

/// A change to a row of `WRITE_ORDER[dataset]`.
#[derive(Debug, PartialEq)]
enum Change {
    Upsert(Row),
    Delete(String),
}

/// Every change of the simulated period, when it happened. Rows are parsed
/// as they are recorded: a parsed row is a fraction of its JSON's size.
pub(crate) struct Timeline<'c> {
    catalog: &'c Catalog,
    start: i64,
    end: i64,
    changes: Vec<(i64, usize, Change)>,
}

impl Timeline<'_> {
    /// Records this version of a row as written at `at`, unless that is
    /// still in the future. What happened before the period is written at
    /// its start, as the platform's initial load.
    fn upsert(&mut self, at: i64, dataset: &'static str, row: &Value) {
        if at >= self.end {
            return;
        }
        let at = at.max(self.start);
        let shape = self.catalog.shape(Dataset::named(dataset));
        let object = row.as_object().expect("seed rows are objects");
        let row = parse_row(shape, &Fields::Json(object)).unwrap_or_else(|e| {
            panic!(
                "the seed wrote a bad {dataset} row: {} {}",
                e.field, e.reason
            )
        });
        self.changes
            .push((at, write_order(dataset), Change::Upsert(row)));
    }

    /// Records the delete of a row at `at`, unless that is still in the future.
    fn delete(&mut self, at: i64, dataset: &'static str, key: &str) {
        if at < self.end {
            self.changes
                .push((at, write_order(dataset), Change::Delete(key.to_string())));
        }
    }
}

/// What every part of the simulation draws on: the random generator, fresh
/// ids, and the timeline it records its changes on.
struct Sim<'c> {
    rng: fastrand::Rng,
    ids: Ids,
    timeline: Timeline<'c>,
}

/// Fresh ids for every row that needs one, as an operator's database hands
/// them out.
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> String {
        self.0 += 1;
        self.0.to_string()
    }
}

/// Every change of the simulated period, in time order.
fn simulate(catalog: &Catalog, options: SeedOptions) -> Vec<(i64, usize, Change)> {
    let end = options.until.as_micros();
    let mut sim = Sim {
        rng: fastrand::Rng::with_seed(options.seed),
        ids: Ids(1_000_000),
        timeline: Timeline {
            catalog,
            start: end - i64::from(options.days.max(1)) * DAY,
            end,
            changes: Vec::new(),
        },
    };
    let book = sportsbook::Sportsbook::schedule(&mut sim);
    players::simulate(&mut sim, &book, options.players);
    let mut changes = sim.timeline.changes;
    // Stable: two versions of a row recorded at one moment keep their order.
    changes.sort_by_key(|(at, _, _)| *at);
    changes
}

/// Writes the simulated period (see the module doc).
pub fn seed(conn: &mut DbConnection, options: SeedOptions) -> Result<SeedSummary, StorageError> {
    let catalog = Catalog::load(conn)?;
    let changes = simulate(&catalog, options);
    let clock = ManualClock::new(options.until);
    db::prepare_for_bulk_write(conn)?;
    let mut summary = SeedSummary::default();
    let counts = crate::feeds::Tally::default();
    let mut minute: Vec<(i64, usize, Change)> = Vec::new();
    let mut changes = changes.into_iter().peekable();
    while let Some(&(first, _, _)) = changes.peek() {
        // One transaction per simulated hour, each minute a savepoint in it
        // with a stamp of its own: a commit every minute would write the
        // same index pages to the log sixty times over (13 s against 7 s
        // for the demo).
        let hour = first.div_euclid(HOUR);
        conn.transaction(|conn| {
            while let Some(change) = changes.next_if(|c| c.0.div_euclid(HOUR) == hour) {
                let this_minute = change.0.div_euclid(MINUTE);
                minute.push(change);
                if changes
                    .peek()
                    .is_some_and(|(at, _, _)| at.div_euclid(MINUTE) == this_minute)
                {
                    continue;
                }
                write_minute(conn, &clock, &catalog, &mut minute, &mut summary, &counts)?;
            }
            // The hour's write counters, with its rows (`feeds.rs`).
            counts.flush(conn)?;
            Ok::<_, StorageError>(())
        })?;
    }
    Ok(summary)
}

/// Writes one minute's changes, stamped no earlier than its last: its
/// upserts under one stamp (parents first), then its deletes, each a
/// savepoint in the hour's transaction.
fn write_minute(
    conn: &mut DbConnection,
    clock: &ManualClock,
    catalog: &Catalog,
    minute: &mut Vec<(i64, usize, Change)>,
    summary: &mut SeedSummary,
    counts: &crate::feeds::Tally,
) -> Result<(), StorageError> {
    let shape = |order: usize| catalog.shape(Dataset::named(WRITE_ORDER[order]));
    clock.set(Timestamp::from_micros(minute.last().expect("one change").0));
    minute.sort_by_key(|(_, order, _)| *order);
    let mut upserts: Vec<(usize, Vec<Row>)> = Vec::new();
    let mut deletes: Vec<(usize, Vec<String>)> = Vec::new();
    for (_, order, change) in minute.drain(..) {
        match change {
            Change::Upsert(row) => push_grouped(&mut upserts, order, row),
            Change::Delete(key) => push_grouped(&mut deletes, order, key),
        }
    }
    if !upserts.is_empty() {
        summary.rows += db::write_transaction(conn, clock, |conn, stamp| {
            let mut rows = 0;
            for (order, batch) in &upserts {
                let stored = sql::upsert(conn, shape(*order), batch, stamp)?;
                counts.add(WRITE_ORDER[*order], stored, stamp);
                rows += stored;
            }
            Ok::<_, StorageError>(rows)
        })?;
        summary.stamps += 1;
    }
    for (order, keys) in &deletes {
        let deleted = delete::delete(conn, clock, shape(*order), keys)?;
        if let Some(stamp) = deleted.stamp {
            counts.add("deletions", deleted.deleted, stamp);
        }
        summary.rows += deleted.deleted;
        summary.stamps += 1;
    }
    Ok(())
}

/// Appends `item` to the last group if it is `order`'s, else starts one.
fn push_grouped<T>(groups: &mut Vec<(usize, Vec<T>)>, order: usize, item: T) {
    match groups.last_mut() {
        Some((last, items)) if *last == order => items.push(item),
        _ => groups.push((order, vec![item])),
    }
}

/// `row` with `changes` applied: a later version of the same row.
fn with(row: &Value, changes: Value) -> Value {
    let mut row = row.clone();
    for (name, value) in changes.as_object().expect("changes are an object") {
        row[name] = value.clone();
    }
    row
}

fn time(micros: i64) -> String {
    Timestamp::from_micros(micros).to_string()
}

/// The calendar date (`YYYY-MM-DD`) of an instant.
fn date(micros: i64) -> String {
    time(micros)[..10].to_string()
}

/// An amount of cents as a decimal: `1250` → `12.500000`.
fn cents_text(cents: i64) -> String {
    Money::from_micros(cents * 10_000).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_options_make_the_same_changes_and_another_seed_others() {
        let catalog = Catalog::new(Vec::new());
        let options = SeedOptions {
            players: 50,
            days: 1,
            until: Timestamp::parse("2026-11-24 12:00:00").unwrap(),
            seed: 1,
        };
        let once = simulate(&catalog, options);
        assert!(once.len() > 1000, "{}", once.len());
        assert!(once == simulate(&catalog, options));
        assert!(once != simulate(&catalog, SeedOptions { seed: 2, ..options }));
    }
}
