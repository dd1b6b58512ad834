//! proptest: for random writes and random cut points, consecutive windows
//! partition the rows of every dataset windowed on the write stamp. Every
//! row's latest version is in exactly one window; no row is missing.
//!
//! This runs the library's window queries on a real database file rather
//! than over HTTP, so that proptest can try many cases quickly; the HTTP
//! layer on top is covered by the `pull` tests.

use crate::helpers::{new_database, Backend};
use hourglass::clock::ManualClock;
use hourglass::config::Settings;
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::Dataset;
use hourglass::db;
use hourglass::ingest::{self, BodyFormat};
use hourglass::timestamp::{TimeWindow, Timestamp};
use hourglass::window::Format;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeMap;

const START: i64 = 1_602_313_200_000_000; // 2020-10-10 07:00:00
const SPAN: i64 = 3_600_000_000; // an hour of writes

/// One write: at `offset` µs after START, rows with these ids (a small id
/// space, so rows are rewritten often).
fn writes() -> impl Strategy<Value = Vec<(i64, Vec<i64>)>> {
    proptest::collection::vec((0..SPAN, proptest::collection::vec(1i64..30, 1..5)), 1..25)
}

fn cuts() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::vec(0..SPAN, 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn consecutive_windows_partition_every_stamped_dataset_on_sqlite(writes in writes(), cuts in cuts()) {
        check_partition(Backend::Sqlite, writes, cuts)?;
    }

    #[test]
    #[cfg_attr(not(hourglass_pg), ignore = "no PostgreSQL binaries were found at build time")]
    fn consecutive_windows_partition_every_stamped_dataset_on_postgres(writes in writes(), cuts in cuts()) {
        check_partition(Backend::Postgres, writes, cuts)?;
    }
}

fn check_partition(
    backend: Backend,
    mut writes: Vec<(i64, Vec<i64>)>,
    cuts: Vec<i64>,
) -> Result<(), TestCaseError> {
    {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_database(new_database(backend, dir.path()));
        let pools = db::open(&settings.database).unwrap();
        let mut conn = pools.write.get().unwrap();
        writes.sort_by_key(|(offset, _)| *offset);

        let catalog = Catalog::load(&mut conn).unwrap();
        for (dataset, _) in crate::helpers::stamped() {
            let dataset = Dataset::named(dataset);
            let shape = catalog.shape(dataset);
            // The expected final state: each id's last write, by write order.
            let mut latest: BTreeMap<i64, usize> = BTreeMap::new();
            for (version, (offset, ids)) in writes.iter().enumerate() {
                let clock = ManualClock::new(Timestamp::from_micros(START + offset));
                let rows: Vec<serde_json::Value> = ids
                    .iter()
                    .map(|id| crate::helpers::sample_row(dataset.name(), *id))
                    .collect();
                let body = serde_json::Value::Array(rows).to_string();
                ingest::ingest(&mut conn, &clock, shape, BodyFormat::Json, body.as_bytes())
                    .unwrap();
                for id in ids {
                    latest.insert(*id, version);
                }
            }

            // Consecutive windows [START, c1), [c1, c2), ..., [cn, START + SPAN + 1h).
            let mut points: Vec<i64> = cuts.iter().map(|c| START + c).collect();
            points.push(START);
            points.push(START + 2 * SPAN);
            points.sort();
            points.dedup();
            let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
            for pair in points.windows(2) {
                let window = TimeWindow::new(
                    Timestamp::from_micros(pair[0]),
                    Timestamp::from_micros(pair[1]),
                )
                .unwrap();
                let mut rows = 0;
                let csv = hourglass::export::window(
                    &mut conn,
                    shape,
                    window,
                    Format::Csv,
                    Vec::new(),
                    &mut rows,
                )
                .unwrap();
                for record in csv::Reader::from_reader(&csv[..]).records() {
                    *seen.entry(record.unwrap()[0].parse().unwrap()).or_default() += 1;
                }
            }
            let expected: BTreeMap<i64, usize> = latest.keys().map(|id| (*id, 1)).collect();
            prop_assert_eq!(
                &seen,
                &expected,
                "{}: every row exactly once",
                dataset.name()
            );
        }
    }
    Ok(())
}
