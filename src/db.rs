//! The database: connection pools, migrations, and the write stamp.
//!
//! Hourglass keeps two pools on one database: `read` serves pulls (its
//! connections are read-only) and `write` serves ingestion. Diesel and
//! `pool.get()` block, so everything here is called from blocking threads,
//! never from the async executor. Functions take a plain `&mut DbConnection`
//! and know nothing of HTTP.

pub mod schema;

use crate::clock::Clock;
use crate::money::Money;
use crate::timestamp::Timestamp;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sql_types::BigInt;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub type DbConnection = SqliteConnection;
pub type DbPool = Pool<ConnectionManager<DbConnection>>;
pub type PooledConn = PooledConnection<ConnectionManager<DbConnection>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a writer waits for SQLite's write lock before giving up (503).
const BUSY_TIMEOUT_MS: u32 = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database '{url}': {source}; check the path and its permissions (--database or DATABASE_URL)")]
    Open {
        url: String,
        #[source]
        source: ConnectionError,
    },
    #[error("cannot apply migrations: {0}")]
    Migrate(String),
    #[error("cannot set up the connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Where the database lives and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// A file path, `sqlite://path`, or `:memory:` (tests only).
    pub url: String,
    pub read_pool_size: u32,
    pub write_pool_size: u32,
    /// How long a request waits for a free connection before a 503.
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    pub fn path(&self) -> &str {
        self.url.strip_prefix("sqlite://").unwrap_or(&self.url)
    }
}

/// The read and write pools of one database.
#[derive(Clone)]
pub struct Pools {
    pub read: DbPool,
    pub write: DbPool,
}

/// Per-connection settings, applied whenever the pool opens a connection.
#[derive(Debug, Clone, Copy)]
struct Pragmas {
    read_only: bool,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
             PRAGMA synchronous = NORMAL;
             PRAGMA query_only = {};",
            i32::from(self.read_only)
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens one connection, switches the file to WAL (readers never block the
/// writer, nor the writer the readers) and applies pending migrations.
/// Returns the names of the migrations it applied.
pub fn migrate(settings: &DatabaseSettings) -> Result<Vec<String>, DbError> {
    let mut conn = DbConnection::establish(settings.path()).map_err(|source| DbError::Open {
        url: settings.url.clone(),
        source,
    })?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
    ))?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|error| DbError::Migrate(error.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Migrates, then builds both pools.
pub fn open(settings: &DatabaseSettings) -> Result<Pools, DbError> {
    migrate(settings)?;
    let pool = |size: u32, read_only: bool| {
        Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(settings.acquire_timeout)
            .connection_customizer(Box::new(Pragmas { read_only }))
            .build(ConnectionManager::<DbConnection>::new(settings.path()))
    };
    Ok(Pools {
        read: pool(settings.read_pool_size, true)?,
        write: pool(settings.write_pool_size, false)?,
    })
}

/// Runs `f` in a write transaction that holds the database's write lock from
/// its first statement (`BEGIN IMMEDIATE`), and hands it the write stamp.
///
/// The stamp is taken under the lock, so stamps are handed out in commit
/// order, and it is strictly greater than every stamp before it even if the
/// system clock steps back.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    f: impl FnOnce(&mut DbConnection, Timestamp) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.immediate_transaction(|conn| {
        let stamp = next_stamp(conn, clock)?;
        f(conn, stamp)
    })
}

fn next_stamp(conn: &mut DbConnection, clock: &dyn Clock) -> QueryResult<Timestamp> {
    use schema::stamp_clock;
    let last = last_stamp(conn)?.as_micros();
    let stamp = clock.now().as_micros().max(last + 1);
    diesel::update(stamp_clock::table)
        .set(stamp_clock::last_stamp.eq(stamp))
        .execute(conn)?;
    Ok(Timestamp::from_micros(stamp))
}

/// The last stamp handed out by a committed write.
pub fn last_stamp(conn: &mut DbConnection) -> QueryResult<Timestamp> {
    use schema::stamp_clock;
    stamp_clock::table
        .select(stamp_clock::last_stamp)
        .first(conn)
}

/// The commit barrier of a pull (see `visibility.rs`): if the write lock can
/// be had within `attempt`, raises the last stamp to just below `to`, so that
/// every later write is stamped at `to` or after, and returns `true`. Returns
/// `false` if a writer held the lock all along.
pub fn try_close_stamps_below(
    conn: &mut DbConnection,
    to: Timestamp,
    attempt: Duration,
) -> QueryResult<bool> {
    use schema::stamp_clock;
    let below = to.as_micros() - 1;
    // A short busy timeout for this attempt only: a barrier that queued for
    // the lock like a writer could be starved by writers for seconds.
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", attempt.as_millis()))?;
    let closed = conn.immediate_transaction(|conn| {
        diesel::update(stamp_clock::table.filter(stamp_clock::last_stamp.lt(below)))
            .set(stamp_clock::last_stamp.eq(below))
            .execute(conn)
    });
    conn.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
    match closed {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("locked") => {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// `SELECT 1`: does the database answer?
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::select(diesel::dsl::sql::<BigInt>("1"))
        .execute(conn)
        .map(drop)
}

/// Timestamps and amounts are both stored as BIGINT; these impls let diesel
/// read and write them directly, so rows carry the domain types.
macro_rules! bigint_newtype_sql {
    ($type:ty, $from:path, $to:ident) => {
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
                out.set_value(self.$to());
                Ok(diesel::serialize::IsNull::No)
            }
        }
    };
}

bigint_newtype_sql!(Timestamp, Timestamp::from_micros, as_micros);
bigint_newtype_sql!(Money, Money::from_micros, as_micros);
