//! What the server's handlers share, in groups. Each group is registered
//! as its own `web::Data`, so a handler names in its signature the groups it
//! uses, and nothing else:
//!
//! - [`Db`]: the data: its pools, the datasets' current shape, the clock
//!   its stamps and windows are read by, and the committer that writes it;
//! - [`Limits`]: what the operator allows a request (body sizes, bodies in
//!   flight, pulls per key, a stalled client's patience, extra parameters,
//!   how far back deletions and retained datasets reach);
//! - [`Tallies`]: what the server counts (Prometheus metrics, per-hour
//!   write counters) and whether it is stopping;
//! - the key guard (`auth::KeyGuard`), which handlers reach through the
//!   `ReadKey` and `WriteKey` extractors.

use crate::clock::Clock;
use crate::datasets::catalog::LiveCatalog;
use crate::datasets::{Dataset, Role};
use crate::db::checkpoint::Checkpointer;
use crate::db::Pools;
use crate::feeds;
use crate::ingest::group::Committer;
use crate::ingest::UploadBudget;
use crate::metrics::Metrics;
use crate::retention::Retention;
use crate::stream::StreamLimits;
use crate::timestamp::Timestamp;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// The data, and how to reach it.
pub struct Db {
    pub pools: Pools,
    /// The datasets and their columns, custom fields included.
    pub catalog: LiveCatalog,
    /// Where "now" comes from: write stamps, and the end of a window that
    /// may still be in the future.
    pub clock: Arc<dyn Clock>,
    /// Writes, a group per transaction (`ingest::group`).
    pub writes: Committer,
    /// SQLite: the WAL checkpointed beside the writes (`db::checkpoint`).
    pub checkpoints: Option<Checkpointer>,
}

/// What the operator allows a request (`serve`'s flags).
pub struct Limits {
    /// The largest write body, in bytes, once decoded.
    pub max_body_bytes: usize,
    /// Write bodies in flight, in count and bytes.
    pub uploads: Arc<UploadBudget>,
    /// Pulls each key may run at once.
    pub streams: Arc<StreamLimits>,
    /// How long a pull waits for a client that accepts no bytes.
    pub send_timeout: Duration,
    /// How long a write's body may take to arrive whole.
    pub body_timeout: Duration,
    /// Query parameters a pull ignores (`--allow-param`).
    pub extra_params: Vec<String>,
    /// How long deletion records are kept: a pull of deletions that reaches
    /// back further is refused.
    pub deletions_retention: Duration,
    /// How long each dataset's rows are kept (`--retain`), and the horizons
    /// recorded by whichever server purged: a pull or count starting
    /// before a horizon is refused.
    pub retention: Arc<Retention>,
}

impl Limits {
    /// The oldest time the deletions feed still covers at `now`: records
    /// before it are purged, and a pull reaching back further is refused.
    pub fn deletions_horizon(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_micros(now.as_micros() - self.deletions_retention.as_micros() as i64)
    }

    /// How long `dataset`'s rows are kept here (none: forever) and its
    /// horizon at `now` (none: nothing purged), as `/api/schema` and
    /// `/api/stats` show them. The deletions feed keeps its records
    /// `--deletions-retention-days`.
    pub fn kept(&self, dataset: Dataset, now: Timestamp) -> (Option<Duration>, Option<Timestamp>) {
        if dataset.def().role == Role::Feed {
            return (
                Some(self.deletions_retention),
                Some(self.deletions_horizon(now)),
            );
        }
        (
            self.retention.age(dataset),
            self.retention.horizon(dataset, now),
        )
    }
}

/// What the server counts.
pub struct Tallies {
    pub metrics: Arc<Metrics>,
    /// Rows written per dataset and hour, not yet added to the stored
    /// counters (`feeds.rs`).
    pub feeds: feeds::Tally,
    /// Set once the server has been told to stop: a stream cut after that
    /// was cut by the shutdown, not by its client, and is counted so.
    pub stopping: Arc<AtomicBool>,
}

impl Tallies {
    /// A write of `rows` rows to `dataset` committed under `stamp` (none if
    /// it changed nothing): counted in the metrics and the per-hour
    /// counters.
    pub fn wrote(&self, dataset: &'static str, rows: usize, stamp: Option<Timestamp>) {
        self.metrics.wrote(dataset, rows, stamp);
        if let Some(stamp) = stamp {
            self.feeds.add(dataset, rows, stamp);
        }
    }
}
