//! The rules of a pull: the half-open UTC window `[from, to)` and the output format.
//!
//! InTarget asks `?from=2020-10-10+07:00:00&to=2020-10-10+08:00:00` and wants
//! every row whose last-modified time `t` satisfies `from <= t < to`. Windows
//! that touch end to end therefore partition time: a row is in exactly one of
//! two consecutive windows. These types validate the request once, so that
//! the rest of the code only ever sees a well-formed window.
//!
//! Other clients (Playoff's API, analytics tools) send the same window as
//! `start`/`end`, and in UNIX seconds or ISO 8601 (`2020-10-10T07:00:00Z`):
//! every form means the same instant, in UTC.

use crate::timestamp::{TimeWindow, Timestamp, TimestampError, EXPECTED_FORMAT};

/// A query parameter that is missing or malformed: which, and what was
/// expected (the message completes "query parameter '<name>' …").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter '{parameter}' {reason}")]
pub struct ParamError {
    pub parameter: &'static str,
    pub reason: String,
}

impl TimeWindow {
    /// Reads the window's bounds from the query parameters that gave them:
    /// `from` (or `start`) and `to` (or `end`), each with its value.
    pub fn from_params(
        from: Option<(&'static str, &str)>,
        to: Option<(&'static str, &str)>,
    ) -> Result<Self, ParamError> {
        let from = parse_param(("from", "start"), from)?;
        let to = parse_param(("to", "end"), to)?;
        Self::ordered(from, to)
    }

    /// As [`TimeWindow::from_params`], with a missing bound filled in: `to`
    /// is `now`, and `from` is `span` before `to`.
    pub fn from_params_or(
        from: Option<(&'static str, &str)>,
        to: Option<(&'static str, &str)>,
        now: Timestamp,
        span: std::time::Duration,
    ) -> Result<Self, ParamError> {
        let (to_name, to) = match to {
            Some(_) => parse_param(("to", "end"), to)?,
            None => ("to", now),
        };
        let (from_name, from) = match from {
            Some(_) => parse_param(("from", "start"), from)?,
            None => (
                "from",
                Timestamp::from_micros(to.as_micros().saturating_sub(span.as_micros() as i64)),
            ),
        };
        Self::ordered((from_name, from), (to_name, to))
    }

    /// The window, if `from` comes before `to`; else a 400 on `to`.
    fn ordered(
        (from_name, from): (&'static str, Timestamp),
        (to_name, to): (&'static str, Timestamp),
    ) -> Result<Self, ParamError> {
        TimeWindow::new(from, to).ok_or_else(|| ParamError {
            parameter: to_name,
            reason: format!(
                "({to}) must be later than '{from_name}' ({from}): the window [from, to) would be empty"
            ),
        })
    }
}

/// A bound, by whichever of its two names (`names`) it was sent as.
fn parse_param(
    names: (&'static str, &'static str),
    param: Option<(&'static str, &str)>,
) -> Result<(&'static str, Timestamp), ParamError> {
    let (parameter, synonym) = names;
    let (parameter, value) = param.ok_or_else(|| ParamError {
        parameter,
        reason: format!(
            "is missing (or its synonym '{synonym}'): expected {EXPECTED_FORMAT}, or UNIX seconds, e.g. {parameter}=2020-10-10+07:00:00"
        ),
    })?;
    // Exactly as openapi.yaml's pattern says: a bound with whitespace
    // around it (a form feed, a tab) is refused, not trimmed, so that what
    // the spec refuses the server refuses too.
    let parsed = if value.trim() != value {
        Err(TimestampError::Garbled)
    } else {
        unix_seconds(value).unwrap_or_else(|| Timestamp::parse(value))
    };
    parsed
        .map(|at| (parameter, at))
        .map_err(|error| ParamError {
            parameter,
            reason: match error {
                TimestampError::Garbled => format!(
                    "('{value}') {error}, or UNIX seconds; e.g. 2020-10-10+07:00:00 or 1602313200"
                ),
                _ => format!("('{value}') {error}"),
            },
        })
}

/// UNIX seconds, whole or with up to six decimal places (`1602313200`,
/// `1602313200.25`), if `text` is a number at all: at most 11 digits, up to
/// the year 5138.
fn unix_seconds(text: &str) -> Option<Result<Timestamp, TimestampError>> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    if fraction.len() > 6 {
        return Some(Err(TimestampError::Garbled));
    }
    // At most 11 digits (until the year 5138), as openapi.yaml says.
    let Some(seconds) = whole.parse::<i64>().ok().filter(|_| whole.len() <= 11) else {
        return Some(Err(TimestampError::OutOfRange));
    };
    let micros = format!("{fraction:0<6}").parse::<i64>().unwrap_or(0);
    Some(Ok(Timestamp::from_micros(seconds * 1_000_000 + micros)))
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
    pub fn negotiate(param: Option<&str>, accept: Option<&str>) -> Result<Self, ParamError> {
        if let Some(name) = param {
            return match name.to_ascii_lowercase().as_str() {
                "csv" => Ok(Format::Csv),
                "json" => Ok(Format::Json),
                "ndjson" | "jsonl" => Ok(Format::Ndjson),
                _ => Err(ParamError {
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
    fn bad_parameters_name_themselves() {
        let message = |from: Option<&str>, to: Option<&str>| {
            TimeWindow::from_params(from.map(|v| ("from", v)), to.map(|v| ("to", v)))
                .unwrap_err()
                .to_string()
        };
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
        let end =
            TimeWindow::from_params(Some(("start", "1602313200")), Some(("end", "1602313200")))
                .unwrap_err()
                .to_string();
        assert!(end.starts_with("query parameter 'end' "), "{end}");
        assert!(end.contains("later than 'start'"), "{end}");
    }

    #[test]
    fn unix_seconds_and_iso_8601_mean_the_same_instant() {
        let at = |text| {
            TimeWindow::from_params(Some(("start", text)), Some(("end", "99999999999")))
                .unwrap()
                .from()
        };
        let seven = ts("2020-10-10 07:00:00");
        assert_eq!(at("1602313200"), seven);
        assert_eq!(at("2020-10-10T07:00:00Z"), seven);
        assert_eq!(at("2020-10-10 07:00:00"), seven);
        assert_eq!(at("1602313200.25"), ts("2020-10-10 07:00:00.25"));
        assert_eq!(at("1602313200.000001"), ts("2020-10-10 07:00:00.000001"));
        assert_eq!(at("0"), Timestamp::from_micros(0));
        let refused = |text| {
            TimeWindow::from_params(Some(("start", text)), Some(("end", "99999999999")))
                .unwrap_err()
                .to_string()
        };
        assert!(refused("1602313200.1234567").contains("is not a timestamp"));
        assert!(refused("100000000000").contains("out of the supported range"));
        assert!(refused("-5").contains("is not a timestamp"));
        assert!(refused("1e9").contains("is not a timestamp"));
        assert!(refused(".5").contains("is not a timestamp"));
        // Whitespace around a bound is refused, as openapi.yaml's pattern
        // says (schemathesis sent `8\x0c`).
        for text in [
            "8\x0c",
            " 1602313200",
            "2020-10-10 07:00:00\t",
            "\n2020-10-10 07:00:00",
        ] {
            assert!(refused(text).contains("is not a timestamp"), "{text:?}");
        }
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
