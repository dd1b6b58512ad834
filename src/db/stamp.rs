//! The write stamp: every write transaction takes the next stamp of the
//! database's one stamp clock, under its lock, so that stamps are handed out
//! in commit order; a pull's barrier (`visibility.rs`) closes the stamps
//! below the end of its window.

use super::{schema, DbConnection, BUSY_TIMEOUT_MS};
use crate::clock::Clock;
use crate::timestamp::Timestamp;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use std::time::Duration;

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
