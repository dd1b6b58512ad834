//! `hourglass relay`: pushes what changed, window after window, to a target
//! that cannot pull: Pointagram's custom API, or a signed webhook.
//!
//! A relay is a consumer of consecutive windows `[t0, t1)`, `[t1, t2)`, …
//! like any other, read in-process through the pull's own window code and
//! no-miss rules (`visibility.rs`): it waits for each window to settle, then
//! reads it. So it never misses a change, and a changed row comes out again
//! in a later window.
//!
//! **Position.** A relay keeps, by its name, the end of the last window it
//! fully delivered (`relays.position`), and moves it only once every change
//! of the window was answered: delivered, or refused for good and kept as a
//! dead letter. A relay that is killed, or a target that is down, never
//! moves it past an undelivered change; a restart reads the window again, so
//! a few calls may repeat (at-least-once), which Pointagram's
//! `source_score_id` and a webhook's window header make harmless.
//!
//! **Windows.** A relay that has caught up reads `[position, now)` every
//! `every_seconds` (5 s): a change reaches the target within seconds. Behind,
//! it reads windows as large as `batch` rows allow, counted on the windows'
//! indexes before reading: a window holding more is halved, one holding far
//! fewer lets the next one double. One window is held in memory at a time.
//!
//! **Order within a window.** Players first (a score names an existing
//! player), then deletes, then rows: a row in the window exists now (it was
//! written after any delete of it in the same window), so applying the
//! window in this order leaves the target as the data is.

pub mod config;
mod pointagram;
mod send;
pub mod store;
mod webhook;

