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

pub mod delete;
pub mod erase;
pub mod fields;
pub mod group;

use crate::clock::Clock;
use crate::datasets::catalog::Shape;
use crate::datasets::sql;
use crate::db::row::Value;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::timestamp::Timestamp;
use fields::{FieldError, Fields};
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Map;
use std::fmt;

/// How a batch is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// A JSON array of objects (a lone object, or objects one after another, are read too).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A header row with column names, then one record per row.
    Csv,
}

impl BodyFormat {
    /// From a request's `Content-Type`; without one, from the body's first byte.
    pub fn from_content_type(content_type: Option<&str>, body: &[u8]) -> Result<Self, ApiError> {
        let essence = content_type.map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        match essence.as_deref() {
            Some("application/json") => Ok(BodyFormat::Json),
            Some("application/x-ndjson" | "application/jsonl" | "application/ndjson") => Ok(BodyFormat::Ndjson),
            Some("text/csv") => Ok(BodyFormat::Csv),
            None | Some("") | Some("application/octet-stream") => {
                Ok(match body.iter().find(|b| !b.is_ascii_whitespace()) {
                    Some(b'[') => BodyFormat::Json,
                    Some(b'{') => BodyFormat::Ndjson,
                    _ => BodyFormat::Csv,
                })
            }
            Some(other) => Err(ApiError::UnsupportedMediaType(format!(
                "cannot read a body of type '{other}': send application/json, application/x-ndjson or text/csv"
            ))),
        }
    }

    /// From a file name's extension, for `hourglass import`.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(BodyFormat::Json),
            "ndjson" | "jsonl" => Some(BodyFormat::Ndjson),
            "csv" => Some(BodyFormat::Csv),
            _ => None,
        }
    }
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

/// Bodies in flight: how many, and how many bytes, at most. A write asks
/// for admission before it reads its body and reserves bytes as they
/// arrive; past either bound it gets 503 with `Retry-After`.
#[derive(Debug)]
pub struct UploadBudget {
    max_count: usize,
    max_bytes: usize,
    /// (writes admitted, bytes reserved)
    used: std::sync::Mutex<(usize, usize)>,
}

impl UploadBudget {
    pub fn new(max_count: usize, max_bytes: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(UploadBudget {
            max_count: max_count.max(1),
            max_bytes,
            used: std::sync::Mutex::new((0, 0)),
        })
    }

    fn used(&self) -> std::sync::MutexGuard<'_, (usize, usize)> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for one more write, or a 503 if as many are in flight as allowed.
    pub fn admit(self: &std::sync::Arc<Self>) -> Result<Admission, ApiError> {
        let mut used = self.used();
        if used.0 >= self.max_count {
            return Err(busy_uploads(format!(
                "{} writes are being received already, the most this server takes at once",
                self.max_count
            )));
        }
        used.0 += 1;
        Ok(Admission {
            budget: self.clone(),
            bytes: 0,
        })
    }
}

fn busy_uploads(why: String) -> ApiError {
    ApiError::Busy(format!("{why}; retry in a few seconds"))
}

/// One write's place in the [`UploadBudget`], given back when dropped.
#[derive(Debug)]
pub struct Admission {
    budget: std::sync::Arc<UploadBudget>,
    bytes: usize,
}

impl Admission {
    /// Reserves `more` bytes of the budget, or says the server is busy.
    pub fn reserve(&mut self, more: usize) -> Result<(), ApiError> {
        let mut used = self.budget.used();
        if used.1 + more > self.budget.max_bytes {
            return Err(busy_uploads(format!(
                "the bodies being received already take the {} bytes this server keeps for them",
                self.budget.max_bytes
            )));
        }
        used.1 += more;
        self.bytes += more;
        Ok(())
    }

    /// Bytes reserved so far.
    pub fn reserved(&self) -> usize {
        self.bytes
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut used = self.budget.used();
        used.0 -= 1;
        used.1 -= self.bytes;
    }
}

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
) -> Result<Written, ApiError> {
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
) -> Result<Written, ApiError> {
    let mut pending = Pending::with_chunks(Some(stamp), chunk_rows);
    let rows = pending.add_body(conn, shape, format, body)?;
    pending.flush(conn)?;
    Ok(Written::stamped(shape.dataset, rows, stamp))
}

/// Checks every row of a body without keeping any: how many rows it holds,
/// or what is wrong with the first bad one. Runs before a write is queued.
pub fn validate(shape: &Shape, format: BodyFormat, body: &[u8]) -> Result<usize, ApiError> {
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
    ) -> Result<usize, ApiError> {
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
    pub(crate) fn flush(&mut self, conn: &mut DbConnection) -> Result<(), ApiError> {
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
    ) -> Result<Timestamp, ApiError> {
        Ok(sql::upsert_stamping(conn, now, &self.batches)?)
    }
}

