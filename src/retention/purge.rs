//! The purge itself: batches that delete a retained dataset's oldest rows
//! on the connection [`Purger`] gives them, sized toward [`BATCH_TARGET`]
//! of write-lock time (see the parent module's doc for the rules).

use crate::datasets::catalog::Shape;
use crate::datasets::{Dataset, Role};
use crate::db::statement::{execute, quote, Statement};
use crate::db::{with_backend, DbConnection, DbPool, PooledConn, Pools, StorageError};
use crate::timestamp::Timestamp;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryResult, RunQueryDsl};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long one purge batch aims to hold the write lock; batches grow and
/// shrink to stay near it, and never reach the ~50 ms a write may wait.
pub const BATCH_TARGET: Duration = Duration::from_millis(10);

/// Rows in the first batch, and the bounds batches stay within.
const FIRST_BATCH: i64 = 500;
const MIN_BATCH: i64 = 50;
const MAX_BATCH: i64 = 20_000;

/// Sessions marked per statement: well under both backends' bind limits.
const SESSIONS_PER_STATEMENT: usize = 500;

/// The PostgreSQL advisory lock a purging server holds ("hour").
const PURGE_LOCK: i64 = 0x686f_7572;

/// The connection a purge writes on.
///
/// On PostgreSQL, the purge pool's, held throughout: the advisory lock that
/// lets one server purge at a time belongs to its session, and a batch's
/// row locks hold up no write of new rows. On SQLite every write takes the
/// file's one lock, and a connection waiting for it polls (its busy handler
/// sleeps 1, 2, 5… ms between tries), so a purge on a connection of its own
/// lost the lock to writes arriving back to back for seconds at a time.
/// There, each batch takes the committer's one connection from the write
/// pool and gives it back: batches and write groups take turns, each woken
/// the moment the other is done, and nobody polls.
pub(super) enum Purger<'a> {
    Held(PooledConn),
    Shared(&'a DbPool),
}

impl<'a> Purger<'a> {
    /// A purger, or `None` if another server is purging.
    pub(super) fn take(pools: &'a Pools) -> Result<Option<Self>, StorageError> {
        let mut conn = pools.maintenance.get()?;
        Ok(match &mut *conn {
            DbConnection::Sqlite(_) => Some(Purger::Shared(&pools.write)),
            DbConnection::Postgresql(c) => {
                #[derive(diesel::QueryableByName)]
                struct Taken {
                    #[diesel(sql_type = diesel::sql_types::Bool)]
                    taken: bool,
                }
                let lock = format!("SELECT pg_try_advisory_lock({PURGE_LOCK}) AS taken");
                let taken = diesel::sql_query(lock).get_result::<Taken>(c)?.taken;
                taken.then_some(Purger::Held(conn))
            }
        })
    }

    /// Runs `f` on the purge's connection.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match self {
            Purger::Held(conn) => f(conn),
            Purger::Shared(write) => f(&mut *write.get()?),
        }
    }

    /// Runs a batch on the purge's connection without waiting for the disk
    /// at its commit: a batch lost to a power cut is purged again by the
    /// next, and the next durable commit (a write's) makes it durable too,
    /// since both logs are written in order. Waiting for the disk took as
    /// long as deleting a small batch, while writes queued behind it.
    fn batch<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.with(|conn| {
            let DbConnection::Sqlite(c) = conn else {
                return f(conn);
            };
            c.batch_execute("PRAGMA synchronous = NORMAL")?;
            let result = f(conn);
            // The writers' setting (`db::pool`), whatever the batch did.
            // Setting it touches no page, so it does not fail once the
            // batch's own setting took.
            let restored = with_backend!(conn, c => c.batch_execute("PRAGMA synchronous = FULL"));
            let value = result?;
            restored?;
            Ok(value)
        })
    }

    /// Between batches, after one that held the lock `held`: writes waiting
    /// for the connection or the lock take it meanwhile. A quarter of the
    /// batch's time is plenty for them to be woken and start, and leaves
    /// the purge most of an idle server.
    fn pause(held: Duration) {
        std::thread::sleep((held / 4).max(Duration::from_millis(1)));
    }

    /// Gives the advisory lock back.
    pub(super) fn release(mut self) -> Result<(), StorageError> {
        if let Purger::Held(conn) = &mut self {
            let unlock = format!("SELECT pg_advisory_unlock({PURGE_LOCK})");
            with_backend!(&mut **conn, c => diesel::sql_query(unlock).execute(c))?;
        }
        Ok(())
    }
}

