//! Connection pools, one per purpose, and the session settings every
//! connection gets.
//!
//! Hourglass keeps a pool per purpose ([`Pools`]), so that no kind of traffic
//! starves another: `read` serves pulls (read-only connections with a
//! statement timeout on PostgreSQL, optionally on a replica), `write` is the
//! committer's one connection (`ingest::group`; deletes and erasures take it
//! too), `control` serves key reloads and look-ups and the pulls' settle
//! step, `maintenance` the retention's purges (`retention.rs`) and SQLite's
//! checkpoints (`checkpoint.rs`), and `health` only
//! `/health`. `pool.get()` blocks: call it from a
//! blocking thread, never from the async executor.

use super::{establish, migrate, DatabaseSettings, DbConnection, DbError, BUSY_TIMEOUT_MS};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use std::time::Duration;

/// SQLite: the WAL is truncated back to this size after a checkpoint, so a
/// burst of writes (or a reader that held a snapshot through one) does not
/// leave a huge file behind.
const JOURNAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// SQLite: the WAL's size, in pages, past which a commit checkpoints it
/// itself. A server's checkpoints run beside its writes
/// (`checkpoint.rs`), so this is a safety net should they fall behind (and
/// what `hourglass import` and the other commands checkpoint by): the
/// journal size limit's worth of 4 KiB pages.
const WAL_AUTOCHECKPOINT_PAGES: u64 = JOURNAL_SIZE_LIMIT_BYTES / 4096;

/// A connection pool that knows how many threads are waiting for one (for
/// `/metrics`; r2d2 tells only how many connections are in use).
#[derive(Debug, Clone)]
pub struct DbPool {
    pool: Pool<Manager>,
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl DbPool {
    fn new(pool: Pool<Manager>) -> Self {
        DbPool {
            pool,
            waiting: Default::default(),
        }
    }

    /// A connection, waiting at most the pool's acquire timeout. Blocks.
    pub fn get(&self) -> Result<PooledConn, diesel::r2d2::PoolError> {
        use std::sync::atomic::Ordering::Relaxed;
        self.waiting.fetch_add(1, Relaxed);
        let conn = self.pool.get();
        self.waiting.fetch_sub(1, Relaxed);
        conn
    }

    /// Connections open and idle.
    pub fn state(&self) -> diesel::r2d2::State {
        self.pool.state()
    }

    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// Threads waiting for a connection now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub type PooledConn = PooledConnection<Manager>;

/// Connections on a budget per purpose, so that no kind of traffic can
/// starve another: uploads cannot keep pulls from checking their key or
/// settling, and nothing keeps `/health` from answering.
#[derive(Clone)]
pub struct Pools {
    /// Pulls (a replica's, with `--read-database`).
    pub read: DbPool,
    /// Writes: the committer's one connection.
    pub write: DbPool,
    /// Short statements on the primary: key reloads and look-ups, keys'
    /// last use, and the pulls' settle barrier (see `visibility.rs`).
    pub control: DbPool,
    /// Purges of rows past their retention on PostgreSQL (`retention.rs`)
    /// and WAL checkpoints on SQLite (`checkpoint.rs`): one connection of
    /// their own, so that neither ever takes the committer's.
    pub maintenance: DbPool,
    /// `/health` only: one connection to the primary, answering within
    /// [`HEALTH_TIMEOUT`] or not at all.
    pub health: DbPool,
    /// `/health`'s one connection to the replica pulls read, if any.
    pub health_replica: Option<DbPool>,
}

/// Connections for writes: the committer's one (`ingest::group`). A
/// committer per connection would split the writes that arrive together
/// into smaller groups that then queue on the stamp clock's lock: with 2
/// or 3 on PostgreSQL, single-row writes ran a third slower.
const WRITE_POOL_SIZE: u32 = 1;

/// Connections for key checks and settling: each holds one for milliseconds.
const CONTROL_POOL_SIZE: u32 = 2;

/// The longest `/health` waits for a connection or an answer.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// Opens connections for a pool and gives each its session settings.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    read_only: bool,
    statement_timeout: Duration,
    idle_in_transaction_timeout: Duration,
}

impl Manager {
    /// A 2xx on a write means its rows survive a power cut: SQLite syncs
    /// the WAL on every commit (`synchronous = FULL`; NORMAL may lose the
    /// last commits), and PostgreSQL waits for its WAL flush
    /// (`synchronous_commit = on`, whatever the server's default). Group
    /// commit (`ingest::group`) is what keeps that fast.
    fn session_settings(&self, conn: &mut DbConnection) -> QueryResult<()> {
        match conn {
            DbConnection::Sqlite(c) => c.batch_execute(&format!(
                "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
                 PRAGMA synchronous = FULL;
                 PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES};
                 PRAGMA query_only = {};
                 PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};",
                i32::from(self.read_only)
            )),
            DbConnection::Postgresql(c) if self.read_only => c.batch_execute(&format!(
                "SET default_transaction_read_only = on;
                 SET statement_timeout = {};
                 SET idle_in_transaction_session_timeout = {};",
                self.statement_timeout.as_millis(),
                self.idle_in_transaction_timeout.as_millis()
            )),
            DbConnection::Postgresql(c) => c.batch_execute(&format!(
                "SET lock_timeout = {BUSY_TIMEOUT_MS};
                 SET synchronous_commit = on;"
            )),
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let mut conn = match establish(&self.url) {
            Ok(conn) => conn,
            Err(DbError::Open { cause, .. }) => {
                return Err(diesel::r2d2::Error::ConnectionError(cause))
            }
            Err(other) => unreachable!("establish only fails to open: {other}"),
        };
        self.session_settings(&mut conn)
            .map_err(diesel::r2d2::Error::QueryError)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking()
            || conn.is_broken()
            || (CHECK_ON_RETURN.replace(false) && conn.ping().is_err())
    }
}

