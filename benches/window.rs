//! The database side, without HTTP, on a real SQLite file:
//! - a `transactions` window (query + CSV encoding),
//! - a `game_sessions` window (session look-up + aggregation + CSV),
//! - the write path (upsert batches of 10,000 rows, already parsed).
//!
//! Ids are UUIDs, as operators send them.
//!
//! `cargo bench --bench window`; `HOURGLASS_BENCH_ROWS` sets the table size
//! (default 1,000,000; seeding it takes a while, once per run).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hourglass::clock::ManualClock;
use hourglass::config::Settings;
use hourglass::datasets::catalog::{Catalog, Shape};
use hourglass::datasets::Dataset;
use hourglass::db::{self, Pools};
use hourglass::ingest::{fields::Fields, parse_row, write_batch, Row};
use hourglass::money::Money;
use hourglass::timestamp::{TimeWindow, Timestamp};
use hourglass::window::Format;
use serde_json::{json, Value};
use std::hint::black_box;

mod fixtures;
use fixtures::{time, transaction, uuid, START};
use std::io::{self, Write};

const BATCH: i64 = 10_000;

fn rows() -> i64 {
    std::env::var("HOURGLASS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// About ten actions per session, sessions spread over the whole period.
fn action(id: i64, rows: i64) -> Value {
    let sessions = (rows / 10).max(1);
    let session = id % sessions;
    json!({"id": uuid(id), "session_id": uuid(session), "player_id": uuid(session % 50_000),
        "game_code": "starburst", "game_name": "Starburst", "game_vendor": "NetEnt", "currency": "EUR",
        "balance_type": "Normal", "action": if id % 3 == 0 { "win" } else { "bet" },
        "amount": Money::from_micros(100_000 + id % 7 * 10_000).to_string(),
        "created_at": time(START + session * 36_000_000 + (id / sessions) * 60_000_000)})
}

/// Validated rows, as the write path has them after parsing a body.
fn parsed(shape: &Shape, objects: impl Iterator<Item = Value>) -> Vec<Row> {
    objects
        .map(|o| parse_row(shape, &Fields::Json(o.as_object().unwrap())).unwrap())
        .collect()
}

fn seeded(rows: i64) -> (tempfile::TempDir, Pools, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_database(dir.path().join("bench.db").to_str().unwrap());
    let pools = db::open(&settings.database).unwrap();
    let mut conn = pools.write.get().unwrap();
    let catalog = Catalog::load(&mut conn).unwrap();
    let transactions = catalog.shape(Dataset::named("transactions"));
    let actions = catalog.shape(Dataset::named("game_actions"));
    for start in (0..rows).step_by(BATCH as usize) {
        let end = (start + BATCH).min(rows);
        // Stamps one microsecond per row apart, the whole table in the window.
        let clock = ManualClock::new(Timestamp::from_micros(START + start));
        let batch = parsed(transactions, (start..end).map(transaction));
        write_batch(&mut conn, &clock, transactions, &batch).unwrap();
        let batch = parsed(actions, (start..end).map(|i| action(i, rows)));
        write_batch(&mut conn, &clock, actions, &batch).unwrap();
    }
    drop(conn);
    (dir, pools, catalog)
}

/// Counts bytes, as a socket would take them.
struct Sink(u64);

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0 += data.len() as u64;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn bench_windows(c: &mut Criterion) {
    let rows = rows();
    let (_dir, pools, catalog) = seeded(rows);
    let transactions = catalog.shape(Dataset::named("transactions"));
    let mut conn = pools.read.get().unwrap();
    let all = TimeWindow::new(Timestamp::from_micros(0), Timestamp::from_micros(i64::MAX)).unwrap();
    let span = rows / 10 * 36_000_000;
    let tenth = TimeWindow::new(
        Timestamp::from_micros(START),
        Timestamp::from_micros(START + span / 10),
    )
    .unwrap();

    let mut group = c.benchmark_group("window");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(rows as u64));
    for format in [Format::Csv, Format::Json] {
        group.bench_function(format!("transactions/{}", format.extension()), |b| {
            b.iter(|| {
                let mut count = 0;
                black_box(
                    hourglass::export::window(
                        &mut conn,
                        transactions,
                        all,
                        format,
                        Sink(0),
                        &mut count,
                    )
                    .unwrap(),
                );
            })
        });
    }
    group.bench_function("game_sessions/a tenth of the sessions", |b| {
        b.iter(|| {
            let mut count = 0;
            black_box(
                hourglass::export::window(
                    &mut conn,
                    catalog.shape(Dataset::named("game_sessions")),
                    tenth,
                    Format::Csv,
                    Sink(0),
                    &mut count,
                )
                .unwrap(),
            );
        })
    });
    group.finish();
    drop(conn);

    let mut group = c.benchmark_group("write");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(BATCH as u64));
    let mut conn = pools.write.get().unwrap();
    let clock = ManualClock::new(Timestamp::now());
    let mut next = rows;
    group.bench_function("transactions/upsert 10,000", |b| {
        b.iter_batched(
            || {
                next += BATCH;
                parsed(transactions, (next - BATCH..next).map(transaction))
            },
            |batch| write_batch(&mut conn, &clock, transactions, &batch).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_windows);
criterion_main!(benches);
