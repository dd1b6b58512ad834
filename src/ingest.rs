//! The write path, shared by `POST /api/<dataset>` and `hourglass import`.
//!
//! A batch arrives as a JSON array, NDJSON or CSV. Every row is read and
//! validated before anything is written; then the whole batch is upserted in
//! one transaction under one write stamp. One bad row rejects the batch with
//! its row number, field and reason, and nothing is written.

pub mod fields;

use crate::clock::Clock;
use crate::datasets::{with_row_type, Dataset, Push};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::timestamp::Timestamp;
use fields::{FieldError, Fields};
use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde_json::{Map, Value};
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
    pub rows: usize,
    /// The stamp every row of the batch was written with (absent for an empty batch).
    #[serde(serialize_with = "serialize_stamp")]
    pub stamp: Option<Timestamp>,
}

fn serialize_stamp<S: serde::Serializer>(
    stamp: &Option<Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match stamp {
        Some(stamp) => s.serialize_str(&stamp.to_string()),
        None => s.serialize_none(),
    }
}

/// Reads a whole batch for `dataset`, validates it, and writes it in one
/// transaction. `dataset` must be pushable.
pub fn ingest(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    dataset: Dataset,
    format: BodyFormat,
    body: &[u8],
) -> Result<Written, ApiError> {
    with_row_type!(push, dataset, T => {
        let rows = parse_batch::<T>(format, body)?;
        write_batch(conn, clock, dataset, rows)
    })
}

/// Writes already validated rows: one transaction, one stamp.
pub fn write_batch<T: Push>(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    dataset: Dataset,
    mut rows: Vec<T>,
) -> Result<Written, ApiError> {
    if rows.is_empty() {
        return Ok(Written {
            dataset: dataset.name(),
            rows: 0,
            stamp: None,
        });
    }
    let stamp = db::write_transaction(conn, clock, |conn, stamp| {
        T::upsert(conn, &mut rows, stamp)?;
        Ok::<_, ApiError>(stamp)
    })?;
    Ok(Written {
        dataset: dataset.name(),
        rows: rows.len(),
        stamp: Some(stamp),
    })
}

/// Parses and validates every row of a batch, or says what is wrong with the
/// first bad one (rows are numbered from 1, not counting a CSV header).
pub fn parse_batch<T: Push>(format: BodyFormat, body: &[u8]) -> Result<Vec<T>, ApiError> {
    // Spreadsheets save "CSV UTF-8" with a byte-order mark, which would
    // otherwise become part of the first column's name.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match format {
        BodyFormat::Csv => parse_csv(body),
        BodyFormat::Json if first_byte(body) == Some(b'[') => parse_json_array(body),
        BodyFormat::Json | BodyFormat::Ndjson => parse_json_objects(body),
    }
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
/// hourglass's to set.
fn check_column<T: Push>(name: &str) -> Result<(), FieldError> {
    if name == T::STAMP {
        Err(FieldError::new(
            name,
            "is stamped by hourglass on every write; leave it out",
        ))
    } else if T::COLUMNS.contains(&name) {
        Ok(())
    } else {
        let accepted: Vec<&str> = T::COLUMNS
            .iter()
            .copied()
            .filter(|c| *c != T::STAMP)
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

fn row_from_object<T: Push>(object: &Map<String, Value>) -> Result<T, FieldError> {
    for name in object.keys() {
        check_column::<T>(name)?;
    }
    T::from_fields(&Fields::Json(object))
}

fn parse_csv<T: Push>(body: &[u8]) -> Result<Vec<T>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(body);
    let headers = reader
        .headers()
        .map_err(|error| {
            ApiError::MalformedBody(format!("cannot read the CSV header row: {error}"))
        })?
        .clone();
    for name in headers.iter() {
        check_column::<T>(name).map_err(|error| row_error(0, error))?;
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let row = rows.len() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(rows),
            Ok(true) => {
                let fields = Fields::Csv {
                    headers: &headers,
                    record: &record,
                };
                rows.push(T::from_fields(&fields).map_err(|error| row_error(row, error))?);
            }
            Err(error) => {
                return Err(ApiError::MalformedBody(format!(
                    "CSV row {row} cannot be read: {error}"
                )));
            }
        }
    }
}

