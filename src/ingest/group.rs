//! Group commit: the writes that arrive together share one transaction and
//! one stamp.
//!
//! A 2xx on a write means its rows survive a power cut, so every write waits
//! for a commit, and a commit waits for the disk. Were each request its own
//! commit, writes would run one flush after another: every writer of a
//! database queues on the stamp clock (`db::write_transaction`), across
//! instances too. So each server has one [`Committer`], a thread of its own.
//! A write request checks its body, queues it and waits; the committer takes
//! every write queued by then into one transaction under one stamp, commits
//! it, and answers each. The writes that queue while a group commits form
//! the next group: the commit rate stays what the disk allows, and the write
//! rate grows with the number of writers. A write that arrives alone
//! commits at once; nothing waits on a timer to fill a group. On PostgreSQL
//! a group of up to [`sql::STAMPING_VALUES`] values is a single statement
//! that takes the stamp and writes every row, alone in its transaction: one
//! round trip, and the clock's lock held only while the server runs and
//! commits it. One committer is the fastest: more split the writes that
//! arrive together into smaller groups, which then queue on the lock.
//!
//! Atomicity stays per request. A group is first written as a whole (rows of
//! one dataset share statements, whichever request they came from). Should a
//! statement fail, the transaction is rolled back and the group written
//! again with each request in a savepoint of its own: a request that fails
//! gets its own error and the others commit. Bodies are checked before they
//! are queued (`ingest::validate`), so a bad row is a 422 for its request
//! alone, before it joins a group at all; the savepoints are for what only
//! the database can refuse.

use super::{Admission, BodyFormat, IngestError, Pending, Written, WRITE_CHUNK_ROWS};
use crate::clock::Clock;
use crate::datasets::catalog::{Catalog, Shape};
use crate::datasets::{sql, Dataset};
use crate::db::{self, DbConnection, DbPool, StorageError};
use crate::report::cause_chain;
use bytes::Bytes;
use diesel::Connection;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// Writes a group takes at most. Past a few hundred the flush is paid for
/// many times over, and a bound keeps one group's transaction short.
const GROUP_MAX_WRITES: usize = 1_000;

/// Body bytes a group takes at most, for the same reason: a large batch
/// still commits alone or with a few others.
const GROUP_MAX_BYTES: usize = 16 * 1024 * 1024;

/// A body that [`super::validate`] accepted, ready to be written.
pub struct Write {
    /// The catalog the body was checked against.
    pub catalog: Arc<Catalog>,
    pub dataset: Dataset,
    pub format: BodyFormat,
    pub body: Bytes,
    /// Rows in the body, as [`super::validate`] counted them.
    pub rows: usize,
    /// The body's place in the upload budget, given back once it is written.
    pub admission: Option<Admission>,
}

impl Write {
    fn shape(&self) -> &Shape {
        self.catalog.shape(self.dataset)
    }
}

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Written, IngestError>>,
}

/// The server's writer: one thread, one write connection at a time, a
/// group of writes per transaction (see the module doc).
#[derive(Debug)]
pub struct Committer {
    queue: mpsc::Sender<Job>,
    /// Writes queued or being written.
    waiting: Arc<AtomicUsize>,
}

impl Committer {
    /// Starts the committer's thread, which writes on `pool` and stops once
    /// the committer is dropped.
    pub fn start(pool: DbPool, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        let counter = waiting.clone();
        std::thread::Builder::new()
            .name("hourglass-commit".into())
            .spawn(move || run(&jobs, &pool, clock.as_ref(), &counter))?;
        Ok(Committer { queue, waiting })
    }

    /// Queues `write` for the next group and waits until the transaction
    /// that holds it has committed (or failed).
    pub async fn write(&self, write: Write) -> Result<Written, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(Job { write, reply }).is_err() {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(failed("the committer thread has stopped"));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(failed("the committer thread stopped before it answered")))
    }

    /// Writes queued or being written now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

fn run(jobs: &mpsc::Receiver<Job>, pool: &DbPool, clock: &dyn Clock, waiting: &AtomicUsize) {
    while let Some(group) = next_group(jobs) {
        let writes: Vec<&Write> = group.iter().map(|job| &job.write).collect();
        // A bug that panics fails its group, not every later write.
        let results = std::panic::catch_unwind(AssertUnwindSafe(|| commit(pool, clock, &writes)))
            .unwrap_or_else(|_| {
                everyone(failed("writing a group of writes panicked"), writes.len())
            });
        waiting.fetch_sub(group.len(), Ordering::SeqCst);
        for (Job { write, reply }, result) in group.into_iter().zip(results) {
            // The body's place in the upload budget is given back before the
            // answer, so a client that writes again once answered finds it free.
            drop(write);
            // A client that has gone away is no error: its rows are written
            // all the same, and a retry upserts them again.
            let _ = reply.send(result);
        }
    }
}

