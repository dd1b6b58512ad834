//! Rows as the database holds them, by storage type (TEXT, BIGINT, BOOLEAN):
//! a [`Value`] on its way in, and a [`RowBuf`] as a pull reads a row back,
//! whatever columns the query selected, decoded from each backend's raw
//! values in two allocations (one for the text of all fields, one for the
//! slots) however many columns it has. The datasets' column kinds give
//! values and slots their meaning (`datasets::column`).

use diesel::deserialize::{self, QueryableByName};
use diesel::pg::Pg;
use diesel::row::{Field, NamedRow, Row};
use diesel::sqlite::{Sqlite, SqliteType};

/// A value ready to be stored, in the storage type of its column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
}

impl Value {
    /// The value of a TEXT column (`None` for NULL).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The value of a BIGINT column (`None` for NULL).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The value of a BOOLEAN column (`None` for NULL).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }
}

/// One field: absent, a whole number, a boolean, or a range of the row's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Null,
    Int(i64),
    Bool(bool),
    Text(u32, u32),
}

/// The fields of one row, in select order.
#[derive(Debug, Default)]
pub struct RowBuf {
    pub text: String,
    pub slots: Vec<Slot>,
}

impl RowBuf {
    fn with_capacity(fields: usize) -> Self {
        RowBuf {
            text: String::with_capacity(fields * 16),
            slots: Vec::with_capacity(fields),
        }
    }

    fn push_text(&mut self, text: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        self.slots.push(Slot::Text(start, self.text.len() as u32));
    }
}

fn unexpected(what: impl std::fmt::Display) -> Box<dyn std::error::Error + Send + Sync> {
    format!("unexpected value in a dataset column: {what}").into()
}

impl QueryableByName<Sqlite> for RowBuf {
    fn build<'a>(row: &impl NamedRow<'a, Sqlite>) -> deserialize::Result<Self> {
        let count = Row::field_count(row);
        let mut buf = RowBuf::with_capacity(count);
        for index in 0..count {
            let field = Row::get(row, index).ok_or_else(|| unexpected("missing field"))?;
            let Some(mut value) = field.value() else {
                buf.slots.push(Slot::Null);
                continue;
            };
            match value.value_type() {
                Some(SqliteType::Long) => buf.slots.push(Slot::Int(value.read_long())),
                Some(SqliteType::Text) => buf.push_text(value.read_text()),
                None => buf.slots.push(Slot::Null),
                Some(other) => return Err(unexpected(format!("{other:?}"))),
            }
        }
        Ok(buf)
    }
}

impl QueryableByName<Pg> for RowBuf {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> deserialize::Result<Self> {
        // The binary protocol's type oids: bool, int8, int4, text, varchar.
        const BOOL: u32 = 16;
        const INT8: u32 = 20;
        const INT4: u32 = 23;
        const TEXT: u32 = 25;
        const VARCHAR: u32 = 1043;
        let count = Row::field_count(row);
        let mut buf = RowBuf::with_capacity(count);
        for index in 0..count {
            let field = Row::get(row, index).ok_or_else(|| unexpected("missing field"))?;
            let Some(value) = field.value() else {
                buf.slots.push(Slot::Null);
                continue;
            };
            let bytes = value.as_bytes();
            match value.get_oid().get() {
                BOOL => buf.slots.push(Slot::Bool(bytes.first() == Some(&1))),
                INT8 => buf.slots.push(Slot::Int(i64::from_be_bytes(
                    bytes
                        .try_into()
                        .map_err(|_| unexpected("int8 of the wrong size"))?,
                ))),
                INT4 => buf.slots.push(Slot::Int(i64::from(i32::from_be_bytes(
                    bytes
                        .try_into()
                        .map_err(|_| unexpected("int4 of the wrong size"))?,
                )))),
                TEXT | VARCHAR => buf.push_text(std::str::from_utf8(bytes)?),
                oid => return Err(unexpected(format!("type oid {oid}"))),
            }
        }
        Ok(buf)
    }
}

impl RowBuf {
    /// A row as a pull would read it back from stored `values` (for benches
    /// and tests of the encoders).
    pub fn from_values(values: &[Value]) -> Self {
        let mut buf = RowBuf::with_capacity(values.len());
        for value in values {
            match value {
                Value::Null => buf.slots.push(Slot::Null),
                Value::Int(v) => buf.slots.push(Slot::Int(*v)),
                Value::Bool(v) => buf.slots.push(Slot::Bool(*v)),
                Value::Text(text) => buf.push_text(text),
            }
        }
        buf
    }
}
