//! The rules of a pull: the half-open UTC window `[from, to)` and the output format.
//!
//! InTarget asks `?from=2020-10-10+07:00:00&to=2020-10-10+08:00:00` and wants
//! every row whose last-modified time `t` satisfies `from <= t < to`. Windows
//! that touch end to end therefore partition time: a row is in exactly one of
//! two consecutive windows. These types validate the request once, so that
//! the rest of the code only ever sees a well-formed window.

use crate::error::ApiError;
use crate::timestamp::{Timestamp, TimestampError, EXPECTED_FORMAT};

/// A validated half-open window `[from, to)`, with `from < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    from: Timestamp,
    to: Timestamp,
}

impl TimeWindow {
    /// Returns `None` unless `from < to`.
    pub fn new(from: Timestamp, to: Timestamp) -> Option<Self> {
        (from < to).then_some(TimeWindow { from, to })
    }

    /// Reads the `from` and `to` query parameters.
    pub fn from_params(from: Option<&str>, to: Option<&str>) -> Result<Self, ApiError> {
        let from = parse_param("from", from)?;
        let to = parse_param("to", to)?;
        TimeWindow::new(from, to).ok_or_else(|| ApiError::InvalidParameter {
            parameter: "to",
            reason: format!(
                "({to}) must be later than 'from' ({from}): the window [from, to) would be empty"
            ),
        })
    }

    pub fn from(&self) -> Timestamp {
        self.from
    }

    pub fn to(&self) -> Timestamp {
        self.to
    }

    pub fn contains(&self, stamp: Timestamp) -> bool {
        self.from <= stamp && stamp < self.to
    }
}

fn parse_param(parameter: &'static str, value: Option<&str>) -> Result<Timestamp, ApiError> {
    let value = value.ok_or_else(|| ApiError::InvalidParameter {
        parameter,
        reason: format!(
            "is missing: expected {EXPECTED_FORMAT}, e.g. {parameter}=2020-10-10+07:00:00"
        ),
    })?;
    Timestamp::parse(value).map_err(|error| ApiError::InvalidParameter {
        parameter,
        reason: match error {
            TimestampError::Garbled => format!("('{value}') {error}, e.g. 2020-10-10+07:00:00"),
            _ => format!("('{value}') {error}"),
        },
    })
}

/// How the rows of a window are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    /// `format=` wins; otherwise the `Accept` header may ask for JSON or
    /// NDJSON; CSV is the default, as the spec prefers it.
    pub fn negotiate(param: Option<&str>, accept: Option<&str>) -> Result<Self, ApiError> {
        if let Some(name) = param {
            return match name.to_ascii_lowercase().as_str() {
                "csv" => Ok(Format::Csv),
                "json" => Ok(Format::Json),
                "ndjson" | "jsonl" => Ok(Format::Ndjson),
                _ => Err(ApiError::InvalidParameter {
                    parameter: "format",
                    reason: format!("('{name}') must be one of csv, json, ndjson"),
                }),
            };
        }
        let accept = accept.unwrap_or("").to_ascii_lowercase();
        Ok(
            if accept.contains("application/x-ndjson") || accept.contains("application/jsonl") {
                Format::Ndjson
            } else if accept.contains("application/json") {
                Format::Json
            } else {
                Format::Csv
            },
        )
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn window_is_half_open() {
        let window = TimeWindow::new(ts("2020-10-10 07:00:00"), ts("2020-10-10 08:00:00")).unwrap();
        assert!(window.contains(ts("2020-10-10 07:00:00")));
        assert!(window.contains(ts("2020-10-10 07:59:59.999999")));
        assert!(!window.contains(ts("2020-10-10 08:00:00")));
        assert!(!window.contains(ts("2020-10-10 06:59:59.999999")));
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let message = |from, to| TimeWindow::from_params(from, to).unwrap_err().to_string();
        assert!(message(None, Some("2020-10-10 08:00:00"))
            .starts_with("query parameter 'from' is missing"));
        assert!(message(Some("2020-10-10 08:00:00"), Some("noon"))
            .contains("'to' ('noon') is not a timestamp"));
        assert!(message(
            Some("2020-10-10 08:00:00+01:00"),
            Some("2020-10-10 09:00:00")
        )
        .contains("UTC offset '+01:00'"));
        assert!(
            message(Some("2020-10-10 08:00:00"), Some("2020-10-10 08:00:00"))
                .contains("must be later than 'from'")
        );
    }

    #[test]
    fn format_param_beats_accept() {
        assert_eq!(Format::negotiate(None, None).unwrap(), Format::Csv);
        assert_eq!(
            Format::negotiate(None, Some("application/json")).unwrap(),
            Format::Json
        );
        assert_eq!(
            Format::negotiate(Some("ndjson"), Some("application/json")).unwrap(),
            Format::Ndjson
        );
        assert!(Format::negotiate(Some("xml"), None).is_err());
    }
}