/// Writes rows already in memory (the seed's): one transaction, one stamp.
pub fn write_batch(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    shape: &Shape,
    rows: &[Row],
) -> Result<Written, ApiError> {
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

/// Hands every row of a body to `f`, in order, each parsed and validated,
/// and returns how many there were. Stops at the first bad row, saying what
/// is wrong with it (rows are numbered from 1, not counting a CSV header),
/// or at the first error of `f`. A body without rows is an error.
pub fn for_each_row(
    shape: &Shape,
    format: BodyFormat,
    body: &[u8],
    mut f: impl FnMut(Row) -> Result<(), ApiError>,
) -> Result<usize, ApiError> {
    // Spreadsheets save "CSV UTF-8" with a byte-order mark, which would
    // otherwise become part of the first column's name.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if first_byte(body).is_none() {
        return Err(ApiError::MalformedBody(
            "the body is empty: send at least one row (a JSON array, NDJSON, or CSV with a header row)".into(),
        ));
    }
    let rows = match format {
        BodyFormat::Csv => csv_rows(shape, body, &mut f),
        BodyFormat::Json if first_byte(body) == Some(b'[') => json_array_rows(shape, body, &mut f),
        BodyFormat::Json | BodyFormat::Ndjson => json_object_rows(shape, body, &mut f),
    }?;
    if rows == 0 {
        // A header-only CSV or `[]`: most likely a file that came out empty.
        return Err(ApiError::MalformedBody(
            "the body holds no rows: send at least one".into(),
        ));
    }
    Ok(rows)
}

type RowSink<'a> = &'a mut dyn FnMut(Row) -> Result<(), ApiError>;

/// Reads one row from its fields, every column by its kind.
pub fn parse_row(shape: &Shape, fields: &Fields<'_>) -> Result<Row, FieldError> {
    shape
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            if Some(index) == shape.stamp {
                return Ok(Value::Null);
            }
            column
                .parse(fields.raw(index, &column.name))
                .map_err(|reason| FieldError::new(&column.name, reason))
        })
        .collect()
}

fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn row_error(row: usize, error: FieldError) -> ApiError {
    ApiError::InvalidRow {
        row,
        field: error.field,
        reason: error.reason,
    }
}

/// Refuses columns the dataset does not have, and the stamp column, which is
/// hourglass's to set. Returns the column's index.
fn check_column(shape: &Shape, name: &str) -> Result<usize, FieldError> {
    match shape.column_index(name) {
        Some(index) if Some(index) == shape.stamp => Err(FieldError::new(
            name,
            "is stamped by hourglass on every write; leave it out",
        )),
        Some(index) => Ok(index),
        None => {
            let accepted: Vec<&str> = shape
                .columns
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != shape.stamp)
                .map(|(_, c)| c.name.as_ref())
                .collect();
            Err(FieldError::new(
                name,
                format!(
                    "is not a column here; the columns are: {}",
                    accepted.join(", ")
                ),
            ))
        }
    }
}

/// A JSON object as a row arrives, with the first key it repeats: serde_json
/// alone would keep the last value silently.
struct Object {
    map: Map<String, serde_json::Value>,
    repeated: Option<String>,
}

impl<'de> serde::Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Object, A::Error> {
                let mut object = Object {
                    map: Map::new(),
                    repeated: None,
                };
                while let Some(key) = access.next_key::<String>()? {
                    let value = access.next_value()?;
                    if object.map.contains_key(&key) {
                        object.repeated.get_or_insert(key);
                    } else {
                        object.map.insert(key, value);
                    }
                }
                Ok(object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

fn row_from_object(shape: &Shape, object: &Object) -> Result<Row, FieldError> {
    if let Some(name) = &object.repeated {
        return Err(FieldError::new(name, "is given twice in the row"));
    }
    for name in object.map.keys() {
        check_column(shape, name)?;
    }
    parse_row(shape, &Fields::Json(&object.map))
}

fn csv_rows(shape: &Shape, body: &[u8], f: RowSink<'_>) -> Result<usize, ApiError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(body);
    let headers = reader
        .headers()
        .map_err(|error| {
            ApiError::MalformedBody(format!("cannot read the CSV header row: {error}"))
        })?
        .clone();
    let mut positions = vec![None; shape.columns.len()];
    for (position, name) in headers.iter().enumerate() {
        let index = check_column(shape, name).map_err(|error| row_error(0, error))?;
        if positions[index].replace(position).is_some() {
            return Err(row_error(
                0,
                FieldError::new(name, "is in the header row twice"),
            ));
        }
    }
    let mut record = csv::StringRecord::new();
    let mut rows = 0;
    loop {
        let row = rows + 1;
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(rows),
            Ok(true) => {
                let fields = Fields::Csv {
                    record: &record,
                    positions: &positions,
                };
                f(parse_row(shape, &fields).map_err(|error| row_error(row, error))?)?;
                rows = row;
            }
            Err(error) => {
                return Err(ApiError::MalformedBody(format!(
                    "CSV row {row} cannot be read: {error}"
                )));
            }
        }
    }
}

