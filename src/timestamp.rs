//! UTC instants as the database stores them: microseconds since the Unix epoch.
//!
//! Every timestamp column is a `BIGINT` of epoch microseconds. That is exact,
//! compares as fast as an integer, and means the same on SQLite and PostgreSQL.
//! Output is always `YYYY-MM-DD HH:MM:SS` (UTC, whole seconds), written by a
//! small hand-rolled formatter: on a million-row export it is several times
//! faster than formatting a `chrono::NaiveDateTime`. chrono still does all the
//! parsing, where correctness matters more than speed.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::fmt;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// The accepted input form, shown in every error message about a timestamp.
pub const EXPECTED_FORMAT: &str = "YYYY-MM-DD HH:MM:SS in UTC (the space may be sent as '+', '%20' or 'T'; fractional seconds and a trailing 'Z' or '+00:00' are allowed)";

/// An instant in UTC with microsecond precision.
#[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::BigInt)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// In JSON as in every output: `"YYYY-MM-DD HH:MM:SS"`.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A half-open window `[from, to)` of instants, with `from < to`: what a
/// pull reads, a relay delivers and a count counts. Windows that touch end
/// to end partition time, so a row is in exactly one of two consecutive
/// windows. (`window.rs` reads one from a request's parameters.)
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

/// Why a timestamp could not be parsed; the message completes "<field> ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("is not a timestamp: expected {EXPECTED_FORMAT}")]
    Garbled,
    #[error("carries the UTC offset '{0}': send the time in UTC ('Z', '+00:00' or no offset)")]
    NotUtc(String),
    #[error("is out of the supported range (years 1 to 9999)")]
    OutOfRange,
}

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    pub fn now() -> Self {
        Self::from_datetime(Utc::now().naive_utc())
    }

    pub fn from_datetime(datetime: NaiveDateTime) -> Self {
        Timestamp(datetime.and_utc().timestamp_micros())
    }

    pub fn to_datetime(self) -> NaiveDateTime {
        DateTime::<Utc>::from_timestamp_micros(self.0)
            .expect("stored timestamps are within chrono's range")
            .naive_utc()
    }

    /// Parses `YYYY-MM-DD HH:MM:SS`, with `T` or a space between date and
    /// time, optional fractional seconds, and an optional UTC designator.
    ///
    /// A query string sends `+00:00` as ` 00:00` unless the client
    /// percent-encodes the `+`, so a trailing ` 00:00` is read as UTC too.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let text = text.trim();
        let body = strip_utc_designator(text)?;
        let body = body.replacen('T', " ", 1);
        let datetime = NaiveDateTime::parse_from_str(&body, "%Y-%m-%d %H:%M:%S%.f")
            .map_err(|_| TimestampError::Garbled)?;
        let year = chrono::Datelike::year(&datetime);
        if !(1..=9999).contains(&year) {
            return Err(TimestampError::OutOfRange);
        }
        Ok(Self::from_datetime(datetime))
    }

    /// Writes `YYYY-MM-DD HH:MM:SS` (19 bytes) into `out`, truncating to the
    /// whole second, as every consumer of the spec expects.
    pub fn write_to(self, out: &mut [u8; 19]) {
        let seconds = self.0.div_euclid(MICROS_PER_SECOND);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write_digits(&mut out[0..4], year as u32);
        out[4] = b'-';
        write_digits(&mut out[5..7], month);
        out[7] = b'-';
        write_digits(&mut out[8..10], day);
        out[10] = b' ';
        write_digits(&mut out[11..13], (second_of_day / 3600) as u32);
        out[13] = b':';
        write_digits(&mut out[14..16], (second_of_day / 60 % 60) as u32);
        out[16] = b':';
        write_digits(&mut out[17..19], (second_of_day % 60) as u32);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 19];
        self.write_to(&mut buf);
        f.write_str(std::str::from_utf8(&buf).expect("ascii"))
    }
}

/// Parses a calendar date `YYYY-MM-DD` and returns it in canonical form.
pub fn parse_date(text: &str) -> Option<String> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Some(date.format("%Y-%m-%d").to_string())
}

fn strip_utc_designator(text: &str) -> Result<&str, TimestampError> {
    if let Some(body) = text.strip_suffix(['Z', 'z']) {
        return Ok(body);
    }
    // An offset is the last six characters: sign, HH, ':', MM. The sign may
    // have arrived as a space (an unencoded '+').
    if text.len() > 19 && text.is_char_boundary(text.len() - 6) {
        let (body, offset) = text.split_at(text.len() - 6);
        let bytes = offset.as_bytes();
        if matches!(bytes[0], b'+' | b'-' | b' ') && bytes[3] == b':' {
            return match &offset[1..] {
                "00:00" => Ok(body),
                _ => Err(TimestampError::NotUtc(offset.trim().to_string())),
            };
        }
    }
    Ok(text)
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's
/// `civil_from_days`, valid for the whole proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn write_digits(out: &mut [u8], mut value: u32) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

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
    fn accepts_every_spelling_of_the_same_instant() {
        let expected = ts("2020-10-10 07:00:00");
        for text in [
            "2020-10-10T07:00:00",
            "2020-10-10 07:00:00Z",
            "2020-10-10T07:00:00.000Z",
            "2020-10-10 07:00:00+00:00",
            "2020-10-10 07:00:00 00:00",
            "2020-10-10 07:00:00-00:00",
        ] {
            assert_eq!(ts(text), expected, "{text}");
        }
        assert_eq!(
            ts("2020-10-10 07:00:00.25").as_micros() - expected.as_micros(),
            250_000
        );
    }

    #[test]
    fn rejects_offsets_and_garbage_with_a_reason() {
        assert_eq!(
            Timestamp::parse("2020-10-10 07:00:00+02:00"),
            Err(TimestampError::NotUtc("+02:00".into()))
        );
        for text in [
            "",
            "2020-10-10",
            "yesterday",
            "2020-13-01 00:00:00",
            "2020-10-10 25:00:00",
        ] {
            assert_eq!(
                Timestamp::parse(text),
                Err(TimestampError::Garbled),
                "{text}"
            );
        }
    }

    #[test]
    fn formats_whole_seconds() {
        assert_eq!(
            ts("2020-10-10 07:12:09.999").to_string(),
            "2020-10-10 07:12:09"
        );
        assert_eq!(
            ts("1969-12-31 23:59:59.5").to_string(),
            "1969-12-31 23:59:59"
        );
        assert_eq!(ts("0001-01-01 00:00:00").to_string(), "0001-01-01 00:00:00");
    }

    proptest! {
        #[test]
        fn formatter_agrees_with_chrono(micros in -62_135_596_800_000_000i64..253_402_300_799_000_000) {
            let stamp = Timestamp::from_micros(micros);
            let expected = stamp.to_datetime().format("%Y-%m-%d %H:%M:%S").to_string();
            prop_assert_eq!(stamp.to_string(), expected);
        }
    }
}
