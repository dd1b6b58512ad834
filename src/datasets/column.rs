//! A column of a dataset, described once: its wire name, where it is stored,
//! its [`Kind`], whether a write must carry it and which values it allows.
//!
//! A kind knows everything about its values: how a written field
//! ([`Raw`]) is read and validated ([`Column::parse`]), how it is stored
//! (TEXT, BIGINT or BOOLEAN), how it comes out ([`Kind::cell`], a [`Cell`]
//! for the encoders) and how `/api/schema` and openapi.yaml name it.

use crate::db::row::{Slot, Value};
use crate::money::Money;
use crate::timestamp::{self, Timestamp};
use std::borrow::Cow;

/// The longest identifier, in characters: room for a UUID, a URN such as
/// `sr:match:12345` or a platform's own composite key, and far below the
/// size either database refuses in an index.
pub const MAX_ID_CHARS: usize = 128;

/// Checks an identifier given outside a row (a player's id in a path or on
/// the command line) as a row's id is checked; the reason completes "<the
/// id> …".
pub fn check_id(text: &str) -> Result<(), String> {
    Kind::Id.parse(Raw::Text(text)).map(drop)
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The operator's own identifier: text of 1 to [`MAX_ID_CHARS`]
    /// characters, compared exactly (case-sensitive, never trimmed), with no
    /// control characters. A JSON number is kept as its digits.
    Id,
    /// Free text (a JSON number is kept as written: phones, codes).
    Text,
    /// A calendar date `YYYY-MM-DD`, stored as text.
    Date,
    /// A UTC instant, stored as BIGINT epoch microseconds, written
    /// `YYYY-MM-DD HH:MM:SS`.
    Time,
    /// An exact decimal of up to six places, stored as BIGINT millionths.
    Money,
    /// An exact decimal of up to two places (custom `decimal` fields), stored
    /// like [`Kind::Money`] and always written with two places.
    Cents,
    /// A 64-bit whole number.
    Int,
    /// `true` / `false`.
    Bool,
    /// A flag the spec writes as `1` / `0` (logins' `is_success`).
    Bit,
}

impl Kind {
    /// The type's name in `/api/schema`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Id => "id",
            Kind::Text => "string",
            Kind::Date => "date",
            Kind::Time => "timestamp",
            Kind::Money | Kind::Cents => "decimal",
            Kind::Int => "integer",
            Kind::Bool => "boolean",
            Kind::Bit => "bit",
        }
    }

    /// The most decimal places a value may have, for decimal kinds.
    pub fn places(self) -> Option<u32> {
        match self {
            Kind::Money => Some(crate::money::SCALE),
            Kind::Cents => Some(2),
            _ => None,
        }
    }

    /// The SQL type of its column (the same on both backends).
    pub fn sql_type(self) -> &'static str {
        match self {
            Kind::Id | Kind::Text | Kind::Date => "TEXT",
            Kind::Time | Kind::Money | Kind::Cents | Kind::Int => "BIGINT",
            Kind::Bool | Kind::Bit => "BOOLEAN",
        }
    }

    /// What a valid value looks like, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            Kind::Id => "an identifier of 1 to 128 characters without control characters",
            Kind::Text => "a string",
            Kind::Date => "a date YYYY-MM-DD",
            Kind::Time => "a UTC timestamp YYYY-MM-DD HH:MM:SS",
            Kind::Money => "a decimal number like 12.50 (a JSON number or string)",
            Kind::Cents => "a decimal number with at most two decimal places, like 12.50",
            Kind::Int => "a whole number",
            Kind::Bool => "true or false (or 1 or 0)",
            Kind::Bit => "1 or 0 (or true or false)",
        }
    }

    /// A stored value as it goes out. The slot's storage type follows from
    /// the kind (see [`Kind::sql_type`]); SQLite hands booleans back as
    /// integers.
    #[inline]
    pub fn cell<'a>(self, slot: Slot, text: &'a str) -> Cell<'a> {
        match (self, slot) {
            (_, Slot::Null) => Cell::Null,
            (_, Slot::Text(start, end)) => Cell::Text(&text[start as usize..end as usize]),
            (Kind::Time, Slot::Int(v)) => Cell::Time(Timestamp::from_micros(v)),
            (Kind::Money | Kind::Cents, Slot::Int(v)) => Cell::Money(
                Money::from_micros(v),
                self.places().expect("a decimal kind"),
            ),
            (Kind::Bool, Slot::Int(v)) => Cell::Bool(v != 0),
            (Kind::Bit, Slot::Int(v)) => Cell::Bit(v != 0),
            (Kind::Bit, Slot::Bool(v)) => Cell::Bit(v),
            (_, Slot::Bool(v)) => Cell::Bool(v),
            (_, Slot::Int(v)) => Cell::Int(v),
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

/// One output value. Absent optional values are `Null`: an empty CSV field,
/// a JSON `null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    /// An amount, written with this many decimal places.
    Money(Money, u32),
    /// Written `YYYY-MM-DD HH:MM:SS`.
    Time(Timestamp),
    /// Written `true` / `false`.
    Bool(bool),
    /// A flag the spec writes as `1` / `0` (logins' `is_success`).
    Bit(bool),
}

