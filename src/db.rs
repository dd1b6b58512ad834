//! The database: connections, pools, migrations, and the write stamp.
//!
//! One [`DbConnection`] type serves both backends: an embedded SQLite file
//! (the default) or a PostgreSQL server. Queries are written once against
//! it; the few places that need a backend's own feature (SQLite's busy
//! timeout, PostgreSQL's lock timeout and server-side cursors) match on it.
//!
//! Hourglass keeps a pool per purpose ([`Pools`]), so that no kind of traffic
//! starves another: `read` serves pulls (read-only connections with a
//! statement timeout on PostgreSQL, optionally on a replica), `write` is the
//! committer's one connection (`ingest::group`; deletes and erasures take it
//! too), `control` serves key reloads and look-ups and the pulls' settle
//! step, and `health` only `/health`. Diesel and `pool.get()` block, so everything here is
//! called from blocking threads, never from the async executor. Functions
//! take a plain `&mut DbConnection` and know nothing of HTTP.

mod pg_cursor;
pub mod schema;

use crate::clock::Clock;
use crate::timestamp::Timestamp;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sql_types::BigInt;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub(crate) use pg_cursor::stream_with_cursor;

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

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

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a writer waits for the write lock before giving up (503).
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// SQLite: the WAL is truncated back to this size after a checkpoint, so a
/// burst of writes (or a reader that held a snapshot through one) does not
/// leave a huge file behind.
const JOURNAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    // The causes are part of these messages, not `source()`s, so that a
    // cause chain prints each once.
    #[error("cannot open the database {url}: {cause}; check --database (or DATABASE_URL), the server and the credentials")]
    Open { url: String, cause: ConnectionError },
    #[error("cannot apply migrations: {0}")]
    Migrate(String),
    #[error("cannot set up the connection pool: {0}")]
    Pool(diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Where the database lives and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `postgres://…` / `postgresql://…`, or a SQLite file path (`sqlite://PATH` too).
    pub url: String,
    /// Where pulls read, if not from `url`: a PostgreSQL replica.
    pub read_url: Option<String>,
    pub read_pool_size: u32,
    /// How long a request waits for a free connection before a 503.
    pub acquire_timeout: Duration,
    /// PostgreSQL: the longest a pull's query may run per fetch.
    pub statement_timeout: Duration,
    /// PostgreSQL: the longest a read transaction may sit idle before the
    /// server ends it, a backstop behind the send timeout (a pull waiting
    /// on a slow client is idle in its transaction, holding back vacuum).
    pub idle_in_transaction_timeout: Duration,
}

impl DatabaseSettings {
    /// The URL with any password masked, for logs and messages.
    pub fn describe(&self) -> String {
        describe(&self.url)
    }

    /// The SQLite file, when the database is one.
    pub fn sqlite_path(&self) -> Option<&str> {
        match backend_of(&self.url) {
            Backend::Sqlite => Some(self.url.strip_prefix("sqlite://").unwrap_or(&self.url)),
            Backend::Postgres => None,
        }
    }
}

fn backend_of(url: &str) -> Backend {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

fn describe(url: &str) -> String {
    match (backend_of(url), url.split_once('@')) {
        (Backend::Postgres, Some((credentials, host))) => match credentials.rsplit_once(':') {
            Some((user, _password)) if user.contains("//") && !user.ends_with('/') => {
                format!("{user}:***@{host}")
            }
            _ => url.to_string(),
        },
        _ => url.to_string(),
    }
}

/// Opens a connection to exactly the backend `url` names: a PostgreSQL URL
/// that cannot be reached is an error, never a SQLite file of that name.
pub fn establish(url: &str) -> Result<DbConnection, DbError> {
    let opened = match backend_of(url) {
        Backend::Postgres => PgConnection::establish(url).map(DbConnection::Postgresql),
        Backend::Sqlite => {
            SqliteConnection::establish(url.strip_prefix("sqlite://").unwrap_or(url))
                .map(DbConnection::Sqlite)
        }
    };
    opened.map_err(|cause| DbError::Open {
        url: describe(url),
        cause,
    })
}

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
                 PRAGMA query_only = {};",
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

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        DbError::Pool(error)
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

/// Applies pending migrations and returns the names of those it applied.
/// SQLite is switched to WAL (readers never block the writer, nor the
/// writer the readers). On PostgreSQL an advisory lock makes instances that
/// start together migrate one at a time.
pub fn migrate(settings: &DatabaseSettings) -> Result<Vec<String>, DbError> {
    fn run<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        conn: &mut C,
        migrations: EmbeddedMigrations,
    ) -> Result<Vec<String>, DbError> {
        let applied = conn
            .run_pending_migrations(migrations)
            .map_err(|error| DbError::Migrate(error.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }
    match establish(&settings.url)? {
        DbConnection::Sqlite(mut c) => {
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
            ))?;
            run(&mut c, SQLITE_MIGRATIONS)
        }
        DbConnection::Postgresql(mut c) => {
            const MIGRATION_LOCK: i64 = 0x686f_7572_676c; // "hourgl"
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK});"))?;
            let applied = run(&mut c, POSTGRES_MIGRATIONS);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK});"))?;
            applied
        }
    }
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
        health: health(&settings.url)?,
        health_replica: settings.read_url.as_deref().map(health).transpose()?,
    })
}

