//! `GET /metrics`: Prometheus text that a Prometheus parser reads, for a
//! read key, whose counters move after a pull and a write.

use crate::helpers::{on_both_backends, sample_row, spawn_app, window, Backend, TestApp};
use serde_json::json;

on_both_backends!(metrics_parse_as_prometheus_text_and_move_with_pulls_and_writes,);

/// The metrics as a Prometheus parser reads them, after checking that every
/// line is a comment or `name{labels} value`.
async fn scrape(app: &TestApp) -> prometheus_parse::Scrape {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP hourglass_") || comment.starts_with("TYPE hourglass_"),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.starts_with("hourglass_")
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{line}"
        );
    }
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The value of the sample `metric` with these labels (0 if absent).
fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => {
                buckets.iter().map(|b| b.count).fold(0.0, f64::max)
            }
            prometheus_parse::Value::Summary(_) => panic!("no summaries"),
        })
        .sum()
}

async fn metrics_parse_as_prometheus_text_and_move_with_pulls_and_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let anonymous = app
        .request(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "metrics need a read key");
    let before = scrape(&app).await;
    for pool in ["read", "write", "control"] {
        assert!(
            value(&before, "hourglass_pool_max_connections", &[("pool", pool)]) >= 1.0,
            "{pool}"
        );
        assert!(before
            .samples
            .iter()
            .any(|s| s.metric == "hourglass_pool_waiting" && s.labels.get("pool") == Some(pool)));
        assert!(before
            .samples
            .iter()
            .any(|s| s.metric == "hourglass_pool_connections"
                && s.labels.get("state") == Some("in_use")));
    }
    assert!(before
        .samples
        .iter()
        .any(|s| s.metric == "hourglass_streams_in_flight"));

    app.push_at(
        "2020-10-10 07:30:00",
        "users",
        json!([sample_row("users", 1), sample_row("users", 2)]),
    )
    .await;
    let refused = app.push("users", "application/json", "[{\"id\": 5}]").await;
    assert_eq!(refused.status(), 422);
    let rows = app
        .pull_json(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(rows.len(), 2);
    let after = scrape(&app).await;

    let moved = |metric: &str, labels: &[(&str, &str)]| {
        value(&after, metric, labels) - value(&before, metric, labels)
    };
    let users = [("dataset", "users")];
    assert_eq!(
        moved(
            "hourglass_writes_total",
            &[("dataset", "users"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "hourglass_writes_total",
            &[("dataset", "users"), ("outcome", "rejected")]
        ),
        1.0
    );
    assert_eq!(moved("hourglass_rows_written_total", &users), 2.0);
    assert_eq!(
        moved(
            "hourglass_pulls_total",
            &[("dataset", "users"), ("outcome", "complete")]
        ),
        1.0
    );
    assert_eq!(moved("hourglass_rows_streamed_total", &users), 2.0);
    assert!(moved("hourglass_bytes_streamed_total", &users) > 100.0);
    assert_eq!(
        moved("hourglass_pull_duration_seconds", &users),
        1.0,
        "one more pull timed"
    );
    assert_eq!(
        moved("hourglass_settle_wait_seconds", &[]),
        1.0,
        "one more settle wait"
    );
    let pulls = [
        ("route", "/api/<dataset>"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(
        moved("hourglass_http_request_duration_seconds", &pulls),
        1.0
    );
    let last =
        chrono::NaiveDateTime::parse_from_str("2020-10-10 07:30:00", "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(
        value(&after, "hourglass_last_write_timestamp_seconds", &users),
        last.and_utc().timestamp() as f64
    );
}
