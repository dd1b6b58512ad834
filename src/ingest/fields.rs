//! Typed access to the fields of one incoming row, whatever the body format.
//!
//! A JSON object and a CSV record look alike from here: a field is absent,
//! text, a number (kept as its exact source text), or a boolean. The
//! column's kind turns that into a stored value or a [`FieldError`] that
//! names the field and says what was expected, for the 422 answer.

use crate::datasets::column::Raw;
use serde_json::{Map, Value};

/// What is wrong with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// The fields of one row.
pub enum Fields<'a> {
    Json(&'a Map<String, Value>),
    Csv {
        record: &'a csv::StringRecord,
        /// For each column of the dataset, its position in the record.
        positions: &'a [Option<usize>],
    },
}

impl<'a> Fields<'a> {
    /// The field for column number `index`, named `name`.
    pub fn raw(&self, index: usize, name: &str) -> Raw<'a> {
        match self {
            Fields::Json(object) => match object.get(name) {
                None | Some(Value::Null) => Raw::Absent,
                Some(Value::String(text)) => Raw::Text(text),
                Some(Value::Number(number)) => Raw::Number(number.as_str()),
                Some(Value::Bool(flag)) => Raw::Bool(*flag),
                Some(Value::Array(_) | Value::Object(_)) => Raw::Nested,
            },
            // CSV cannot tell an empty string from a missing value: both are absent.
            Fields::Csv { record, positions } => {
                match positions[index].and_then(|p| record.get(p)) {
                    Some("") | None => Raw::Absent,
                    Some(text) => Raw::Text(text),
                }
            }
        }
    }
}