/// Runs `f` in a write transaction and hands it the write stamp.
///
/// The transaction's first statement raises the stamp clock's row and
/// returns the new stamp, which queues writers: on SQLite it takes the
/// database's write lock, on PostgreSQL the row's lock, in every process
/// sharing the database. So stamps are handed out in commit order, each
/// strictly greater than every stamp before it even if the system clock
/// steps back. (`sql::upsert_stamping` does the same inside one statement.)
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    f: impl FnOnce(&mut DbConnection, Timestamp) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    #[derive(QueryableByName)]
    struct Stamp {
        #[diesel(sql_type = BigInt)]
        last_stamp: i64,
    }
    conn.transaction(|conn| {
        // One statement, one round trip: it takes the lock and computes the
        // stamp under it.
        let next = match conn {
            DbConnection::Sqlite(_) => "max(last_stamp + 1, ?)",
            DbConnection::Postgresql(_) => "GREATEST(last_stamp + 1, $1)",
        };
        let stamp: Stamp = diesel::sql_query(format!(
            "UPDATE stamp_clock SET last_stamp = {next} RETURNING last_stamp"
        ))
        .bind::<BigInt, _>(clock.now().as_micros())
        .get_result(conn)?;
        f(conn, Timestamp::from_micros(stamp.last_stamp))
    })
}

/// SQLite: a page cache of [`BULK_CACHE_KIB`] for a connection about to
/// write a large file in one transaction (`hourglass import`), or many rows
/// in long transactions (`hourglass seed`: 8% faster). An import's
/// chunks go in key order, but they land all over the player index; with
/// the default 2 MiB cache its pages leave for the WAL and are read back
/// again and again (a 1,000,000-row import took 15.6 s, against 13.8 s with
/// 64 MiB). PostgreSQL: nothing to do.
pub fn prepare_for_bulk_write(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB};"))
        }
        DbConnection::Postgresql(_) => Ok(()),
    }
}

/// See [`prepare_for_bulk_write`].
const BULK_CACHE_KIB: u32 = 64 * 1024;

/// The last stamp handed out by a committed write.
pub fn last_stamp(conn: &mut DbConnection) -> QueryResult<Timestamp> {
    use schema::stamp_clock;
    stamp_clock::table
        .select(stamp_clock::last_stamp)
        .first(conn)
}

/// The commit barrier of a pull (see `visibility.rs`): if the writers' lock
/// can be had within `attempt`, raises the last stamp to just below `to`, so
/// that every later write is stamped at `to` or after, and returns `true`.
/// Returns `false` if writers held the lock all along.
pub fn try_close_stamps_below(
    conn: &mut DbConnection,
    to: Timestamp,
    attempt: Duration,
) -> QueryResult<bool> {
    use schema::stamp_clock;
    let below = to.as_micros() - 1;
    let attempt = attempt.as_millis();
    // A short lock wait for this attempt only: a barrier that queued for the
    // lock like a writer could be starved by writers for seconds.
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    if sqlite {
        conn.batch_execute(&format!("PRAGMA busy_timeout = {attempt};"))?;
    }
    let closed = conn.transaction(|conn| {
        if !sqlite {
            conn.batch_execute(&format!("SET LOCAL lock_timeout = {attempt};"))?;
        }
        diesel::update(stamp_clock::table.filter(stamp_clock::last_stamp.lt(below)))
            .set(stamp_clock::last_stamp.eq(below))
            .execute(conn)
    });
    if sqlite {
        conn.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
    }
    match closed {
        Ok(_) => Ok(true),
        Err(error) if is_lock_timeout(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// SQLite's "database is locked" and PostgreSQL's lock timeout (55P03).
pub fn is_lock_timeout(error: &diesel::result::Error) -> bool {
    match error {
        diesel::result::Error::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("database is locked") || message.contains("lock timeout")
        }
        _ => false,
    }
}

/// `SELECT 1`: does the database answer?
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::select(diesel::dsl::sql::<BigInt>("1"))
        .execute(conn)
        .map(drop)
}

/// Runs `$body` with `$c` bound to the concrete connection of either
/// backend, for the statements outside the backends' common subset (such as
/// `ON CONFLICT`): written once, compiled for each backend.
macro_rules! with_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use with_backend;

/// Timestamps are stored as BIGINT; these impls let diesel read and write
/// them directly on every backend (hourglass's own tables carry them).
macro_rules! bigint_newtype_sql {
    ($type:ty, $from:path) => {
        impl<DB> diesel::deserialize::FromSql<BigInt, DB> for $type
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                i64::from_sql(bytes).map($from)
            }
        }

        impl diesel::serialize::ToSql<BigInt, diesel::sqlite::Sqlite> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                out.set_value(self.as_micros());
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<BigInt, diesel::pg::Pg> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write;
                out.write_all(&self.as_micros().to_be_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<BigInt, MultiBackend> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((BigInt, self));
                Ok(diesel::serialize::IsNull::No)
            }
        }
    };
}

bigint_newtype_sql!(Timestamp, Timestamp::from_micros);