fn json_object_rows(shape: &Shape, body: &[u8], f: RowSink<'_>) -> Result<usize, ApiError> {
    let mut rows = 0;
    for object in serde_json::Deserializer::from_slice(body).into_iter::<Object>() {
        let row = rows + 1;
        let object = object.map_err(|error| {
            ApiError::MalformedBody(format!("row {row} is not a JSON object: {error}"))
        })?;
        f(row_from_object(shape, &object).map_err(|error| row_error(row, error))?)?;
        rows = row;
    }
    Ok(rows)
}

/// Reads a JSON array element by element, handing each object on as a row
/// as it goes, so the parsed JSON of the whole batch is never held at once.
fn json_array_rows(shape: &Shape, body: &[u8], f: RowSink<'_>) -> Result<usize, ApiError> {
    let mut failure = None;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = RowsSeed {
        shape,
        f,
        failure: &mut failure,
    }
    .deserialize(&mut deserializer)
    .and_then(|rows| deserializer.end().map(|()| rows));
    match (parsed, failure) {
        (_, Some(error)) => Err(error),
        (Ok(rows), None) => Ok(rows),
        (Err(error), None) => Err(ApiError::MalformedBody(format!(
            "the body is not a JSON array of objects: {error}"
        ))),
    }
}

struct RowsSeed<'a, 'f> {
    shape: &'a Shape,
    f: RowSink<'f>,
    /// Why the rows stopped, when it was not the JSON's fault.
    failure: &'a mut Option<ApiError>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, '_> {
    type Value = usize;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, '_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut rows = 0;
        while let Some(object) = seq.next_element::<Object>()? {
            let row = rows + 1;
            let handed = row_from_object(self.shape, &object)
                .map_err(|error| row_error(row, error))
                .and_then(|parsed| (self.f)(parsed));
            if let Err(error) = handed {
                *self.failure = Some(error);
                return Err(A::Error::custom("stopped"));
            }
            rows = row;
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::catalog::Catalog;
    use crate::datasets::Dataset;

    const GOOD: &str = r#"{"id": 1, "player_id": "p-7", "amount": 12.345678, "currency": "EUR", "dir": "in", "type": "cash back", "created_at": "2020-10-10 07:00:00"}"#;

    /// Every row of a batch, in memory.
    fn parse_batch(shape: &Shape, format: BodyFormat, body: &[u8]) -> Result<Vec<Row>, ApiError> {
        let mut rows = Vec::new();
        for_each_row(shape, format, body, |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    fn parse(dataset: &str, format: BodyFormat, body: &str) -> Result<Vec<Row>, ApiError> {
        let catalog = Catalog::new(Vec::new());
        parse_batch(
            catalog.shape(Dataset::named(dataset)),
            format,
            body.as_bytes(),
        )
    }

    #[test]
    fn json_numbers_are_read_exactly_and_enums_canonicalised() {
        let rows = parse("transactions", BodyFormat::Json, &format!("[{GOOD}]")).unwrap();
        assert_eq!(
            rows[0][0],
            Value::Text("1".into()),
            "a numeric id is kept as its digits"
        );
        assert_eq!(rows[0][2], Value::Int(12_345_678));
        assert_eq!(rows[0][7], Value::Text("IN".into()));
        assert_eq!(rows[0][4], Value::Text("Cash back".into()));
    }

    #[test]
    fn the_first_bad_row_is_named() {
        let body = format!("[{GOOD}, {}]", GOOD.replace("12.345678", "\"12,5\""));
        match parse("transactions", BodyFormat::Json, &body) {
            Err(ApiError::InvalidRow { row: 2, field, .. }) => assert_eq!(field, "amount"),
            other => panic!("{other:?}"),
        }
        let body = GOOD.replace(
            "\"id\": 1",
            "\"updated_at\": \"2020-10-10 07:00:00\", \"id\": 1",
        );
        match parse("transactions", BodyFormat::Ndjson, &body) {
            Err(ApiError::InvalidRow {
                row: 1,
                field,
                reason,
            }) => {
                assert_eq!(field, "updated_at");
                assert!(reason.contains("stamped by hourglass"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn csv_reads_booleans_as_words_or_digits() {
        // As a spreadsheet saves it: a byte-order mark and CRLF line ends.
        let body = "\u{feff}id,player_id,created_at,is_success\r\n1,7,2020-10-10 07:00:00,1\r\n2,7,2020-10-10 07:00:00,false\r\n3,7,2020-10-10 07:00:00,\r\n";
        let rows = parse("logins", BodyFormat::Csv, body).unwrap();
        let flags: Vec<_> = rows.iter().map(|r| r[8].clone()).collect();
        assert_eq!(flags, [Value::Bool(true), Value::Bool(false), Value::Null]);
    }

    #[test]
    fn a_csv_column_given_twice_is_refused() {
        let body = "id,player_id,id,created_at\n1,7,2,2020-10-10 07:00:00\n";
        match parse("logins", BodyFormat::Csv, body) {
            Err(ApiError::InvalidRow {
                row: 0,
                field,
                reason,
            }) => {
                assert_eq!(field, "id");
                assert!(reason.contains("twice"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