/// One column of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The name on the wire: CSV header, JSON key, `/api/schema`.
    pub name: Cow<'static, str>,
    /// The column's name in the database, where it differs from `name`.
    pub sql: Option<&'static str>,
    pub kind: Kind,
    /// A write must carry it (the stamp column, set by hourglass, excepted).
    pub required: bool,
    /// The spec's enumeration, if any: matched ignoring case, stored in the
    /// spelling given here.
    pub values: &'static [&'static str],
    /// One line for `/api/schema` and openapi.yaml.
    pub doc: Cow<'static, str>,
    /// Declared at run time (`hourglass fields add`), not by the spec.
    pub custom: bool,
    /// Personal data: blanked when its player is erased (GDPR article 17).
    pub personal: bool,
}

impl Column {
    /// An optional column stored under its wire name.
    pub const fn new(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Column {
            name: Cow::Borrowed(name),
            sql: None,
            kind,
            required: false,
            values: &[],
            doc: Cow::Borrowed(doc),
            custom: false,
            personal: false,
        }
    }

    /// Personal data, blanked when its player is erased.
    pub const fn personal(mut self) -> Self {
        self.personal = true;
        self
    }

    /// A write must carry it.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Only these values are allowed.
    pub const fn one_of(mut self, values: &'static [&'static str]) -> Self {
        self.values = values;
        self
    }

    /// Stored under another name (the spec's `dateStart` is `date_start`).
    pub const fn stored_as(mut self, sql: &'static str) -> Self {
        self.sql = Some(sql);
        self
    }

    /// The column's name in the database.
    pub fn sql_name(&self) -> &str {
        self.sql.unwrap_or(&self.name)
    }

    /// Reads one written field, or says what is wrong with it (the message
    /// completes "field '<name>' ...").
    pub fn parse(&self, raw: Raw<'_>) -> Result<Value, String> {
        if let Raw::Absent = raw {
            return if self.required {
                Err(match self.values {
                    [] => format!("is required: expected {}", self.kind.expected()),
                    values => format!("is required: expected one of {}", values.join(", ")),
                })
            } else {
                Ok(Value::Null)
            };
        }
        let value = self.kind.parse(raw)?;
        match (self.values, &value) {
            ([], _) => Ok(value),
            (allowed, Value::Text(text)) => allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(text.trim()))
                .map(|canonical| Value::Text(canonical.to_string()))
                .ok_or_else(|| format!("('{text}') must be one of: {}", allowed.join(", "))),
            _ => unreachable!("only text columns have allowed values"),
        }
    }
}