fn parse_json_objects<T: Push>(body: &[u8]) -> Result<Vec<T>, ApiError> {
    let mut rows = Vec::new();
    for object in serde_json::Deserializer::from_slice(body).into_iter::<Map<String, Value>>() {
        let row = rows.len() + 1;
        let object = object.map_err(|error| {
            ApiError::MalformedBody(format!("row {row} is not a JSON object: {error}"))
        })?;
        rows.push(row_from_object(&object).map_err(|error| row_error(row, error))?);
    }
    Ok(rows)
}

/// Reads a JSON array element by element, converting each object to a row as
/// it goes, so the parsed JSON of the whole batch is never held at once.
fn parse_json_array<T: Push>(body: &[u8]) -> Result<Vec<T>, ApiError> {
    let mut bad_row = None;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = RowsSeed::<T> {
        bad_row: &mut bad_row,
        rows: std::marker::PhantomData,
    }
    .deserialize(&mut deserializer)
    .and_then(|rows| deserializer.end().map(|()| rows));
    match (parsed, bad_row) {
        (_, Some((row, error))) => Err(row_error(row, error)),
        (Ok(rows), None) => Ok(rows),
        (Err(error), None) => Err(ApiError::MalformedBody(format!(
            "the body is not a JSON array of objects: {error}"
        ))),
    }
}

struct RowsSeed<'a, T> {
    bad_row: &'a mut Option<(usize, FieldError)>,
    rows: std::marker::PhantomData<T>,
}

impl<'de, T: Push> DeserializeSeed<'de> for RowsSeed<'_, T> {
    type Value = Vec<T>;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Push> Visitor<'de> for RowsSeed<'_, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(object) = seq.next_element::<Map<String, Value>>()? {
            match row_from_object(&object) {
                Ok(row) => rows.push(row),
                Err(error) => {
                    *self.bad_row = Some((rows.len() + 1, error));
                    return Err(A::Error::custom("invalid row"));
                }
            }
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::transactions::Transaction;

    const GOOD: &str = r#"{"id": 1, "player_id": 7, "amount": 12.345678, "currency": "EUR", "dir": "in", "type": "cash back", "created_at": "2020-10-10 07:00:00"}"#;

    #[test]
    fn json_numbers_are_read_exactly_and_enums_canonicalised() {
        let rows: Vec<Transaction> =
            parse_batch(BodyFormat::Json, format!("[{GOOD}]").as_bytes()).unwrap();
        assert_eq!(rows[0].amount.to_string(), "12.345678");
        assert_eq!(rows[0].dir, "IN");
        assert_eq!(rows[0].type_.as_deref(), Some("Cash back"));
    }

    #[test]
    fn the_first_bad_row_is_named() {
        let body = format!("[{GOOD}, {}]", GOOD.replace("12.345678", "\"12,5\""));
        match parse_batch::<Transaction>(BodyFormat::Json, body.as_bytes()) {
            Err(ApiError::InvalidRow { row: 2, field, .. }) => assert_eq!(field, "amount"),
            other => panic!("{other:?}"),
        }
        let body = GOOD.replace(
            "\"id\": 1",
            "\"updated_at\": \"2020-10-10 07:00:00\", \"id\": 1",
        );
        match parse_batch::<Transaction>(BodyFormat::Ndjson, body.as_bytes()) {
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
        use crate::datasets::logins::Login;
        // As a spreadsheet saves it: a byte-order mark and CRLF line ends.
        let body = "\u{feff}id,player_id,created_at,is_success\r\n1,7,2020-10-10 07:00:00,1\r\n2,7,2020-10-10 07:00:00,false\r\n3,7,2020-10-10 07:00:00,\r\n";
        let rows: Vec<Login> = parse_batch(BodyFormat::Csv, body.as_bytes()).unwrap();
        let flags: Vec<_> = rows.iter().map(|r| r.is_success).collect();
        assert_eq!(flags, [Some(true), Some(false), None]);
    }
}
