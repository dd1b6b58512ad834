//! Prometheus metrics, served as text by `GET /metrics` (read key needed).
//!
//! Counters and histograms move as requests happen; gauges that describe
//! the server's state (pools, streams, the commit queue) are read when
//! `/metrics` is scraped. Each dataset's last write is set as writes
//! commit, starting from the stored counters (`feeds.rs`) when the server
//! starts: a scrape never touches the database, so it answers however busy
//! the pools are. Label values come from fixed sets (datasets, route
//! patterns, methods, outcomes), never from a request's values, so the
//! series stay few and nothing a client sends reaches them.

use crate::db::{DbPool, Pools};
use crate::timestamp::Timestamp;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::time::Duration;

/// The media type of Prometheus' text format.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Request durations, from 1 ms to 5 min.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Settle waits, from 0.1 ms to the 5 s bound (`visibility.rs`).
const SETTLE_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    pulls: IntCounterVec,
    pull_duration: HistogramVec,
    rows_streamed: IntCounterVec,
    bytes_streamed: IntCounterVec,
    writes: IntCounterVec,
    rows_written: IntCounterVec,
    settle_wait: Histogram,
    pool_connections: IntGaugeVec,
    pool_waiting: IntGaugeVec,
    pool_size: IntGaugeVec,
    streams: IntGauge,
    writes_waiting: IntGauge,
    uploads: IntGauge,
    upload_bytes: IntGauge,
    last_write: IntGaugeVec,
    purged: IntCounterVec,
    retention: IntGaugeVec,
    horizon: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        fn register<C: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: C) -> C {
            r.register(Box::new(c.clone()))
                .expect("each metric is registered once, under its own name");
            c
        }
        let counter = |name: &str, help: &str, labels: &[&str]| {
            register(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter"),
            )
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            register(
                &registry,
                IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid gauge"),
            )
        };
        let histogram = |name: &str, help: &str, buckets: &[f64], labels: &[&str]| {
            register(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                    labels,
                )
                .expect("a valid histogram"),
            )
        };
        Metrics {
            requests: histogram(
                "hourglass_http_request_duration_seconds",
                "Time to answer a request (a pull: to its first byte), by route pattern, method and status.",
                DURATION_BUCKETS,
                &["route", "method", "status"],
            ),
            pulls: counter(
                "hourglass_pulls_total",
                "Pulls that streamed, by dataset and how the stream ended (complete, client_gone, stalled, shutdown, failed).",
                &["dataset", "outcome"],
            ),
            pull_duration: histogram(
                "hourglass_pull_duration_seconds",
                "Time to stream a pull to its end, by dataset.",
                DURATION_BUCKETS,
                &["dataset"],
            ),
            rows_streamed: counter(
                "hourglass_rows_streamed_total",
                "Rows sent by pulls, by dataset.",
                &["dataset"],
            ),
            bytes_streamed: counter(
                "hourglass_bytes_streamed_total",
                "Bytes sent by pulls (before compression), by dataset.",
                &["dataset"],
            ),
            writes: counter(
                "hourglass_writes_total",
                "Writes by dataset and outcome (ok, rejected: 4xx, failed: 5xx); a delete is a write to deletions.",
                &["dataset", "outcome"],
            ),
            rows_written: counter(
                "hourglass_rows_written_total",
                "Rows written by dataset; rows deleted count under deletions.",
                &["dataset"],
            ),
            settle_wait: register(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "hourglass_settle_wait_seconds",
                        "How long pulls and counts waited for writes in flight before reading (the no-miss barrier).",
                    )
                    .buckets(SETTLE_BUCKETS.to_vec()),
                )
                .expect("a valid histogram"),
            ),
            pool_connections: gauge(
                "hourglass_pool_connections",
                "Database connections by pool and state (in_use, idle).",
                &["pool", "state"],
            ),
            pool_waiting: gauge(
                "hourglass_pool_waiting",
                "Threads waiting for a database connection, by pool.",
                &["pool"],
            ),
            pool_size: gauge(
                "hourglass_pool_max_connections",
                "The most connections each pool opens.",
                &["pool"],
            ),
            streams: register(
                &registry,
                IntGauge::new("hourglass_streams_in_flight", "Pulls streaming now.")
                    .expect("a valid gauge"),
            ),
            writes_waiting: register(
                &registry,
                IntGauge::new(
                    "hourglass_writes_waiting",
                    "Writes queued for or in their group commit.",
                )
                .expect("a valid gauge"),
            ),
            uploads: register(
                &registry,
                IntGauge::new(
                    "hourglass_uploads_in_flight",
                    "Write bodies being received or waiting for their commit.",
                )
                .expect("a valid gauge"),
            ),
            upload_bytes: register(
                &registry,
                IntGauge::new(
                    "hourglass_upload_bytes_held",
                    "Bytes of write bodies held now (what --max-upload-bytes bounds).",
                )
                .expect("a valid gauge"),
            ),
            last_write: gauge(
                "hourglass_last_write_timestamp_seconds",
                "When each dataset last received a write (Unix seconds): through this instance, or through any before it started.",
                &["dataset"],
            ),
            purged: counter(
                "hourglass_purged_rows_total",
                "Rows purged past their dataset's retention (--retain), by dataset; not deletions.",
                &["dataset"],
            ),
            retention: gauge(
                "hourglass_retention_seconds",
                "How long this server keeps each retained dataset's rows after their last change (--retain).",
                &["dataset"],
            ),
            horizon: gauge(
                "hourglass_retention_horizon_timestamp_seconds",
                "Each retained dataset's horizon (Unix seconds): rows stamped before it are purged, and a window starting before it is a 410.",
                &["dataset"],
            ),
            registry,
        }
    }

    /// `dataset`'s rows are kept for `age` here.
    pub fn retained(&self, dataset: &str, age: Duration) {
        self.retention
            .with_label_values(&[dataset])
            .set(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
    }

    /// A purge removed `rows` rows of `dataset`.
    pub fn purged(&self, dataset: &str, rows: usize) {
        self.purged
            .with_label_values(&[dataset])
            .inc_by(rows as u64);
    }

    /// A request answered: `route` is its pattern (`/api/{dataset}`), so
    /// that a series is a route, not a URL.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        // A client may send any method: the others are one series.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .observe(took.as_secs_f64());
    }

    /// A pull's stream ended.
    pub fn pull(&self, dataset: &str, outcome: &str, rows: u64, bytes: u64, took: Duration) {
        self.pulls.with_label_values(&[dataset, outcome]).inc();
        self.rows_streamed
            .with_label_values(&[dataset])
            .inc_by(rows);
        self.bytes_streamed
            .with_label_values(&[dataset])
            .inc_by(bytes);
        self.pull_duration
            .with_label_values(&[dataset])
            .observe(took.as_secs_f64());
    }

    /// A write to `dataset` committed `rows` rows under `stamp` (none for
    /// an empty write).
    pub fn wrote(&self, dataset: &str, rows: usize, stamp: Option<Timestamp>) {
        self.writes.with_label_values(&[dataset, "ok"]).inc();
        self.rows_written
            .with_label_values(&[dataset])
            .inc_by(rows as u64);
        if let Some(stamp) = stamp {
            self.last_write(dataset, stamp);
        }
    }

    /// A write to `dataset` was answered `status`, an error.
    pub fn write_refused(&self, dataset: &str, status: u16) {
        let outcome = if status < 500 { "rejected" } else { "failed" };
        self.writes.with_label_values(&[dataset, outcome]).inc();
    }

    /// `dataset` was written at `stamp` (kept if later than the last).
    pub fn last_write(&self, dataset: &str, stamp: Timestamp) {
        let gauge = self.last_write.with_label_values(&[dataset]);
        let seconds = stamp.as_micros().div_euclid(1_000_000);
        if seconds > gauge.get() {
            gauge.set(seconds);
        }
    }

    /// A pull or count waited `wait` for writes in flight.
    pub fn settle(&self, wait: Duration) {
        self.settle_wait.observe(wait.as_secs_f64());
    }

    /// The registry as Prometheus text, with the gauges read now.
    pub fn render(&self, now: Now<'_>) -> String {
        for (name, pool) in [
            ("read", &now.pools.read),
            ("write", &now.pools.write),
            ("control", &now.pools.control),
        ] {
            self.pool_gauges(name, pool);
        }
        for (dataset, horizon) in now.horizons {
            self.horizon
                .with_label_values(&[dataset])
                .set(horizon.as_micros().div_euclid(1_000_000));
        }
        self.streams.set(now.streams as i64);
        self.writes_waiting.set(now.writes_waiting as i64);
        self.uploads.set(now.uploads.0 as i64);
        self.upload_bytes.set(now.uploads.1 as i64);
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("metrics encode as text");
        String::from_utf8(text).expect("the text format is UTF-8")
    }

    fn pool_gauges(&self, name: &str, pool: &DbPool) {
        let state = pool.state();
        let gauge = |state: &str, value: u32| {
            self.pool_connections
                .with_label_values(&[name, state])
                .set(i64::from(value));
        };
        gauge("in_use", state.connections - state.idle_connections);
        gauge("idle", state.idle_connections);
        self.pool_waiting
            .with_label_values(&[name])
            .set(pool.waiting() as i64);
        self.pool_size
            .with_label_values(&[name])
            .set(i64::from(pool.max_size()));
    }
}

/// What the gauges show, read when `/metrics` is scraped.
pub struct Now<'a> {
    pub pools: &'a Pools,
    pub streams: usize,
    pub writes_waiting: usize,
    /// Write bodies held, and their bytes.
    pub uploads: (usize, usize),
    /// Each retained dataset's horizon now.
    pub horizons: Vec<(&'static str, Timestamp)>,
}
