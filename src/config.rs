//! Typed settings, built once from the command line and environment and
//! passed down explicitly: no globals.

use crate::datasets::Dataset;
use crate::db::DatabaseSettings;
use std::time::Duration;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    /// `host:port`; port 0 picks a free port (tests).
    pub bind: String,
    /// Largest accepted write body; larger ones get 413.
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Query parameters a pull accepts and ignores besides its own (a CRM's
    /// signature, say); any other unknown parameter is a 400.
    pub extra_params: Vec<String>,
    /// A pull whose client accepts no bytes for this long is cut.
    pub send_timeout: Duration,
    /// A write body not received whole within this long is refused (408).
    pub body_timeout: Duration,
    /// Streams one key may run at once; past it a pull gets 429.
    pub streams_per_key: usize,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish
    /// before they are cut.
    pub shutdown_grace: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (for key address
    /// checks and throttling); without any, the peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Wrong keys one client address may present in a burst before it gets
    /// 429 (it earns back one attempt a second).
    pub wrong_key_burst: u32,
    /// Write bodies received or waiting for their commit at once, at most.
    pub max_uploads: usize,
    /// Bytes of write bodies held at once, at most.
    pub max_upload_bytes: usize,
    /// How long deletion records are kept; a pull of `deletions` reaching
    /// back further is refused (the consumer must resync in full).
    pub deletions_retention: Duration,
    /// How long each retained dataset's rows are kept after their last
    /// change (`--retain`); datasets not named are kept forever.
    pub retention: Vec<(Dataset, Duration)>,
    /// How often a server purges rows past their retention.
    pub purge_every: Duration,
}

impl Settings {
    pub const DEFAULT_BIND: &'static str = "127.0.0.1:8080";
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
    pub const DEFAULT_READ_POOL_SIZE: u32 = 8;
    /// Writes received or waiting for their commit at once. Memory is
    /// bounded by the bytes they hold (`max_upload_bytes`); this bounds the
    /// queue, generously, since most writes are a few rows.
    pub const DEFAULT_MAX_UPLOADS: usize = 1024;
    pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 60;
    pub const DEFAULT_SEND_TIMEOUT_SECS: u64 = 30;
    pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
    pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
    pub const DEFAULT_WRONG_KEY_BURST: u32 = 10;
    pub const DEFAULT_DELETIONS_RETENTION_DAYS: u64 = 90;
    pub const DEFAULT_PURGE_EVERY: &'static str = "1h";

    /// `days` days.
    pub fn days(days: u64) -> Duration {
        Duration::from_secs(days * 24 * 3600)
    }

    /// A read transaction idle for longer than the send timeout allows is
    /// ended by PostgreSQL: a backstop, should a producer ever fail to stop.
    pub fn idle_in_transaction_timeout(send_timeout: Duration) -> Duration {
        send_timeout + Duration::from_secs(30)
    }

    /// Bytes of bodies held at once unless set: two of the largest.
    pub fn default_max_upload_bytes(max_body_bytes: usize) -> usize {
        2 * max_body_bytes
    }

    /// Streams per key unless set: half the read pool, so that one key can
    /// never take every read connection.
    pub fn default_streams_per_key(read_pool_size: u32) -> usize {
        (read_pool_size as usize / 2).max(1)
    }

    /// Defaults for a database at `url`, as tests and tools start from.
    pub fn for_database(url: impl Into<String>) -> Self {
        Settings {
            database: DatabaseSettings {
                url: url.into(),
                read_url: None,
                read_pool_size: Self::DEFAULT_READ_POOL_SIZE,
                acquire_timeout: Duration::from_secs(5),
                statement_timeout: Duration::from_secs(Self::DEFAULT_STATEMENT_TIMEOUT_SECS),
                idle_in_transaction_timeout: Self::idle_in_transaction_timeout(
                    Duration::from_secs(Self::DEFAULT_SEND_TIMEOUT_SECS),
                ),
            },
            bind: Self::DEFAULT_BIND.to_string(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            workers: 0,
            extra_params: Vec::new(),
            send_timeout: Duration::from_secs(Self::DEFAULT_SEND_TIMEOUT_SECS),
            body_timeout: Duration::from_secs(Self::DEFAULT_BODY_TIMEOUT_SECS),
            streams_per_key: Self::default_streams_per_key(Self::DEFAULT_READ_POOL_SIZE),
            shutdown_grace: Duration::from_secs(Self::DEFAULT_SHUTDOWN_GRACE_SECS),
            trusted_proxies: Vec::new(),
            wrong_key_burst: Self::DEFAULT_WRONG_KEY_BURST,
            max_uploads: Self::DEFAULT_MAX_UPLOADS,
            max_upload_bytes: Self::default_max_upload_bytes(Self::DEFAULT_MAX_BODY_BYTES),
            deletions_retention: Self::days(Self::DEFAULT_DELETIONS_RETENTION_DAYS),
            retention: Vec::new(),
            purge_every: crate::retention::parse_age(Self::DEFAULT_PURGE_EVERY)
                .expect("the default purge period parses"),
        }
    }
}