use crate::clock::Clock;
use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use crate::db::{self, DbConnection, DbPool, Pools, StorageError, StreamError};
use crate::timestamp::{TimeWindow, Timestamp};
use crate::visibility::SettleError;
use crate::window::Format;
use config::{Config, Rules, TargetKind};
use send::{Answer, Call, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A row as the pull writes it in JSON: column → value, amounts exact.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// The first window a relay reads past its position: an hour. It doubles
/// while windows are small, without a limit (a first run crosses centuries
/// of nothing in a few dozen windows), and halves while they hold more than
/// a batch.
const FIRST_SPAN: i64 = 3_600_000_000;
/// How often the figures go to the log.
const REPORT_EVERY: Duration = Duration::from_secs(60);
/// The longest wait before a window that failed on the database is read again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// Why a window could not be read or its progress kept; the relay logs it
/// and reads the window again.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Storage(#[from] StorageError),
    #[error("reading the window: {0}")]
    Read(#[from] StreamError),
    #[error("a row of the window is not JSON: {0}")]
    Decode(#[from] serde_json::Error),
    /// The window could not be settled yet (writes in flight, a lagging
    /// replica): it is read again shortly.
    #[error("the window is not ready: {0}")]
    Settle(#[from] SettleError),
    #[error(transparent)]
    Start(#[from] store::StartError),
    /// The configuration holds a value a request cannot carry.
    #[error("{0}")]
    Target(&'static str),
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

db::storage_errors_into!(RelayError);

impl RelayError {
    /// Passes with time (a busy database, writes in flight): worth a
    /// warning, not an error, in the log.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            RelayError::Storage(StorageError::Unavailable(_))
                | RelayError::Settle(
                    SettleError::NotSettled(_)
                        | SettleError::TooEarly { .. }
                        | SettleError::Storage(StorageError::Unavailable(_))
                )
        )
    }
}

/// A running relay.
pub struct Relay {
    config: Config,
    pools: Pools,
    /// Where "now" comes from: the end of a caught-up window, the times of
    /// the position and the dead letters.
    clock: Arc<dyn Clock>,
    sender: Sender,
    position: Timestamp,
    span: i64,
}

impl Relay {
    /// Opens the relay's position (created at `since`, or at the beginning,
    /// on its first run).
    pub async fn start(
        config: Config,
        pools: Pools,
        clock: Arc<dyn Clock>,
        since: Option<Timestamp>,
    ) -> Result<Relay, RelayError> {
        let (name, now) = (config.name.clone(), clock.now());
        let position = blocking(&pools.control, move |conn| {
            Ok(store::start(conn, &name, since, now)?)
        })
        .await?;
        let headers = match &config.target.kind {
            TargetKind::Pointagram { api_user, api_key } => pointagram::headers(api_user, api_key)?,
            TargetKind::Webhook { .. } => Default::default(),
        };
        let sender = Sender::new(&config.name, &config.target, headers)?;
        Ok(Relay {
            config,
            pools,
            clock,
            sender,
            position,
            span: FIRST_SPAN,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The end of the last window fully delivered.
    pub fn position(&self) -> Timestamp {
        self.position
    }

    /// Relays window after window, until the future is dropped (on SIGTERM).
    /// Dropping it at any point is safe: the position moves only in the
    /// transaction that ends a delivered window.
    pub async fn run(&mut self) {
        log::info!(
            "relay {}: delivering to {} from {}",
            self.config.name,
            host_of(&self.config.target.url),
            self.position
        );
        let mut retry_wait = Duration::from_secs(1);
        let mut figures = Figures::default();
        let mut reported = Instant::now();
        loop {
            match self.next_window(&mut figures).await {
                Ok(caught_up) => {
                    retry_wait = Duration::from_secs(1);
                    if caught_up {
                        tokio::time::sleep(self.config.every).await;
                    }
                }
                Err(error) => {
                    log::log!(
                        if error.is_transient() {
                            log::Level::Warn
                        } else {
                            log::Level::Error
                        },
                        "relay {}: {}; reading the window from {} again in {} s",
                        self.config.name,
                        crate::report::cause_chain(&error),
                        self.position,
                        retry_wait.as_secs()
                    );
                    tokio::time::sleep(retry_wait).await;
                    retry_wait = (retry_wait * 2).min(MAX_RETRY_WAIT);
                }
            }
            if reported.elapsed() >= REPORT_EVERY {
                self.report(&figures).await;
                reported = Instant::now();
            }
        }
    }

    /// Logs the relay's figures, as `relay status` shows them.
    async fn report(&self, figures: &Figures) {
        let name = self.config.name.clone();
        let stored = blocking(&self.pools.control, move |conn| {
            Ok(store::status(conn, Some(&name))?)
        })
        .await;
        if let Ok(Some(status)) = stored.map(|s| s.into_iter().next()) {
            log::info!(
                "relay {}: position {}, lag {} s, delivered {} ({} this run), dead-lettered {} ({} this run)",
                status.name,
                status.position,
                lag_seconds(status.position, self.clock.now()),
                status.delivered,
                figures.delivered,
                status.dead_lettered,
                figures.refused
            );
        }
    }

    /// Reads and delivers the next window. Returns whether it reached now.
    async fn next_window(&mut self, figures: &mut Figures) -> Result<bool, RelayError> {
        let now = self.clock.now();
        let from = self.position;
        if now <= from {
            return Ok(true);
        }
        let mut to = Timestamp::from_micros(
            now.as_micros()
                .min(from.as_micros().saturating_add(self.span)),
        );
        crate::visibility::settle(&self.pools, to).await?;

        // Size the window: at most a batch of rows, unless one instant
        // holds more (a large write stamps its rows alike).
        let datasets = self.config.rules.datasets();
        let deletions = self.config.rules.reads_deletions();
        let batch = self.config.batch as i64;
        let rows = loop {
            let window = TimeWindow::new(from, to).expect("from < to");
            let counted = {
                let datasets = datasets.clone();
                blocking(&self.pools.read, move |conn| {
                    count(conn, &datasets, deletions, window)
                })
                .await?
            };
            let span = to.as_micros() - from.as_micros();
            if counted <= batch || span <= 1 {
                if counted * 4 < batch && to < now {
                    self.span = span.saturating_mul(2);
                } else {
                    self.span = span.max(1);
                }
                break counted;
            }
            to = Timestamp::from_micros(from.as_micros() + span / 2);
        };
        let window = TimeWindow::new(from, to).expect("from < to");

        let delivery = if rows == 0 {
            Delivery::default()
        } else {
            let read = {
                let datasets = datasets.clone();
                blocking(&self.pools.read, move |conn| {
                    read_window(conn, &datasets, deletions, window)
                })
                .await?
            };
            match &self.config.rules {
                Rules::Points { .. } => pointagram::deliver(self, read).await?,
                Rules::Changes(_) => webhook::deliver(self, window, read).await?,
            }
        };
        let (name, revoked, delivered, now) = (
            self.config.name.clone(),
            delivery.revoked,
            delivery.delivered,
            self.clock.now(),
        );
        blocking(&self.pools.control, move |conn| {
            Ok(store::advance(conn, &name, to, delivered, &revoked, now)?)
        })
        .await?;
        self.position = to;
        figures.delivered += delivery.delivered;
        figures.refused += delivery.refused;
        if delivery.delivered + delivery.refused > 0 {
            log::info!(
                "relay {}: window {} delivered {} change(s), {} refused (dead letters)",
                self.config.name,
                window_text(window),
                delivery.delivered,
                delivery.refused
            );
        }
        Ok(to == now)
    }

    /// Sends `call`; a refusal is kept as a dead letter. Returns whether it
    /// was delivered.
    async fn call(&mut self, call: &Call) -> Result<bool, RelayError> {
        match self.sender.send(call).await {
            Answer::Delivered => Ok(true),
            Answer::Refused { status, answer } => {
                log::warn!(
                    "relay {}: {} refused with HTTP {status}; kept as a dead letter, delivery carries on",
                    self.config.name,
                    call.endpoint
                );
                let letter = store::DeadLetter {
                    at: self.clock.now(),
                    endpoint: call.endpoint.to_string(),
                    body: call.body.clone(),
                    status,
                    answer,
                };
                let name = self.config.name.clone();
                blocking(&self.pools.control, move |conn| {
                    Ok(store::dead_letter(conn, &name, &letter)?)
                })
                .await?;
                Ok(false)
            }
        }
    }
}

/// What a window's delivery did.
#[derive(Debug, Default)]
struct Delivery {
    delivered: u64,
    refused: u64,
    /// Score ids revoked, and not scored again since.
    revoked: Vec<String>,
}

/// Changes of this run, for the log.
#[derive(Debug, Default)]
struct Figures {
    delivered: u64,
    refused: u64,
}

/// A window's rows: each dataset's, in the order of the rules, and the
/// deletes of those datasets.
pub struct WindowRows {
    pub rows: Vec<(Dataset, Vec<Row>)>,
    pub deletions: Vec<Row>,
}

impl WindowRows {
    pub fn of(&self, dataset: Dataset) -> &[Row] {
        self.rows
            .iter()
            .find(|(d, _)| *d == dataset)
            .map(|(_, rows)| rows.as_slice())
            .unwrap_or_default()
    }

    /// The deleted ids of `dataset`, with their `deleted_at`.
    pub fn deleted(&self, dataset: Dataset) -> impl Iterator<Item = &Row> {
        self.deletions
            .iter()
            .filter(move |d| d.get("dataset").and_then(|v| v.as_str()) == Some(dataset.name()))
    }
}

/// Rows the window holds, in every dataset read (the deletions feed
/// included): what sizes a window.
fn count(
    conn: &mut DbConnection,
    datasets: &[Dataset],
    deletions: bool,
    window: TimeWindow,
) -> Result<i64, RelayError> {
    let catalog = Catalog::load(conn)?;
    let mut total = 0;
    for dataset in feeds_of(datasets, deletions) {
        total += catalog.shape(dataset).count(conn, window)?;
    }
    Ok(total)
}

/// The datasets read, and the deletions feed if the rules need it.
fn feeds_of(datasets: &[Dataset], deletions: bool) -> impl Iterator<Item = Dataset> + '_ {
    datasets
        .iter()
        .copied()
        .chain(deletions.then(|| Dataset::named("deletions")))
}

/// Reads the window of every dataset, as a pull would write it in JSON.
fn read_window(
    conn: &mut DbConnection,
    datasets: &[Dataset],
    deletions: bool,
    window: TimeWindow,
) -> Result<WindowRows, RelayError> {
    let catalog = Catalog::load(conn)?;
    let mut read = WindowRows {
        rows: Vec::new(),
        deletions: Vec::new(),
    };
    for dataset in feeds_of(datasets, deletions) {
        let mut rows = 0;
        let ndjson = crate::export::window(
            conn,
            catalog.shape(dataset),
            window,
            Format::Ndjson,
            Vec::new(),
            &mut rows,
        )?;
        let parsed = serde_json::Deserializer::from_slice(&ndjson)
            .into_iter::<Row>()
            .collect::<Result<Vec<_>, _>>()?;
        if dataset.name() == "deletions" {
            read.deletions = parsed;
        } else {
            read.rows.push((dataset, parsed));
        }
    }
    Ok(read)
}

/// Runs `f` on a connection of `pool`, on a blocking thread.
async fn blocking<T: Send + 'static>(
    pool: &DbPool,
    f: impl FnOnce(&mut DbConnection) -> Result<T, RelayError> + Send + 'static,
) -> Result<T, RelayError> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || f(&mut *pool.get()?))
        .await
        .expect("a relay's database task does not panic")
}

/// `2026-11-25 10:00:00.250000/2026-11-25 10:00:05`: a window as the
/// `X-Hourglass-Window` header and the log name it (half-open; fractions of
/// a second shown when there are any, so the bounds can be pulled as given).
pub fn window_text(window: TimeWindow) -> String {
    format!("{}/{}", precise(window.from()), precise(window.to()))
}

fn precise(at: Timestamp) -> String {
    match at.as_micros().rem_euclid(1_000_000) {
        0 => at.to_string(),
        micros => format!("{at}.{micros:06}"),
    }
}

/// Seconds from `position` to `now`.
pub fn lag_seconds(position: Timestamp, now: Timestamp) -> i64 {
    (now.as_micros() - position.as_micros()).max(0) / 1_000_000
}

/// The target's host, for the log: a URL may carry a token in its path or
/// query, which never goes to a log.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_named_to_the_microsecond_only_where_it_has_fractions() {
        let t = Timestamp::parse("2026-11-25 10:00:00").unwrap();
        let u = Timestamp::from_micros(t.as_micros() + 5_250_000);
        assert_eq!(
            window_text(TimeWindow::new(t, u).unwrap()),
            "2026-11-25 10:00:00/2026-11-25 10:00:05.250000"
        );
    }

    #[test]
    fn the_log_names_the_host_alone() {
        assert_eq!(
            host_of("https://hooks.example.com/t/s3cret?k=v"),
            "hooks.example.com"
        );
        assert_eq!(host_of("http://127.0.0.1:9/hook"), "127.0.0.1:9");
    }
}
