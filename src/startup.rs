//! Building and running the HTTP server: pools, shared state, middleware.

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::datasets::catalog::{Catalog, LiveCatalog};
use crate::db::{self, DbError, DbPool, Pools};
use crate::routes;
use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What every handler shares, through `web::Data`.
pub struct AppState {
    pub pools: Pools,
    /// The datasets and their columns, custom fields included.
    pub catalog: LiveCatalog,
    pub clock: Arc<dyn Clock>,
    pub max_body_bytes: usize,
    /// Query parameters a pull ignores (`--allow-param`).
    pub extra_params: Vec<String>,
    pub send_timeout: std::time::Duration,
    pub stream_limits: Arc<crate::stream::StreamLimits>,
    /// Set once the server has been told to stop: a stream cut after that
    /// was cut by the shutdown, not by its client.
    pub shutting_down: Arc<AtomicBool>,
    /// Write bodies in flight.
    pub uploads: Arc<crate::ingest::UploadBudget>,
    /// Checks keys.
    pub keys: crate::auth::KeyGuard,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("cannot listen on {bind}: {source}; is another server using that port? (use --bind)")]
    Bind {
        bind: String,
        #[source]
        source: std::io::Error,
    },
}

/// How often a server looks for custom fields declared or retired since.
const CATALOG_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    catalog: LiveCatalog,
    catalog_pool: DbPool,
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
        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            bind: settings.bind.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                bind: settings.bind.clone(),
                source,
            })?
            .port();
        // The first catalog comes from the primary, which is migrated by now
        // (a replica may still be replaying the migrations). Later ones are
        // read where pulls read: a replica lists a custom field only once
        // the column's ALTER TABLE has reached it, and the primary, where
        // writes go, has the column before that.
        let mut conn = pools.write.get().map_err(DbError::from)?;
        let catalog = LiveCatalog::new(Catalog::load(&mut conn).map_err(DbError::from)?);
        drop(conn);
        let catalog_pool = pools.read.clone();
        let shutting_down = Arc::new(AtomicBool::new(false));
        let keys = crate::auth::KeyGuard::new(
            pools.control.clone(),
            settings.trusted_proxies.clone(),
            settings.wrong_key_burst,
        );
        let state = web::Data::new(AppState {
            keys,
            pools,
            catalog: catalog.clone(),
            clock,
            max_body_bytes: settings.max_body_bytes,
            extra_params: settings.extra_params.clone(),
            send_timeout: settings.send_timeout,
            stream_limits: crate::stream::StreamLimits::new(settings.streams_per_key),
            shutting_down: shutting_down.clone(),
            uploads: crate::ingest::UploadBudget::new(
                settings.max_uploads,
                settings.max_upload_bytes,
            ),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(middleware::Compress::default())
                // /api requests log their own, richer line (see routes.rs).
                .wrap(
                    // No query string (`%U` is the path) and no Referer: either
                    // may carry a key or other values that stay out of logs.
                    middleware::Logger::new("%a \"%{method}xi %U\" %s %b %T")
                        .custom_request_replace("method", |req| req.method().to_string())
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
            shutting_down.store(true, Ordering::SeqCst);
            log::info!("shutting down: requests in flight have {grace} s to finish");
        });
        // Without TCP_NODELAY a small response written in more than one piece
        // (headers, body, the last chunk) waits for the client's delayed ACK:
        // 40 ms stalls on keep-alive connections, which capped one-minute
        // pulls at about 400 requests/s (BENCHMARKS.md).
        let server = server
            .tcp_nodelay(true)
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                bind: settings.bind.clone(),
                source,
            })?
            .run();
        Ok(Application {
            server,
            port,
            catalog,
            catalog_pool,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is told to stop (Ctrl-C, SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let refresher = actix_web::rt::spawn(keep_catalog_fresh(self.catalog, self.catalog_pool));
        let served = self.server.await;
        refresher.abort();
        served
    }
}

/// Reloads the catalog when custom fields change, so that a field declared
/// by `hourglass fields add` on any machine reaches this server within about
/// [`CATALOG_REFRESH`]. A failed look is logged and tried again.
async fn keep_catalog_fresh(catalog: LiveCatalog, pool: DbPool) {
    loop {
        actix_web::rt::time::sleep(CATALOG_REFRESH).await;
        let (catalog, pool) = (catalog.clone(), pool.clone());
        let refreshed = web::block(
            move || -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
                let mut conn = pool.get()?;
                Ok(catalog.refresh(&mut conn)?)
            },
        )
        .await;
        match refreshed {
            Ok(Ok(true)) => log::info!("custom fields changed; new pulls and writes use them"),
            Ok(Ok(false)) => {}
            Ok(Err(error)) => log::warn!("cannot look for custom field changes: {error}"),
            Err(error) => log::warn!("cannot look for custom field changes: {error}"),
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
