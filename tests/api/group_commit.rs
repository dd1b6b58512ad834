//! Group commit: writes that arrive together share one transaction and one
//! stamp, and each keeps its own atomicity.

use crate::helpers::{on_both_backends, sample_row, spawn_app, window, Backend, TestApp, PRESENT};
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::custom::{CustomField, FieldType};
use hourglass::datasets::Dataset;
use hourglass::ingest::group::{self, Write};
use hourglass::ingest::BodyFormat;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(
    writes_queued_together_commit_together_and_a_bad_one_gets_its_own_422,
    a_write_the_database_refuses_fails_alone_and_the_rest_of_its_group_commits,
);

/// Waits until `/health` counts `n` writes waiting for their commit.
async fn until_writes_waiting(app: &TestApp, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let health = app.health().await;
        if health["writes_waiting"] == n {
            return;
        }
        assert!(Instant::now() < deadline, "{health}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn writes_queued_together_commit_together_and_a_bad_one_gets_its_own_422(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_clock("2020-10-10 07:00:00");
    // The committer's connection, held: the first write waits for it, and
    // the others queue behind it, as they would behind a slow commit.
    let held = app.pools.write.get().unwrap();
    let post = |id: String, row: Value| {
        let app = &app;
        async move {
            let response = app
                .push("users", "application/json", json!([row]).to_string())
                .await;
            let status = response.status().as_u16();
            (id, status, response.json::<Value>().await.unwrap())
        }
    };
    let good: Vec<_> = (0..8)
        .map(|n| post(format!("u{n}"), sample_row("users", format!("u{n}"))))
        .collect();
    let mut bad_row = sample_row("users", "bad");
    bad_row["birth_date"] = json!("yesterday");
    let writes = futures_util::future::join_all(good);
    let (answers, bad) = futures_util::future::join(writes, async {
        // Checked before it is queued: refused while the others still wait.
        let bad = post("bad".into(), bad_row).await;
        until_writes_waiting(&app, 8).await;
        drop(held);
        bad
    })
    .await;

    app.set_clock(PRESENT);
    assert_eq!(bad.1, 422, "{}", bad.2);
    assert_eq!(bad.2["field"], "birth_date");
    let mut stamps = std::collections::HashMap::new();
    for (id, status, body) in &answers {
        assert_eq!(*status, 200, "{id}: {body}");
        assert_eq!(body["rows"], 1, "{id}: {body}");
        *stamps.entry(body["stamp"].to_string()).or_insert(0) += 1;
    }
    // Those that queued while the connection was held went in together,
    // under one stamp: all eight, or the seven behind the one the committer
    // had taken before the others arrived.
    let mut sizes: Vec<_> = stamps.into_values().collect();
    sizes.sort();
    assert!(
        sizes == [8] || sizes == [1, 7],
        "writes per stamp: {sizes:?}"
    );
    let pulled = app
        .pull_json(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    let mut ids: Vec<_> = pulled
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"]);
}

/// A write checked against a catalog the database does not match (a
/// custom field it does not have) passes every check but the database's:
/// the group fails as a whole, is written again with each write in a
/// savepoint of its own, and only that write fails.
async fn a_write_the_database_refuses_fails_alone_and_the_rest_of_its_group_commits(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let catalog = Arc::new(Catalog::load(&mut app.conn()).unwrap());
    let stale = Arc::new(Catalog::new(vec![CustomField {
        dataset: Dataset::named("users"),
        name: "vip_tier".into(),
        field_type: FieldType::Integer,
    }]));
    let write = |catalog: &Arc<Catalog>, id: &str| {
        let body = json!([sample_row("users", id)]).to_string();
        Write {
            catalog: catalog.clone(),
            dataset: Dataset::named("users"),
            format: BodyFormat::Json,
            body: body.into(),
            rows: 1,
            admission: None,
        }
    };
    let writes = [
        write(&catalog, "u1"),
        write(&stale, "u2"),
        write(&catalog, "u3"),
    ];
    let group: Vec<&Write> = writes.iter().collect();
    app.set_clock("2020-10-10 07:00:00");
    let clock = app.clock.clone().unwrap();
    let results = group::commit(&app.pools.write, clock.as_ref(), &group);
    app.set_clock(PRESENT);

    assert_eq!(results.len(), 3);
    let stored: Vec<_> = results.iter().map(|r| r.as_ref().map(|w| w.rows)).collect();
    assert!(matches!(stored[..], [Ok(1), Err(_), Ok(1)]), "{results:?}");
    let (Ok(first), Ok(third)) = (&results[0], &results[2]) else {
        unreachable!()
    };
    assert_eq!(
        first.stamp, third.stamp,
        "the two good writes share a stamp"
    );
    let pulled = app
        .pull_json(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    let ids: Vec<_> = pulled
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u1", "u3"]);
}
