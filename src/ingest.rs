//! The write path, shared by `POST /api/<dataset>` and `hourglass import`.
//!
//! A batch arrives as a JSON array, NDJSON or CSV. One bad row rejects the
//! batch with its row number, field and reason, and nothing of it is
//! written. The server reads and checks every row before anything is
//! written ([`validate`], which keeps no row), then queues the body for the
//! next group commit ([`group`]): the writes that arrive together share one
//! transaction and one stamp, and each is answered once that transaction
//! has committed. The body is parsed again as it is written, a chunk of rows
//! at a time ([`Pending`]), so a write holds its body and one chunk in
//! memory. Bodies in flight share an [`UploadBudget`]. `hourglass import`
//! parses its file once, inside its transaction ([`ingest`]).

mod budget;
pub mod delete;
pub mod erase;
pub mod fields;
mod format;
pub mod group;
mod rows;

use crate::clock::Clock;
use crate::datasets::catalog::Shape;
use crate::datasets::sql;
use crate::db::row::Value;
use crate::db::{self, DbConnection, StorageError};
use crate::timestamp::Timestamp;

pub use budget::{Admission, BudgetFull, UploadBudget};
pub use format::BodyFormat;
pub use rows::{for_each_row, parse_row};

/// Why a write was refused; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body cannot be read at all (not JSON, not CSV, empty, ...).
    #[error("{0}")]
    Malformed(String),
    /// The body's media type is not one hourglass reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// One row is invalid.
    #[error(transparent)]
    Row(#[from] RowError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

db::storage_errors_into!(IngestError);

/// One row of a batch is invalid: its number (from 1, not counting a CSV
/// header; 0 for the header itself), the field, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {row}: field '{field}' {reason}; nothing was written")]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub reason: String,
}

/// What a successful write did.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Written {
    pub dataset: &'static str,
    /// Rows stored: a batch that repeats a key stores its last row once.
    pub rows: usize,
    /// The stamp every row of the batch was written with (absent for an empty batch).
    #[serde(serialize_with = "serialize_stamp")]
    pub stamp: Option<Timestamp>,
}

impl Written {
    /// `rows` rows of `dataset`, written under `stamp`.
    pub(crate) fn stamped(
        dataset: crate::datasets::Dataset,
        rows: usize,
        stamp: Timestamp,
    ) -> Self {
        Written {
            dataset: dataset.name(),
            rows,
            stamp: Some(stamp),
        }
    }
}

pub(crate) fn serialize_stamp<S: serde::Serializer>(
    stamp: &Option<Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match stamp {
        Some(stamp) => s.serialize_str(&stamp.to_string()),
        None => s.serialize_none(),
    }
}

/// One validated row: a value for each column of its dataset's [`Shape`],
/// in column order (the stamp's slot is filled when it is written).
pub type Row = Vec<Value>;

/// Rows written per statement group: what a write holds in memory besides
/// its body.
pub(crate) const WRITE_CHUNK_ROWS: usize = 5_000;

/// The same for `hourglass import`, whose whole file is in memory anyway.
/// Each chunk is written in key order, so it walks the key indexes once;
/// fewer, larger chunks walk them fewer times (a 1,000,000-row import of
/// random UUIDs into SQLite took 14.8 s in chunks of 5,000, 11.3 s in chunks
/// of 50,000, before the player index; with it, 13.8 s in chunks of 50,000
/// and 12.7 s in chunks of 100,000, for about 40 MB more memory each time).
const IMPORT_CHUNK_ROWS: usize = 100_000;

/// Reads a whole batch for `shape`'s dataset and writes it in one
/// transaction, checking each row as it goes: the first bad row rolls the
/// transaction back, so nothing of a bad batch is written. One pass over the
/// body, for `hourglass import`; the server checks a body with [`validate`]
/// before it queues it for a group commit (see [`group`]).
pub fn ingest(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    shape: &Shape,
    format: BodyFormat,
    body: &[u8],
) -> Result<Written, IngestError> {
    db::write_transaction(conn, clock, |conn, stamp| {
        write_body(conn, stamp, IMPORT_CHUNK_ROWS, shape, format, body)
    })
}

/// Writes one body in the write transaction of `stamp`, in chunks of
/// `chunk_rows`: a file's, or one write of a group written apart.
pub(crate) fn write_body(
    conn: &mut DbConnection,
    stamp: Timestamp,
    chunk_rows: usize,
    shape: &Shape,
    format: BodyFormat,
    body: &[u8],
) -> Result<Written, IngestError> {
    let mut pending = Pending::with_chunks(Some(stamp), chunk_rows);
    let rows = pending.add_body(conn, shape, format, body)?;
    pending.flush(conn)?;
    Ok(Written::stamped(shape.dataset, rows, stamp))
}