/// Waits for a write, then takes everything queued by then, up to a group's
/// bounds; `None` once the committer is gone.
fn next_group(jobs: &mpsc::Receiver<Job>) -> Option<Vec<Job>> {
    let first = jobs.recv().ok()?;
    let mut bytes = first.write.body.len();
    let mut group = vec![first];
    while group.len() < GROUP_MAX_WRITES && bytes < GROUP_MAX_BYTES {
        let Ok(job) = jobs.try_recv() else { break };
        bytes += job.write.body.len();
        group.push(job);
    }
    Some(group)
}

/// Writes a group in one transaction under one stamp; one result per write,
/// in order.
pub fn commit(
    pool: &DbPool,
    clock: &dyn Clock,
    writes: &[&Write],
) -> Vec<Result<Written, IngestError>> {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(error) => return everyone(IngestError::from(error), writes.len()),
    };
    let results = write(&mut conn, clock, writes);
    if results
        .iter()
        .any(|result| matches!(result, Err(IngestError::Storage(_))))
    {
        // Perhaps the connection's fault: it is pinged as it goes back to
        // the pool, and replaced if it does not answer.
        db::check_on_return();
    }
    results
}

fn write(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    writes: &[&Write],
) -> Vec<Result<Written, IngestError>> {
    match write_together(conn, clock, writes) {
        Ok(written) => written.into_iter().map(Ok).collect(),
        Err(error) if writes.len() == 1 => vec![Err(error)],
        // A lock or a connection, not a row: writing apart would only wait again.
        Err(error @ IngestError::Storage(StorageError::Unavailable(_))) => {
            everyone(error, writes.len())
        }
        Err(error) => {
            log::warn!(
                "a group of {} writes failed ({}); writing each in a savepoint of its own",
                writes.len(),
                cause_chain(&error)
            );
            write_apart(conn, clock, writes).unwrap_or_else(|error| everyone(error, writes.len()))
        }
    }
}

fn write_together(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    writes: &[&Write],
) -> Result<Vec<Written>, IngestError> {
    let values: usize = writes
        .iter()
        .map(|write| write.rows * write.shape().columns.len())
        .sum();
    if values <= sql::STAMPING_VALUES && matches!(conn, DbConnection::Postgresql(_)) {
        return write_in_one_statement(conn, clock, writes);
    }
    db::write_transaction(conn, clock, |conn, stamp| {
        let mut pending = Pending::new(stamp);
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            let rows = pending.add_body(conn, write.shape(), write.format, &write.body)?;
            written.push(Written::stamped(write.dataset, rows, stamp));
        }
        pending.flush(conn)?;
        Ok(written)
    })
}

/// PostgreSQL, a group of at most [`sql::STAMPING_VALUES`] values: one
/// statement that takes the stamp and writes every row, alone in its
/// transaction (see [`sql::upsert_stamping`]).
fn write_in_one_statement(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    writes: &[&Write],
) -> Result<Vec<Written>, IngestError> {
    let mut pending = Pending::gathering();
    let mut stored = Vec::with_capacity(writes.len());
    for write in writes {
        stored.push(pending.add_body(conn, write.shape(), write.format, &write.body)?);
    }
    let DbConnection::Postgresql(pg) = conn else {
        unreachable!("only PostgreSQL writes a group in one statement")
    };
    let stamp = pending.write_stamping(pg, clock.now())?;
    Ok(writes
        .iter()
        .zip(stored)
        .map(|(write, rows)| Written::stamped(write.dataset, rows, stamp))
        .collect())
}

/// The group again, each write in a savepoint of its own: a write that
/// fails is rolled back alone.
fn write_apart(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    writes: &[&Write],
) -> Result<Vec<Result<Written, IngestError>>, IngestError> {
    db::write_transaction(conn, clock, |conn, stamp| {
        Ok(writes
            .iter()
            .map(|write| {
                // Nested in the write transaction, this is a savepoint.
                conn.transaction(|conn| {
                    let (shape, format, body) = (write.shape(), write.format, &write.body);
                    super::write_body(conn, stamp, WRITE_CHUNK_ROWS, shape, format, body)
                })
            })
            .collect())
    })
}

/// A failure of the committer itself, not of a write: answered 500.
fn failed(why: &str) -> IngestError {
    IngestError::Storage(StorageError::Failed(why.into()))
}

/// One failure, answered to every write of a group: the first gets the
/// error itself (and the log its cause chain), the others its text.
fn everyone(error: IngestError, writes: usize) -> Vec<Result<Written, IngestError>> {
    let cause = cause_chain(&error);
    let again = |cause: &str| {
        IngestError::Storage(match error {
            IngestError::Storage(StorageError::Unavailable(_)) => {
                StorageError::Unavailable(cause.into())
            }
            _ => StorageError::Failed(cause.into()),
        })
    };
    let mut results: Vec<_> = (1..writes).map(|_| Err(again(&cause))).collect();
    results.insert(0, Err(error));
    results
}
