//! Building and running the HTTP server: the shared groups of `state.rs`,
//! middleware, and the background loops (custom fields, keys, purges,
//! write counters).

use crate::auth::KeyGuard;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::datasets::catalog::{Catalog, LiveCatalog};
use crate::datasets::Dataset;
use crate::db::{self, DbError, Pools, StorageError};
use crate::report::cause_chain;
use crate::retention::Retention;
use crate::routes;
use crate::state::{Db, Limits, Tallies};
use actix_web::dev::{Server, Service as _};
use actix_web::{middleware, web, App, HttpServer};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Retention(#[from] crate::retention::RuleError),
    // The causes are part of these messages, not `source()`s, so that a
    // cause chain prints each once, before its hint.
    #[error("cannot start the {name} thread: {cause}")]
    Thread {
        name: &'static str,
        cause: std::io::Error,
    },
    #[error("cannot listen on {bind}: {cause}; {}", bind_hint(cause))]
    Bind { bind: String, cause: std::io::Error },
}

/// What to do about a listener that could not bind.
fn bind_hint(cause: &std::io::Error) -> &'static str {
    match cause.kind() {
        std::io::ErrorKind::AddrInUse => {
            "another program is using that port: stop it, or pick another with --bind"
        }
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges: use --bind with another"
        }
        _ => "--bind takes HOST:PORT, like 127.0.0.1:8080 or 0.0.0.0:8080",
    }
}

/// How often a server looks for custom fields declared or retired since.
const CATALOG_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a server forgets deletion records past their retention.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    /// How often rows past their retention are purged.
    purge_every: std::time::Duration,
    db: web::Data<Db>,
    keys: web::Data<KeyGuard>,
    limits: web::Data<Limits>,
    tallies: web::Data<Tallies>,
}

