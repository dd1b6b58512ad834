//! The pure encoders: 100,000 rows of `transactions` and `users` into CSV,
//! JSON and NDJSON, in memory, as a pull hands them over (slots read from
//! the database, turned into cells by their column kinds). Ids are UUIDs.
//! `cargo bench --bench encode`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hourglass::datasets::catalog::{Catalog, Shape};
use hourglass::datasets::column::Kind;
use hourglass::datasets::Dataset;
use hourglass::db::row::{RowBuf, Value as StoredValue};
use hourglass::encode::Encoder;
use hourglass::ingest::{fields::Fields, parse_row};
use hourglass::window::Format;
use serde_json::{json, Value};
use std::hint::black_box;

mod fixtures;
use fixtures::{time, transaction, uuid, START};

const ROWS: i64 = 100_000;

fn user(i: i64) -> Value {
    json!({"id": uuid(i), "first_name": "Ann", "last_name": "O'Neil, Jr", "gender": "f", "country": "FI",
        "city": "Espoo", "ip": "10.1.2.3", "birthday": "1990-02-03", "registered_at": time(START),
        "ref_code": "ref1", "traffic_source": "google", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "is_blocked": false, "locale": "fi_FI"})
}

/// Rows of `shape` as a pull reads them, the stamp set.
fn rows(shape: &Shape, make: fn(i64) -> Value) -> Vec<RowBuf> {
    (0..ROWS)
        .map(|i| {
            let object = make(i);
            let mut values = parse_row(shape, &Fields::Json(object.as_object().unwrap())).unwrap();
            values[shape.stamp.unwrap()] = StoredValue::Int(START + i * 1_000_000);
            RowBuf::from_values(&values)
        })
        .collect()
}

fn encode_all(shape: &Shape, rows: &[RowBuf], format: Format) -> usize {
    let names: Vec<&str> = shape.columns.iter().map(|c| c.name.as_ref()).collect();
    let kinds: Vec<Kind> = shape.columns.iter().map(|c| c.kind).collect();
    let mut encoder = Encoder::new(format, &names, Vec::with_capacity(32 << 20)).unwrap();
    for row in rows {
        encoder
            .write_row(
                kinds
                    .iter()
                    .zip(&row.slots)
                    .map(|(kind, slot)| kind.cell(*slot, &row.text)),
            )
            .unwrap();
    }
    encoder.finish().unwrap().len()
}

fn bench_encoders(c: &mut Criterion) {
    let catalog = Catalog::new(Vec::new());
    let transactions = catalog.shape(Dataset::named("transactions"));
    let users = catalog.shape(Dataset::named("users"));
    let transaction_rows = rows(transactions, transaction);
    let user_rows = rows(users, user);
    let mut group = c.benchmark_group("encode");
    group
        .throughput(Throughput::Elements(ROWS as u64))
        .sample_size(20);
    for format in [Format::Csv, Format::Json, Format::Ndjson] {
        let name = format.extension();
        group.bench_function(format!("transactions/{name}"), |b| {
            b.iter(|| black_box(encode_all(transactions, &transaction_rows, format)))
        });
        group.bench_function(format!("users/{name}"), |b| {
            b.iter(|| black_box(encode_all(users, &user_rows, format)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_encoders);
criterion_main!(benches);