/// Checks every row of a body without keeping any: how many rows it holds,
/// or what is wrong with the first bad one. Runs before a write is queued.
pub fn validate(shape: &Shape, format: BodyFormat, body: &[u8]) -> Result<usize, IngestError> {
    for_each_row(shape, format, body, |_| Ok(()))
}

/// Rows on their way into a write transaction, all under its stamp, in a
/// batch per dataset: rows of one dataset share statements, whichever body
/// they came from, so a group of single-row writes is one round trip. A
/// write transaction's rows are written whenever a chunk's worth has
/// gathered, so memory holds one chunk and never every row of a large
/// batch; rows gathered for one statement that takes the stamp itself
/// ([`Pending::gathering`]) are kept until [`Pending::write_stamping`].
pub(crate) struct Pending<'s> {
    /// The transaction's stamp; `None` while rows are gathered.
    stamp: Option<Timestamp>,
    batches: Vec<(&'s Shape, Vec<Row>)>,
    rows: usize,
    chunk_rows: usize,
}

impl<'s> Pending<'s> {
    /// For a server's write transaction, in chunks of [`WRITE_CHUNK_ROWS`].
    pub(crate) fn new(stamp: Timestamp) -> Self {
        Self::with_chunks(Some(stamp), WRITE_CHUNK_ROWS)
    }

    /// For one statement that takes the stamp itself: every row is kept.
    pub(crate) fn gathering() -> Self {
        Self::with_chunks(None, usize::MAX)
    }

    fn with_chunks(stamp: Option<Timestamp>, chunk_rows: usize) -> Self {
        Pending {
            stamp,
            batches: Vec::new(),
            rows: 0,
            chunk_rows,
        }
    }

    /// Parses `body` and adds its rows. Returns how many rows the body
    /// leaves stored: its distinct keys (a body that repeats a key stores
    /// its last row once).
    pub(crate) fn add_body(
        &mut self,
        conn: &mut DbConnection,
        shape: &'s Shape,
        format: BodyFormat,
        body: &[u8],
    ) -> Result<usize, IngestError> {
        // The same dataset under another catalog (a custom field declared
        // meanwhile) has other columns: it gets a batch of its own.
        let batch = match self
            .batches
            .iter()
            .position(|(s, _)| std::ptr::eq(*s, shape))
        {
            Some(batch) => batch,
            None => {
                self.batches.push((shape, Vec::new()));
                self.batches.len() - 1
            }
        };
        let mut keys = std::collections::HashSet::new();
        for_each_row(shape, format, body, |row| {
            keys.insert(row[shape.key].clone());
            self.batches[batch].1.push(row);
            self.rows += 1;
            if self.rows >= self.chunk_rows {
                self.flush(conn)?;
            }
            Ok(())
        })?;
        Ok(keys.len())
    }

    /// Writes the rows added since the last flush, in a write transaction.
    pub(crate) fn flush(&mut self, conn: &mut DbConnection) -> Result<(), IngestError> {
        let stamp = self
            .stamp
            .expect("rows gathered for one statement are not flushed");
        for (shape, rows) in &mut self.batches {
            if !rows.is_empty() {
                sql::upsert(conn, shape, rows, stamp)?;
                rows.clear();
            }
        }
        self.rows = 0;
        Ok(())
    }

    /// Writes the gathered rows in one statement that takes the stamp
    /// (PostgreSQL; see [`sql::upsert_stamping`]) and returns the stamp.
    pub(crate) fn write_stamping(
        self,
        conn: &mut diesel::PgConnection,
        now: Timestamp,
    ) -> Result<Timestamp, IngestError> {
        Ok(sql::upsert_stamping(conn, now, &self.batches)?)
    }
}

/// Writes rows already in memory (the seed's): one transaction, one stamp.
pub fn write_batch(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    shape: &Shape,
    rows: &[Row],
) -> Result<Written, IngestError> {
    let dataset = shape.dataset.name();
    if rows.is_empty() {
        return Ok(Written {
            dataset,
            rows: 0,
            stamp: None,
        });
    }
    db::write_transaction(conn, clock, |conn, stamp| {
        Ok(Written::stamped(
            shape.dataset,
            sql::upsert(conn, shape, rows, stamp)?,
            stamp,
        ))
    })
}