impl Kind {
    fn parse(self, raw: Raw<'_>) -> Result<Value, String> {
        let wrong = || {
            let got = match raw {
                Raw::Absent => "nothing".to_string(),
                Raw::Text(text) | Raw::Number(text) => format!("'{text}'"),
                Raw::Bool(flag) => flag.to_string(),
                Raw::Nested => "an array or object".to_string(),
            };
            format!("({got}) is not valid: expected {}", self.expected())
        };
        let text = match raw {
            Raw::Text(text) | Raw::Number(text) => text,
            Raw::Bool(flag) if matches!(self, Kind::Bool | Kind::Bit) => {
                return Ok(Value::Bool(flag))
            }
            _ => return Err(wrong()),
        };
        match self {
            Kind::Id => {
                let chars = text.chars().count();
                if chars == 0 || chars > MAX_ID_CHARS {
                    Err(format!(
                        "has {chars} characters: expected an identifier of 1 to {MAX_ID_CHARS}"
                    ))
                } else if let Some(c) = text.chars().find(|c| c.is_control()) {
                    Err(format!(
                        "contains the control character U+{:04X}: expected an identifier without control characters",
                        u32::from(c)
                    ))
                } else {
                    Ok(Value::Text(text.to_string()))
                }
            }
            Kind::Text => {
                // PostgreSQL cannot store a NUL in text; refuse it on both
                // backends alike.
                if text.contains('\0') {
                    Err("contains a NUL character, which text cannot hold".into())
                } else {
                    Ok(Value::Text(text.to_string()))
                }
            }
            Kind::Date => timestamp::parse_date(text)
                .map(Value::Text)
                .ok_or_else(|| format!("('{text}') is not a date: expected YYYY-MM-DD")),
            Kind::Time => match raw {
                Raw::Number(_) => Err(wrong()),
                _ => Timestamp::parse(text)
                    .map(|t| Value::Int(t.as_micros()))
                    .map_err(|error| format!("('{text}') {error}")),
            },
            Kind::Money => Money::parse(text)
                .map(|m| Value::Int(m.as_micros()))
                .map_err(|error| format!("('{text}') {error}")),
            Kind::Cents => match Money::parse(text) {
                Ok(m) if m.as_micros() % 10_000 == 0 => Ok(Value::Int(m.as_micros())),
                Ok(_) => Err(format!(
                    "('{text}') has more than two decimal places; hourglass will not round"
                )),
                Err(error) => Err(format!("('{text}') {error}")),
            },
            Kind::Int => text.trim().parse().map(Value::Int).map_err(|_| wrong()),
            Kind::Bool | Kind::Bit => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(wrong()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(column: &Column, raw: Raw<'_>) -> Result<Value, String> {
        column.parse(raw)
    }

    #[test]
    fn ids_are_kept_exactly_as_sent() {
        let id = Column::new("id", Kind::Id, "").required();
        for text in [
            "11ecc708-32d5-423b-bd59-7d114c26c979",
            "sr:match:12345",
            " a123b456 ",
            "ÄÖ",
            &"x".repeat(128),
        ] {
            assert_eq!(
                parse(&id, Raw::Text(text)),
                Ok(Value::Text(text.into())),
                "{text}"
            );
        }
        assert_eq!(
            parse(&id, Raw::Number("1234567")),
            Ok(Value::Text("1234567".into()))
        );
        for (raw, says) in [
            (Raw::Text(""), "0 characters"),
            (Raw::Text(&"é".repeat(129)), "129 characters"),
            (Raw::Text("a\tb"), "U+0009"),
            (Raw::Text("a\0b"), "U+0000"),
            (Raw::Absent, "is required"),
            (Raw::Bool(true), "expected an identifier"),
        ] {
            let error = parse(&id, raw).unwrap_err();
            assert!(error.contains(says), "{raw:?}: {error}");
        }
    }

    #[test]
    fn enumerations_are_matched_ignoring_case_and_stored_canonically() {
        let dir = Column::new("dir", Kind::Text, "")
            .required()
            .one_of(&["IN", "OUT"]);
        assert_eq!(parse(&dir, Raw::Text(" in")), Ok(Value::Text("IN".into())));
        assert!(parse(&dir, Raw::Text("sideways"))
            .unwrap_err()
            .contains("one of: IN, OUT"));
        assert!(parse(&dir, Raw::Absent)
            .unwrap_err()
            .contains("one of IN, OUT"));
    }

    #[test]
    fn cents_take_two_places_at_most() {
        let column = Column::new("score", Kind::Cents, "");
        assert_eq!(
            parse(&column, Raw::Number("12.5")),
            Ok(Value::Int(12_500_000))
        );
        assert_eq!(parse(&column, Raw::Text("-3")), Ok(Value::Int(-3_000_000)));
        assert!(parse(&column, Raw::Text("1.005"))
            .unwrap_err()
            .contains("two decimal places"));
    }

    #[test]
    fn text_refuses_nul_and_kinds_refuse_the_wrong_shape() {
        let text = Column::new("city", Kind::Text, "");
        assert!(parse(&text, Raw::Text("a\0")).unwrap_err().contains("NUL"));
        let time = Column::new("at", Kind::Time, "");
        assert!(parse(&time, Raw::Number("1602313200")).is_err());
        let int = Column::new("n", Kind::Int, "");
        assert!(parse(&int, Raw::Text("1.5")).is_err());
        assert_eq!(
            parse(&int, Raw::Text("-9223372036854775808")),
            Ok(Value::Int(i64::MIN))
        );
    }
}