impl Application {
    /// Opens the database (migrating it) and binds the listener.
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let pools = db::open(&settings.database)?;
        Self::build_with(settings, pools, Arc::new(SystemClock))
    }

    /// As [`Application::build`], on pools and a clock the caller provides.
    pub fn build_with(
        settings: &Settings,
        pools: Pools,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(&settings.bind).map_err(|cause| StartupError::Bind {
            bind: settings.bind.clone(),
            cause,
        })?;
        let port = listener
            .local_addr()
            .map_err(|cause| StartupError::Bind {
                bind: settings.bind.clone(),
                cause,
            })?
            .port();
        // The first catalog comes from the primary, which is migrated by now
        // (a replica may still be replaying the migrations). Later ones are
        // read where pulls read: a replica lists a custom field only once
        // the column's ALTER TABLE has reached it, and the primary, where
        // writes go, has the column before that.
        let mut conn = pools.write.get().map_err(DbError::from)?;
        let catalog = LiveCatalog::new(Catalog::load(&mut conn).map_err(DbError::from)?);
        // The last writes before this server started, which the metrics
        // then keep up to date.
        let metrics = Arc::new(crate::metrics::Metrics::new());
        for (dataset, at) in crate::feeds::last_writes(&mut conn).map_err(DbError::from)? {
            metrics.last_write(dataset, at);
        }
        // Horizons recorded by any server: a window purged by another is
        // refused here from the first request on.
        let retention = Arc::new(Retention::new(settings.retention.iter().copied())?);
        retention.reload(&mut conn).map_err(DbError::from)?;
        for (dataset, age) in retention.retained() {
            metrics.retained(dataset.name(), age);
        }
        drop(conn);
        let stopping = Arc::new(AtomicBool::new(false));
        let keys = web::Data::new(KeyGuard::new(
            pools.control.clone(),
            settings.trusted_proxies.clone(),
            settings.wrong_key_burst,
        ));
        // Known keys are checked from memory from the first request on;
        // should this fail, they are looked up one by one until it works.
        if let Err(error) = keys.reload() {
            log::warn!("cannot load the API keys: {}", cause_chain(&error));
        }
        let writes = crate::ingest::group::Committer::start(pools.write.clone(), clock.clone())
            .map_err(|cause| StartupError::Thread {
                name: "committer",
                cause,
            })?;
        let checkpoints = crate::db::checkpoint::Checkpointer::start(pools.maintenance.clone())
            .map_err(|cause| StartupError::Thread {
                name: "checkpoint",
                cause,
            })?;
        let db = web::Data::new(Db {
            pools,
            catalog,
            clock,
            writes,
            checkpoints,
        });
        let limits = web::Data::new(Limits {
            max_body_bytes: settings.max_body_bytes,
            uploads: crate::ingest::UploadBudget::new(
                settings.max_uploads,
                settings.max_upload_bytes,
            ),
            streams: crate::stream::StreamLimits::new(settings.streams_per_key),
            send_timeout: settings.send_timeout,
            body_timeout: settings.body_timeout,
            extra_params: settings.extra_params.clone(),
            deletions_retention: settings.deletions_retention,
            retention,
        });
        let tallies = web::Data::new(Tallies {
            metrics,
            feeds: crate::feeds::Tally::default(),
            stopping: stopping.clone(),
        });
        let shared = (db.clone(), keys.clone(), limits.clone(), tallies.clone());
        let mut server = HttpServer::new(move || {
            let (db, keys, limits, tallies) = shared.clone();
            App::new()
                .app_data(db)
                .app_data(keys)
                .app_data(limits)
                .app_data(tallies)
                .wrap(middleware::Compress::default())
                // Outermost but compression: every answer is timed, by its
                // route's pattern.
                .wrap_fn(|req, service| {
                    let started = std::time::Instant::now();
                    let response = service.call(req);
                    async move {
                        let response = response.await?;
                        routes::measured(&response, started.elapsed());
                        Ok(response)
                    }
                })
                // /api requests log their own, richer line (see routes.rs).
                .wrap(
                    // The route's pattern, no query string and no Referer: any
                    // of them may carry a key or other values that stay out
                    // of logs (`routes::loggable_path`).
                    middleware::Logger::new("%a \"%{method}xi %{path}xi\" %s %b %T")
                        .custom_request_replace("method", |req| req.method().to_string())
                        .custom_request_replace("path", |req| routes::loggable_path(req.request()))
                        .exclude_regex("^/api/"),
                )
                .configure(routes::configure)
        });
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        let grace = settings.shutdown_grace.as_secs();
        server = server.shutdown_timeout(grace).shutdown_signal(async move {
            stop_requested().await;
            stopping.store(true, Ordering::SeqCst);
            log::info!("shutting down: requests in flight have {grace} s to finish");
        });
        // Without TCP_NODELAY a small response written in more than one piece
        // (headers, body, the last chunk) waits for the client's delayed ACK:
        // 40 ms stalls on keep-alive connections, which capped one-minute
        // pulls at about 400 requests/s (BENCHMARKS.md).
        let server = server
            .tcp_nodelay(true)
            .listen(listener)
            .map_err(|cause| StartupError::Bind {
                bind: settings.bind.clone(),
                cause,
            })?
            .run();
        Ok(Application {
            server,
            port,
            purge_every: settings.purge_every,
            db,
            keys,
            limits,
            tallies,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is told to stop (Ctrl-C, SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // Read where pulls read (see `build_with`).
        let (db, limits) = (self.db.clone(), self.limits.clone());
        let catalog = actix_web::rt::spawn(keep_fresh(
            "custom fields",
            CATALOG_REFRESH,
            move || -> Result<_, StorageError> {
                let mut conn = db.pools.read.get()?;
                let changed = db.catalog.refresh(&mut conn)?;
                // Horizons another server recorded as it purged.
                limits.retention.reload(&mut conn)?;
                Ok(changed.then_some("custom fields changed; new pulls and writes use them"))
            },
        ));
        let keys = self.keys.clone();
        let keys = actix_web::rt::spawn(keep_fresh(
            "API keys",
            crate::auth::KEY_REFRESH,
            move || keys.reload().map(|()| None),
        ));
        let (db, limits) = (self.db.clone(), self.limits.clone());
        let purge =
            actix_web::rt::spawn(keep_fresh("deletions to purge", PURGE_EVERY, move || {
                let before = limits.deletions_horizon(db.clock.now());
                let purged = crate::ingest::delete::purge(&mut *db.pools.write.get()?, before)?;
                Ok::<_, StorageError>(
                    (purged > 0).then_some("purged deletion records past the retention period"),
                )
            }));
        let (db, limits, tallies) = (self.db.clone(), self.limits.clone(), self.tallies.clone());
        let retention = actix_web::rt::spawn(keep_fresh(
            "rows past their retention",
            self.purge_every,
            move || purge_retained(&db, &limits, &tallies),
        ));
        let (db, tallies) = (self.db.clone(), self.tallies.clone());
        let counts = actix_web::rt::spawn(keep_fresh(
            "write counters",
            crate::feeds::FLUSH_EVERY,
            move || flush_counts(&db.pools, &tallies),
        ));
        let served = self.server.await;
        catalog.abort();
        keys.abort();
        purge.abort();
        retention.abort();
        counts.abort();
        // The last second's counts, which the loop above may not have written.
        let (db, tallies) = (self.db.clone(), self.tallies.clone());
        if let Ok(Err(error)) = web::block(move || flush_counts(&db.pools, &tallies)).await {
            log::warn!(
                "cannot store the last write counts: {}",
                cause_chain(&error)
            );
        }
        served
    }
}

/// Purges the rows past their retention (`retention.rs`); a server told to
/// stop ends its purge between batches.
fn purge_retained(
    db: &Db,
    limits: &Limits,
    tallies: &Tallies,
) -> Result<Option<&'static str>, StorageError> {
    if limits.retention.retained().next().is_none() {
        return Ok(None);
    }
    let (now, catalog) = (db.clock.now(), db.catalog.current());
    let mut purged = std::collections::BTreeMap::new();
    let done = limits.retention.purge(
        &db.pools,
        &catalog,
        now,
        &tallies.stopping,
        |dataset, rows| {
            tallies.metrics.purged(dataset.name(), rows);
            *purged.entry(dataset.name()).or_insert(0) += rows;
        },
    )?;
    for (dataset, rows) in purged {
        let horizon = limits.retention.horizon(Dataset::named(dataset), now);
        log::info!(
            "purged {rows} {dataset} rows stamped before {}",
            horizon.map(|h| h.to_string()).unwrap_or_default()
        );
    }
    if done.is_none() {
        log::debug!("another server is purging; this one skips its turn");
    }
    Ok(None)
}

/// Adds the writes counted since the last time to the stored counters.
fn flush_counts(pools: &Pools, tallies: &Tallies) -> Result<Option<&'static str>, StorageError> {
    tallies.feeds.flush(&mut *pools.control.get()?)?;
    Ok(None)
}

