//! The database: connections to either backend, migrations, and the
//! building blocks every query is made of.
//!
//! One [`DbConnection`] type serves both backends: an embedded SQLite file
//! (the default) or a PostgreSQL server. Queries are written once against
//! it; the few places that need a backend's own feature (SQLite's busy
//! timeout, PostgreSQL's lock timeout and server-side cursors) match on it.
//!
//! - [`pool`]: a pool per purpose ([`Pools`]), so no kind of traffic starves another;
//! - [`stamp`]: the write stamp, handed out in commit order, and a pull's barrier;
//! - [`statement`]: SQL text with typed binds, written once for both
//!   backends, and streaming a query's rows in constant memory;
//! - [`row`]: values as they are stored and rows as a pull reads them back;
//! - [`StorageError`]: what a caller needs to know of a failure (retry
//!   later, or a bug).
//!
//! Diesel and `pool.get()` block, so everything here is called from
//! blocking threads, never from the async executor. Functions take a plain
//! `&mut DbConnection` and know nothing of HTTP or of the datasets.

pub mod checkpoint;
mod pg_cursor;
pub mod pool;
pub mod row;
pub mod schema;
pub mod stamp;
pub mod statement;

use crate::timestamp::Timestamp;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub use pool::{check_on_return, open, DbPool, PooledConn, Pools, HEALTH_TIMEOUT};
pub use stamp::{is_lock_timeout, last_stamp, try_close_stamps_below, write_transaction};

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a writer waits for the write lock before giving up (503).
pub(crate) const BUSY_TIMEOUT_MS: u32 = 5_000;

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

/// A query or a connection that failed, as the callers above need to know
/// it: whether retrying later may help. Every domain error that touches the
/// database carries one; the HTTP edge answers `Unavailable` with a 503
/// and `Failed` with an opaque 500 (its cause goes to the log).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Busy or unreachable: no connection free within the acquire timeout,
    /// a lock wait or a statement past its bound, a closed connection.
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug, or a failure nobody planned for.
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl From<diesel::result::Error> for StorageError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                StorageError::Unavailable(Box::new(error))
            }
            // Lock waits past their bound (SQLite's "database is locked",
            // PostgreSQL's lock timeout) and queries past the statement
            // timeout: the database is too busy right now.
            Error::DatabaseError(_, info)
                if is_lock_timeout(&error) || info.message().contains("statement timeout") =>
            {
                StorageError::Unavailable(Box::new(error))
            }
            _ => StorageError::Failed(Box::new(error)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StorageError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        StorageError::Unavailable(Box::new(error))
    }
}

/// For a domain error with a `Storage(StorageError)` variant: `?` on a
/// diesel result or a pool's `get()` lands there, classified.
macro_rules! storage_errors_into {
    ($error:ty) => {
        impl From<diesel::result::Error> for $error {
            fn from(error: diesel::result::Error) -> Self {
                <$error>::Storage(error.into())
            }
        }

        impl From<diesel::r2d2::PoolError> for $error {
            fn from(error: diesel::r2d2::PoolError) -> Self {
                <$error>::Storage(error.into())
            }
        }
    };
}
pub(crate) use storage_errors_into;

/// Why streaming a query's rows stopped early.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The database failed: the output is incomplete and must look broken.
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Writing out failed, usually because the client went away.
    #[error("output failed: {0}")]
    Sink(#[from] std::io::Error),
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

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        DbError::Pool(error)
    }
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

/// `SELECT 1`: does the database answer?
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::select(diesel::dsl::sql::<BigInt>("1"))
        .execute(conn)
        .map(drop)
}

/// Runs `f` on one snapshot: every statement in it sees the database as
/// its first read found it. For an answer made of several queries, which
/// must not show a transaction half-committed (PostgreSQL's default gives
/// each statement a snapshot of its own; SQLite outside a transaction
/// likewise).
pub fn in_snapshot<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    conn.transaction(|conn| {
        if let DbConnection::Postgresql(_) = conn {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        f(conn)
    })
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
