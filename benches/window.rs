//! The database side, without HTTP, on a real SQLite file:
//! - a `transactions` window (query + CSV encoding),
//! - a `game_sessions` window (session look-up + aggregation + CSV),
//! - the write path (upsert batches of 10,000 rows).
//!
//! `cargo bench --bench window`; `HOURGLASS_BENCH_ROWS` sets the table size
//! (default 1,000,000; seeding it takes a while, once per run).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hourglass::clock::ManualClock;
use hourglass::config::Settings;
use hourglass::datasets::game_actions::GameAction;
use hourglass::datasets::transactions::Transaction;
use hourglass::datasets::{export_window, Dataset};
use hourglass::db::{self, Pools};
use hourglass::ingest::write_batch;
use hourglass::money::Money;
use hourglass::timestamp::Timestamp;
use hourglass::window::{Format, TimeWindow};
use std::hint::black_box;
use std::io::{self, Write};

const START: i64 = 1_602_313_200_000_000;
const BATCH: i64 = 10_000;

fn rows() -> i64 {
    std::env::var("HOURGLASS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn transaction(id: i64) -> Transaction {
    Transaction {
        id,
        player_id: id % 50_000,
        amount: Money::from_micros(id * 12_345),
        currency: "EUR".into(),
        type_: Some("Normal".into()),
        status: Some("Success".into()),
        payment_system: Some("Visa".into()),
        dir: "IN".into(),
        created_at: Timestamp::from_micros(START + id * 1_000),
        updated_at: Timestamp::from_micros(0),
        invoice_id: Some(format!("inv-{id}")),
        wallet_id: Some(id % 50_000),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
        ip: Some("10.1.2.3".into()),
        requisite: Some("4111 **** **** 1111".into()),
        comment: None,
    }
}

/// About ten actions per session, sessions spread over the whole period.
fn action(id: i64, rows: i64) -> GameAction {
    let sessions = (rows / 10).max(1);
    let session = id % sessions;
    GameAction {
        id: format!("a{id}"),
        session_id: format!("s{session}"),
        player_id: session % 50_000,
        game_code: Some("starburst".into()),
        game_name: "Starburst".into(),
        game_vendor: Some("NetEnt".into()),
        currency: "EUR".into(),
        balance_type: Some("Normal".into()),
        action: if id % 3 == 0 { "win" } else { "bet" }.into(),
        amount: Money::from_micros(100_000 + id % 7 * 10_000),
        ip: None,
        user_agent: None,
        ref_code: None,
        created_at: Timestamp::from_micros(
            START + session * 36_000_000 + (id / sessions) * 60_000_000,
        ),
        modified_at: Timestamp::from_micros(0),
    }
}

fn seeded(rows: i64) -> (tempfile::TempDir, Pools) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_database(dir.path().join("bench.db").to_str().unwrap());
    let pools = db::open(&settings.database).unwrap();
    let mut conn = pools.write.get().unwrap();
    for start in (0..rows).step_by(BATCH as usize) {
        let end = (start + BATCH).min(rows);
        // Stamps one microsecond per row apart, the whole table in the window.
        let clock = ManualClock::new(Timestamp::from_micros(START + start));
        write_batch(
            &mut conn,
            &clock,
            Dataset::Transactions,
            (start..end).map(transaction).collect(),
        )
        .unwrap();
        write_batch(
            &mut conn,
            &clock,
            Dataset::GameActions,
            (start..end).map(|i| action(i, rows)).collect(),
        )
        .unwrap();
    }
    drop(conn);
    (dir, pools)
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
    let (_dir, pools) = seeded(rows);
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
                    export_window(
                        &mut conn,
                        Dataset::Transactions,
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
                export_window(
                    &mut conn,
                    Dataset::GameSessions,
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
        b.iter(|| {
            let batch: Vec<Transaction> = (next..next + BATCH).map(transaction).collect();
            next += BATCH;
            write_batch(&mut conn, &clock, Dataset::Transactions, batch).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_windows);
criterion_main!(benches);