/// Records `dataset`'s horizon, never moving it back.
fn record_horizon(
    conn: &mut DbConnection,
    dataset: Dataset,
    horizon: Timestamp,
) -> QueryResult<()> {
    let greatest = match conn {
        DbConnection::Sqlite(_) => "max",
        DbConnection::Postgresql(_) => "GREATEST",
    };
    execute(
        conn,
        Statement::new("INSERT INTO retention_horizons (dataset, horizon) VALUES (")
            .bind_text(dataset.name())
            .sql(", ")
            .bind_int(horizon.as_micros())
            .sql(format!(
                ") ON CONFLICT (dataset) DO UPDATE SET horizon = \
                 {greatest}(retention_horizons.horizon, excluded.horizon)"
            )),
    )
    .map(drop)
}

/// Where a dataset's rows are stored and stamped.
pub(super) struct Target {
    table: String,
    stamp: String,
    key: String,
    /// Purging game actions marks their sessions.
    actions: bool,
}

impl Target {
    pub(super) fn of(shape: &Shape) -> Self {
        let column = |i: usize| quote(shape.columns[i].sql_name());
        let stamp = match (shape.stamp, shape.dataset.def().role) {
            (Some(stamp), _) => column(stamp),
            // Kept sessions carry their own stamp, outside the dataset's columns.
            (None, Role::Computed { .. }) => quote("modified_at"),
            (None, _) => unreachable!("{} has no stamp to purge by", shape.dataset.name()),
        };
        Target {
            table: quote(shape.dataset.name()),
            stamp,
            key: column(shape.key),
            actions: matches!(shape.dataset.def().role, Role::WriteOnly { .. }),
        }
    }
}

/// Purges one dataset's rows stamped before `horizon`, a batch per
/// transaction, each of which records the horizon first (so that it is
/// recorded even when there is nothing to purge, and never after a purged
/// row is gone); calls `purged` after each batch.
pub(super) fn purge_dataset(
    purger: &mut Purger,
    dataset: Dataset,
    target: &Target,
    horizon: Timestamp,
    stopping: &AtomicBool,
    mut purged: impl FnMut(usize),
) -> Result<(), StorageError> {
    let mut batch = FIRST_BATCH;
    // Where the last batch ended: see `delete_batch`.
    let mut floor = None;
    // Sessions a writer held when their actions went: marked in a later batch.
    let mut unmarked = BTreeSet::new();
    while !stopping.load(Ordering::Relaxed) {
        let mut locked = Instant::now();
        let rows = purger.batch(|conn| {
            conn.transaction(|conn| -> Result<usize, StorageError> {
                // Durable with the next write's commit (see `Purger::batch`).
                if let DbConnection::Postgresql(c) = conn {
                    c.batch_execute("SET LOCAL synchronous_commit = off")?;
                }
                // A write first: it takes the write lock (SQLite's, or the
                // horizon's row), and the batch's time counts from then, so
                // that time queued behind writers does not shrink batches.
                record_horizon(conn, dataset, horizon)?;
                locked = Instant::now();
                let (rows, sessions, last) = delete_batch(conn, target, horizon, floor, batch)?;
                floor = last.or(floor);
                unmarked.extend(sessions);
                if !unmarked.is_empty() {
                    unmarked = mark_sessions(conn, &unmarked, false)?;
                }
                Ok(rows)
            })
        })?;
        let held = locked.elapsed();
        log::debug!(
            "purged a batch of {rows} of {batch} {} rows in {held:?}",
            dataset.name()
        );
        if rows > 0 {
            purged(rows);
        }
        if (rows as i64) < batch {
            break;
        }
        batch = next_batch(batch, held);
        Purger::pause(held);
    }
    if !unmarked.is_empty() {
        purger.with(|conn| conn.transaction(|conn| mark_sessions(conn, &unmarked, true)))?;
    }
    Ok(())
}

/// The next batch's size: toward [`BATCH_TARGET`] of lock time.
fn next_batch(batch: i64, held: Duration) -> i64 {
    let next = if held > BATCH_TARGET * 3 / 2 {
        batch / 2
    } else if held < BATCH_TARGET / 2 {
        batch * 2
    } else {
        batch
    };
    next.clamp(MIN_BATCH, MAX_BATCH)
}

