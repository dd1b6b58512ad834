//! Reading a write's rows: each row of a JSON array, NDJSON or CSV body
//! parsed and checked against its dataset's columns, one at a time, so the
//! parsed rows of a whole batch are never held at once. The first bad row
//! stops the reading with its number, field and reason.

use super::fields::{FieldError, Fields};
use super::{BodyFormat, IngestError, Row, RowError};
use crate::datasets::catalog::Shape;
use crate::db::row::Value;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Map;
use std::fmt;

/// Hands every row of a body to `f`, in order, each parsed and validated,
/// and returns how many there were. Stops at the first bad row, saying what
/// is wrong with it (rows are numbered from 1, not counting a CSV header),
/// or at the first error of `f`. A body without rows is an error.
pub fn for_each_row(
    shape: &Shape,
    format: BodyFormat,
    body: &[u8],
    mut f: impl FnMut(Row) -> Result<(), IngestError>,
) -> Result<usize, IngestError> {
    // Spreadsheets save "CSV UTF-8" with a byte-order mark, which would
    // otherwise become part of the first column's name.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if first_byte(body).is_none() {
        return Err(IngestError::Malformed(
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
        return Err(IngestError::Malformed(
            "the body holds no rows: send at least one".into(),
        ));
    }
    Ok(rows)
}

type RowSink<'a> = &'a mut dyn FnMut(Row) -> Result<(), IngestError>;

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

fn row_error(row: usize, error: FieldError) -> IngestError {
    IngestError::Row(RowError {
        row,
        field: error.field,
        reason: error.reason,
    })
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

fn csv_rows(shape: &Shape, body: &[u8], f: RowSink<'_>) -> Result<usize, IngestError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(body);
    let headers = reader
        .headers()
        .map_err(|error| {
            IngestError::Malformed(format!("cannot read the CSV header row: {error}"))
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
                return Err(IngestError::Malformed(format!(
                    "CSV row {row} cannot be read: {error}"
                )));
            }
        }
    }
}

fn json_object_rows(shape: &Shape, body: &[u8], f: RowSink<'_>) -> Result<usize, IngestError> {
    let mut rows = 0;
    for object in serde_json::Deserializer::from_slice(body).into_iter::<Object>() {
        let row = rows + 1;
        let object = object.map_err(|error| {
            IngestError::Malformed(format!("row {row} is not a JSON object: {error}"))
        })?;
        f(row_from_object(shape, &object).map_err(|error| row_error(row, error))?)?;
        rows = row;
    }
    Ok(rows)
}

/// Reads a JSON array element by element, handing each object on as a row
/// as it goes, so the parsed JSON of the whole batch is never held at once.
fn json_array_rows(shape: &Shape, body: &[u8], f: RowSink<'_>) -> Result<usize, IngestError> {
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
        (Err(error), None) => Err(IngestError::Malformed(format!(
            "the body is not a JSON array of objects: {error}"
        ))),
    }
}

struct RowsSeed<'a, 'f> {
    shape: &'a Shape,
    f: RowSink<'f>,
    /// Why the rows stopped, when it was not the JSON's fault.
    failure: &'a mut Option<IngestError>,
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
    fn parse_batch(
        shape: &Shape,
        format: BodyFormat,
        body: &[u8],
    ) -> Result<Vec<Row>, IngestError> {
        let mut rows = Vec::new();
        for_each_row(shape, format, body, |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    fn parse(dataset: &str, format: BodyFormat, body: &str) -> Result<Vec<Row>, IngestError> {
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
            Err(IngestError::Row(RowError { row: 2, field, .. })) => assert_eq!(field, "amount"),
            other => panic!("{other:?}"),
        }
        let body = GOOD.replace(
            "\"id\": 1",
            "\"updated_at\": \"2020-10-10 07:00:00\", \"id\": 1",
        );
        match parse("transactions", BodyFormat::Ndjson, &body) {
            Err(IngestError::Row(RowError {
                row: 1,
                field,
                reason,
            })) => {
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
            Err(IngestError::Row(RowError {
                row: 0,
                field,
                reason,
            })) => {
                assert_eq!(field, "id");
                assert!(reason.contains("twice"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
