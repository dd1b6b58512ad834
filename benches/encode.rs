//! The pure encoders: 100,000 rows of `transactions` and `users` into CSV,
//! JSON and NDJSON, in memory. `cargo bench --bench encode`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hourglass::datasets::transactions::Transaction;
use hourglass::datasets::users::User;
use hourglass::datasets::Pull;
use hourglass::encode::Encoder;
use hourglass::money::Money;
use hourglass::timestamp::Timestamp;
use hourglass::window::Format;
use std::hint::black_box;

const ROWS: i64 = 100_000;
const START: i64 = 1_602_313_200_000_000;

fn transactions() -> Vec<Transaction> {
    (0..ROWS)
        .map(|i| Transaction {
            id: i,
            player_id: i % 5000,
            amount: Money::from_micros(i * 12_345),
            currency: "EUR".into(),
            type_: Some("Normal".into()),
            status: Some("Success".into()),
            payment_system: Some("Visa".into()),
            dir: "IN".into(),
            created_at: Timestamp::from_micros(START + i * 1_000_000),
            updated_at: Timestamp::from_micros(START + i * 1_000_000 + 90_000_000),
            invoice_id: Some(format!("inv-{i}")),
            wallet_id: Some(i % 5000),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
            ip: Some("10.1.2.3".into()),
            requisite: Some("4111 **** **** 1111".into()),
            comment: None,
        })
        .collect()
}

fn users() -> Vec<User> {
    (0..ROWS)
        .map(|i| User {
            id: i,
            first_name: Some("Ann".into()),
            last_name: Some("O'Neil, Jr".into()),
            gender: Some("f".into()),
            country: Some("FI".into()),
            city: Some("Espoo".into()),
            ip: Some("10.1.2.3".into()),
            birthday: Some("1990-02-03".into()),
            registered_at: Timestamp::from_micros(START),
            ref_code: Some("ref1".into()),
            traffic_source: Some("google".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
            modified_at: Timestamp::from_micros(START + i * 1_000_000),
            is_blocked: Some(false),
            self_excluded: None,
            locale: Some("fi_FI".into()),
        })
        .collect()
}

fn encode_all<T: Pull>(rows: &[T], format: Format) -> usize {
    let mut encoder = Encoder::new(format, T::COLUMNS, Vec::with_capacity(32 << 20)).unwrap();
    for row in rows {
        row.with_cells(|cells| encoder.write_row(cells)).unwrap();
    }
    encoder.finish().unwrap().len()
}

fn bench_encoders(c: &mut Criterion) {
    let transactions = transactions();
    let users = users();
    let mut group = c.benchmark_group("encode");
    group
        .throughput(Throughput::Elements(ROWS as u64))
        .sample_size(20);
    for format in [Format::Csv, Format::Json, Format::Ndjson] {
        let name = format.extension();
        group.bench_function(format!("transactions/{name}"), |b| {
            b.iter(|| black_box(encode_all(&transactions, format)))
        });
        group.bench_function(format!("users/{name}"), |b| {
            b.iter(|| black_box(encode_all(&users, format)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_encoders);
criterion_main!(benches);
