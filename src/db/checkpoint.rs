//! SQLite: the WAL copied back into the database file by a thread of the
//! server's own, rather than by whichever commit finds it full.
//!
//! SQLite checkpoints as a commit ends once the WAL holds
//! `wal_autocheckpoint` pages, inside that commit: the write it answers
//! waits for pages to be copied and the file synced, and a purge batch of a
//! few hundred game actions (which change pages all over two indexes in
//! random order) took five times as long as one of half its size. A
//! checkpoint takes no write lock, so the [`Checkpointer`] runs them beside
//! the writes, every [`CHECKPOINT_EVERY`], on a connection of its own; the
//! writers' `wal_autocheckpoint` ([`super::pool`]) is only a safety net
//! should it fall behind. PostgreSQL checkpoints by itself.

use super::{DbConnection, DbPool};
use crate::report::cause_chain;
use diesel::connection::SimpleConnection;
use std::sync::mpsc;
use std::time::Duration;

/// How often the WAL is checkpointed: a few dozen pages each time under a
/// steady write load, well before a writer's safety net is reached.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// The checkpointing thread, which stops once this is dropped.
#[derive(Debug)]
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing on `pool`'s connections if the database is a
    /// SQLite file; `None` on PostgreSQL.
    pub fn start(pool: DbPool) -> std::io::Result<Option<Self>> {
        match pool
            .get()
            .map(|mut conn| matches!(&mut *conn, DbConnection::Sqlite(_)))
        {
            Ok(true) => {}
            // A database that cannot be reached now is a SQLite file that
            // will be checkpointed by its writers, or PostgreSQL.
            Ok(false) | Err(_) => return Ok(None),
        }
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("hourglass-checkpoint".into())
            .spawn(move || {
                // Said once when checkpoints start failing, and once when
                // they work again, not twenty times a second.
                let mut failing = false;
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    let done = pool
                        .get()
                        .map_err(super::StorageError::from)
                        .and_then(|mut conn| Ok(checkpoint(&mut conn)?));
                    match done {
                        Err(error) if !failing => {
                            log::warn!("cannot checkpoint the WAL: {}", cause_chain(&error));
                            failing = true;
                        }
                        Ok(()) if failing => {
                            log::info!("the WAL is checkpointed again");
                            failing = false;
                        }
                        _ => {}
                    }
                }
            })?;
        Ok(Some(Checkpointer { _stop: stop }))
    }
}

/// Copies what it can of the WAL into the database file without waiting
/// for anyone (a `PASSIVE` checkpoint).
pub fn checkpoint(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);"),
        DbConnection::Postgresql(_) => Ok(()),
    }
}