/// Runs `refresh` off the executor every `period`, for as long as the server
/// runs: the custom fields (a field declared by `hourglass fields add` on any
/// machine reaches this server within about [`CATALOG_REFRESH`]) and the API
/// keys (see `auth.rs`). `refresh` may return a change worth a log line; a
/// failure is logged and tried again.
async fn keep_fresh<E: std::error::Error + Send + 'static>(
    what: &'static str,
    period: std::time::Duration,
    refresh: impl Fn() -> Result<Option<&'static str>, E> + Clone + Send + 'static,
) {
    loop {
        actix_web::rt::time::sleep(period).await;
        match web::block(refresh.clone()).await {
            Ok(Ok(Some(change))) => log::info!("{change}"),
            Ok(Ok(None)) => {}
            Ok(Err(error)) => log::warn!("cannot reload the {what}: {}", cause_chain(&error)),
            Err(error) => log::warn!("cannot reload the {what}: {error}"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_requested() {
    use actix_web::rt::signal;
    let interrupted = Box::pin(async {
        let _ = signal::ctrl_c().await;
    });
    #[cfg(unix)]
    let terminated = Box::pin(async {
        match signal::unix::signal(signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    });
    #[cfg(not(unix))]
    let terminated = Box::pin(std::future::pending::<()>());
    futures_util::future::select(interrupted, terminated).await;
}