/// Deletes up to `batch` of the oldest rows stamped before `horizon`, found
/// on the stamp's index from `floor` (the last batch's latest stamp) on.
/// Returns how many, the sessions of purged game actions, and the latest
/// stamp purged.
///
/// The floor matters on PostgreSQL, where a deleted row stays in the index
/// until vacuum: without it each batch walked past every row the purge had
/// already deleted, so batches slowed as the purge went on (1,600 rows/s
/// at 20 million). No row appears below the floor meanwhile, since every
/// write takes a later stamp; one committed late with an earlier stamp is
/// left to the next purge, which starts from the bottom.
fn delete_batch(
    conn: &mut DbConnection,
    target: &Target,
    horizon: Timestamp,
    floor: Option<i64>,
    batch: i64,
) -> Result<(usize, Vec<String>, Option<i64>), StorageError> {
    let Target {
        table, stamp, key, ..
    } = target;
    // SQLite finds a row by its rowid, which every index holds; PostgreSQL
    // by the key, which the window index holds.
    let row = match conn {
        DbConnection::Sqlite(_) => "rowid",
        DbConnection::Postgresql(_) => key.as_str(),
    };
    let returning = if target.actions {
        "session_id"
    } else {
        "NULL AS session_id"
    };
    let mut delete = Statement::new(format!(
        "DELETE FROM {table} WHERE {row} IN (SELECT {row} FROM {table} WHERE {stamp} < "
    ))
    .bind_int(horizon.as_micros());
    if let Some(floor) = floor {
        delete = delete.sql(format!(" AND {stamp} >= ")).bind_int(floor);
    }
    let delete = delete
        .sql(format!(" ORDER BY {stamp} LIMIT "))
        .bind_int(batch)
        .sql(format!(") RETURNING {returning}, {stamp} AS stamp"));
    #[derive(diesel::QueryableByName)]
    struct Gone {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        session_id: Option<String>,
        #[diesel(sql_type = BigInt)]
        stamp: i64,
    }
    let gone: Vec<Gone> = with_backend!(conn, c => delete.load(c))?;
    let rows = gone.len();
    let last = gone.iter().map(|g| g.stamp).max();
    let sessions = gone.into_iter().filter_map(|g| g.session_id).collect();
    Ok((rows, sessions, last))
}

/// Marks the sessions of purged actions. On PostgreSQL a session a writer
/// holds is skipped rather than waited for (the writer may be waiting for
/// this transaction's deleted actions); the ones not marked are returned,
/// to be tried with the next batch and, at the end, waited for.
fn mark_sessions(
    conn: &mut DbConnection,
    sessions: &BTreeSet<String>,
    wait: bool,
) -> Result<BTreeSet<String>, StorageError> {
    let sessions: Vec<&str> = sessions.iter().map(String::as_str).collect();
    let mut left = BTreeSet::new();
    for chunk in sessions.chunks(SESSIONS_PER_STATEMENT) {
        if wait || matches!(conn, DbConnection::Sqlite(_)) {
            let update = Statement::new(
                "UPDATE game_sessions SET actions_purged = TRUE WHERE session_id IN ",
            )
            .in_list(chunk);
            execute(conn, update)?;
            continue;
        }
        #[derive(diesel::QueryableByName)]
        struct Marked {
            #[diesel(sql_type = Text)]
            session_id: String,
        }
        let update = Statement::new(
            "UPDATE game_sessions SET actions_purged = TRUE WHERE session_id IN \
             (SELECT session_id FROM game_sessions WHERE session_id IN ",
        )
        .in_list(chunk)
        .sql(" FOR UPDATE SKIP LOCKED) RETURNING session_id");
        let marked: Vec<Marked> = with_backend!(conn, c => update.load(c))?;
        let marked: BTreeSet<String> = marked.into_iter().map(|m| m.session_id).collect();
        // Those held by a writer, and those gone since (deleted), which the
        // last, waiting try finds no more.
        left.extend(
            chunk
                .iter()
                .filter(|s| !marked.contains(**s))
                .map(|s| s.to_string()),
        );
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_grow_and_shrink_toward_the_target() {
        assert_eq!(next_batch(500, Duration::from_millis(1)), 1000);
        assert_eq!(next_batch(500, BATCH_TARGET), 500);
        assert_eq!(next_batch(500, BATCH_TARGET * 4), 250);
        assert_eq!(next_batch(MIN_BATCH, Duration::from_secs(1)), MIN_BATCH);
        assert_eq!(next_batch(MAX_BATCH, Duration::ZERO), MAX_BATCH);
    }
}
