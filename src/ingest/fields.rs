//! Typed access to the fields of one incoming row, whatever the body format.
//!
//! A JSON object and a CSV record look alike from here: a field is absent,
//! text, a number (kept as its exact source text), or a boolean. Each getter
//! turns that into a domain value or a [`FieldError`] that names the field
//! and says what was expected, for the 422 answer.

use crate::money::Money;
use crate::timestamp::{self, Timestamp};
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

/// A field as it arrived, before it is given a type.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    Absent,
    Text(&'a str),
    /// A JSON number, as written (exact: never through a float).
    Number(&'a str),
    Bool(bool),
    /// A JSON array or object: never valid for a column.
    Nested,
}

/// The fields of one row.
pub enum Fields<'a> {
    Json(&'a Map<String, Value>),
    Csv {
        headers: &'a csv::StringRecord,
        record: &'a csv::StringRecord,
    },
}

impl<'a> Fields<'a> {
    fn raw(&self, name: &str) -> Raw<'a> {
        match self {
            Fields::Json(object) => match object.get(name) {
                None | Some(Value::Null) => Raw::Absent,
                Some(Value::String(text)) => Raw::Text(text),
                Some(Value::Number(number)) => Raw::Number(number.as_str()),
                Some(Value::Bool(flag)) => Raw::Bool(*flag),
                Some(Value::Array(_) | Value::Object(_)) => Raw::Nested,
            },
            // CSV cannot tell an empty string from a missing value: both are absent.
            Fields::Csv { headers, record } => match headers.iter().position(|h| h == name) {
                Some(index) => match record.get(index) {
                    Some("") | None => Raw::Absent,
                    Some(text) => Raw::Text(text),
                },
                None => Raw::Absent,
            },
        }
    }

    /// The names of the fields this row carries.
    pub fn names(&self) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        match self {
            Fields::Json(object) => Box::new(object.keys().map(String::as_str)),
            Fields::Csv { headers, .. } => Box::new(headers.iter()),
        }
    }

    /// An optional field.
    pub fn get<T: FromField>(&self, name: &str) -> Result<Option<T>, FieldError> {
        match self.raw(name) {
            Raw::Absent => Ok(None),
            raw => T::from_raw(raw)
                .map(Some)
                .map_err(|reason| FieldError::new(name, reason)),
        }
    }

    /// A required field.
    pub fn need<T: FromField>(&self, name: &str) -> Result<T, FieldError> {
        self.get(name)?
            .ok_or_else(|| FieldError::new(name, format!("is required: expected {}", T::EXPECTED)))
    }

    /// An optional field restricted to the spec's enumeration. Matching
    /// ignores case; the spec's spelling is what gets stored.
    pub fn choice(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<String>, FieldError> {
        let Some(value) = self.get::<String>(name)? else {
            return Ok(None);
        };
        match allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value.trim()))
        {
            Some(canonical) => Ok(Some(canonical.to_string())),
            None => Err(FieldError::new(
                name,
                format!("('{value}') must be one of: {}", allowed.join(", ")),
            )),
        }
    }

    /// A required field restricted to the spec's enumeration.
    pub fn need_choice(&self, name: &str, allowed: &[&'static str]) -> Result<String, FieldError> {
        self.choice(name, allowed)?.ok_or_else(|| {
            FieldError::new(
                name,
                format!("is required: expected one of {}", allowed.join(", ")),
            )
        })
    }

    /// An optional calendar date, stored in canonical `YYYY-MM-DD` form.
    pub fn date(&self, name: &str) -> Result<Option<String>, FieldError> {
        let Some(value) = self.get::<String>(name)? else {
            return Ok(None);
        };
        timestamp::parse_date(&value).map(Some).ok_or_else(|| {
            FieldError::new(
                name,
                format!("('{value}') is not a date: expected YYYY-MM-DD"),
            )
        })
    }
}

/// A column type that can be read from a [`Raw`] field.
pub trait FromField: Sized {
    /// What a valid value looks like, for error messages.
    const EXPECTED: &'static str;
    fn from_raw(raw: Raw<'_>) -> Result<Self, String>;
}

fn wrong_kind<T: FromField>(raw: Raw<'_>) -> String {
    let got = match raw {
        Raw::Absent => "nothing".to_string(),
        Raw::Text(text) | Raw::Number(text) => format!("'{text}'"),
        Raw::Bool(flag) => flag.to_string(),
        Raw::Nested => "an array or object".to_string(),
    };
    format!("({got}) is not valid: expected {}", T::EXPECTED)
}

impl FromField for String {
    const EXPECTED: &'static str = "a string";
    fn from_raw(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            // A phone or an id sent as a JSON number is still fine as text.
            Raw::Text(text) | Raw::Number(text) => Ok(text.to_string()),
            _ => Err(wrong_kind::<Self>(raw)),
        }
    }
}

impl FromField for i64 {
    const EXPECTED: &'static str = "a whole number";
    fn from_raw(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Text(text) | Raw::Number(text) => {
                text.trim().parse().map_err(|_| wrong_kind::<Self>(raw))
            }
            _ => Err(wrong_kind::<Self>(raw)),
        }
    }
}

impl FromField for Money {
    const EXPECTED: &'static str = "a decimal number like 12.50 (a JSON number or string)";
    fn from_raw(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Text(text) | Raw::Number(text) => {
                Money::parse(text).map_err(|error| format!("('{text}') {error}"))
            }
            _ => Err(wrong_kind::<Self>(raw)),
        }
    }
}

impl FromField for Timestamp {
    const EXPECTED: &'static str = "a UTC timestamp YYYY-MM-DD HH:MM:SS";
    fn from_raw(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Text(text) => {
                Timestamp::parse(text).map_err(|error| format!("('{text}') {error}"))
            }
            _ => Err(wrong_kind::<Self>(raw)),
        }
    }
}

impl FromField for bool {
    const EXPECTED: &'static str = "true or false (or 1 or 0)";
    fn from_raw(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Bool(flag) => Ok(flag),
            Raw::Text(text) | Raw::Number(text) => {
                match text.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(wrong_kind::<Self>(raw)),
                }
            }
            _ => Err(wrong_kind::<Self>(raw)),
        }
    }
}