thread_local! {
    static CHECK_ON_RETURN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Asks that the connection this thread gives back to its pool next be
/// pinged, and dropped if it does not answer. For a pool that does not ping
/// on check-out (the write pool): after a failure that may have been the
/// connection's, so that a dead connection is replaced rather than handed
/// out again.
pub fn check_on_return() {
    CHECK_ON_RETURN.set(true);
}

/// Migrates, then builds both pools.
pub fn open(settings: &DatabaseSettings) -> Result<Pools, DbError> {
    migrate(settings)?;
    let pool = |url: &str, size: u32, read_only: bool, check_out_ping: bool| {
        Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .test_on_check_out(check_out_ping)
            .connection_timeout(settings.acquire_timeout)
            .build(Manager {
                url: url.to_string(),
                read_only,
                statement_timeout: settings.statement_timeout,
                idle_in_transaction_timeout: settings.idle_in_transaction_timeout,
            })
            .map(DbPool::new)
    };
    let read_url = settings.read_url.as_deref().unwrap_or(&settings.url);
    let health = |url: &str| {
        Pool::builder()
            .max_size(1)
            .min_idle(Some(1))
            .connection_timeout(HEALTH_TIMEOUT)
            .build(Manager {
                url: url.to_string(),
                read_only: true,
                statement_timeout: HEALTH_TIMEOUT,
                idle_in_transaction_timeout: HEALTH_TIMEOUT,
            })
            .map(DbPool::new)
    };
    Ok(Pools {
        read: pool(read_url, settings.read_pool_size, true, true)?,
        // No ping before each group: a group of writes is one round trip on
        // PostgreSQL, and the ping would be a second. A group that fails
        // has its connection checked as it is given back
        // ([`check_on_return`]), and a dead one replaced.
        write: pool(&settings.url, WRITE_POOL_SIZE, false, false)?,
        control: pool(&settings.url, CONTROL_POOL_SIZE, false, true)?,
        maintenance: pool(&settings.url, 1, false, true)?,
        health: health(&settings.url)?,
        health_replica: settings.read_url.as_deref().map(health).transpose()?,
    })
}
