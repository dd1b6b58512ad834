//! Pure row encoders: CSV, JSON (one array) and NDJSON, over any `io::Write`.
//!
//! A dataset hands each row over as `Cell`s in column order (a column's
//! kind turns a stored value into one: `datasets::column`); an [`Encoder`]
//! turns that into bytes. Nothing here knows about HTTP or the
//! database, so the encoders are benched and property-tested on their own.
//! Both keep one reused buffer and write timestamps, integers and amounts
//! straight into it: no allocation per row.

mod csv;
pub(crate) mod json;

use crate::datasets::column::Cell;
use crate::window::Format;
use std::io::{self, Write};

/// Bytes an encoder gathers before it hands them to its writer: large enough
/// to amortise a channel send, small enough to stay cache-friendly.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Writes rows in one of the [`Format`]s. Call [`Encoder::finish`] at the end:
/// it writes the trailer (the closing `]` of a JSON array) and flushes.
// One encoder per request, on the producer's stack: boxing the larger
// variant would only add an indirection to every row.
#[allow(clippy::large_enum_variant)]
pub enum Encoder<W: Write> {
    Csv(csv::CsvEncoder<W>),
    Json(json::JsonEncoder<W>),
}

impl<W: Write> Encoder<W> {
    /// Starts the output: the CSV header row, or the opening `[`.
    pub fn new(format: Format, columns: &[&str], out: W) -> io::Result<Self> {
        Ok(match format {
            Format::Csv => Encoder::Csv(csv::CsvEncoder::new(columns, out)?),
            Format::Json => Encoder::Json(json::JsonEncoder::new(columns, out, true)),
            Format::Ndjson => Encoder::Json(json::JsonEncoder::new(columns, out, false)),
        })
    }

    /// Writes one row; `cells` are in the order of the columns given to `new`.
    #[inline]
    pub fn write_row<'c>(&mut self, cells: impl IntoIterator<Item = Cell<'c>>) -> io::Result<()> {
        match self {
            Encoder::Csv(encoder) => encoder.write_row(cells),
            Encoder::Json(encoder) => encoder.write_row(cells),
        }
    }

    /// Ends the output and returns the writer, flushed.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Csv(encoder) => encoder.finish(),
            Encoder::Json(encoder) => encoder.finish(),
        }
    }
}

/// Renders an integer, a timestamp or an amount into `scratch` and returns
/// the bytes; text and nulls are not formatted and return `None`.
#[inline]
fn format_scalar<'s>(cell: &Cell<'_>, scratch: &'s mut Scratch) -> Option<&'s [u8]> {
    match *cell {
        Cell::Int(value) => Some(scratch.int.format(value).as_bytes()),
        Cell::Time(value) => {
            value.write_to(&mut scratch.time);
            Some(&scratch.time)
        }
        Cell::Money(value, places) => {
            scratch.money.clear();
            value.write_to(places, &mut scratch.money);
            Some(&scratch.money)
        }
        Cell::Bool(value) => Some(if value { b"true" } else { b"false" }),
        Cell::Bit(value) => Some(if value { b"1" } else { b"0" }),
        Cell::Null | Cell::Text(_) => None,
    }
}

/// Reused formatting buffers, one set per encoder.
pub(crate) struct Scratch {
    int: itoa::Buffer,
    time: [u8; 19],
    money: Vec<u8>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            int: itoa::Buffer::new(),
            time: [0; 19],
            money: Vec::with_capacity(24),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::timestamp::Timestamp;
    use proptest::prelude::*;

    const COLUMNS: &[&str] = &["id", "name", "amount", "at", "flag", "ok"];

    fn encode(format: Format, rows: &[Vec<Cell<'_>>]) -> String {
        let mut encoder = Encoder::new(format, COLUMNS, Vec::new()).unwrap();
        for row in rows {
            encoder.write_row(row.iter().copied()).unwrap();
        }
        String::from_utf8(encoder.finish().unwrap()).unwrap()
    }

    fn sample() -> Vec<Cell<'static>> {
        vec![
            Cell::Int(7),
            Cell::Text("O'Brien, \"Bob\"\nnewline"),
            Cell::Money(Money::parse("-12.5").unwrap(), 2),
            Cell::Time(Timestamp::parse("2020-10-10 07:12:09").unwrap()),
            Cell::Bit(true),
            Cell::Null,
        ]
    }

    #[test]
    fn csv_has_a_header_even_when_empty() {
        assert_eq!(encode(Format::Csv, &[]), "id,name,amount,at,flag,ok\n");
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        assert_eq!(
            encode(Format::Csv, &[sample()]),
            "id,name,amount,at,flag,ok\n7,\"O'Brien, \"\"Bob\"\"\nnewline\",-12.50,2020-10-10 07:12:09,1,\n"
        );
    }

    #[test]
    fn json_is_one_array_and_ndjson_one_object_per_line() {
        let object = r#"{"id":7,"name":"O'Brien, \"Bob\"\nnewline","amount":-12.50,"at":"2020-10-10 07:12:09","flag":1,"ok":null}"#;
        assert_eq!(encode(Format::Json, &[]), "[]\n");
        assert_eq!(
            encode(Format::Json, &[sample(), sample()]),
            format!("[\n{object},\n{object}\n]\n")
        );
        assert_eq!(encode(Format::Ndjson, &[sample()]), format!("{object}\n"));
        let parsed: serde_json::Value =
            serde_json::from_str(&encode(Format::Json, &[sample()])).unwrap();
        assert_eq!(
            parsed[0]["amount"].to_string(),
            "-12.50",
            "amounts stay exact numbers"
        );
    }

    fn any_cell() -> impl Strategy<Value = (Option<String>, i64, i64, bool)> {
        (
            proptest::option::of(".*"),
            any::<i64>(),
            -1_000_000_000_000_000i64..1_000_000_000_000_000,
            any::<bool>(),
        )
    }

    proptest! {
        #[test]
        fn csv_round_trips_through_csv_reader(rows in proptest::collection::vec(any_cell(), 0..20)) {
            let cells: Vec<Vec<Cell<'_>>> = rows.iter().map(|(text, int, micros, flag)| vec![
                Cell::Int(*int),
                text.as_ref().map_or(Cell::Null, |t| Cell::Text(t)),
                Cell::Money(Money::from_micros(*micros), 6),
                Cell::Time(Timestamp::from_micros(*micros)),
                Cell::Bit(*flag),
                Cell::Bool(*flag),
            ]).collect();
            let output = encode(Format::Csv, &cells);
            let mut reader = ::csv::Reader::from_reader(output.as_bytes());
            prop_assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS.to_vec());
            let records: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            prop_assert_eq!(records.len(), rows.len());
            for (record, (text, int, micros, flag)) in records.iter().zip(&rows) {
                prop_assert_eq!(&record[0], int.to_string());
                // CSV cannot tell an empty string from an absent one.
                prop_assert_eq!(&record[1], text.as_deref().unwrap_or(""));
                prop_assert_eq!(Money::parse(&record[2]).unwrap(), Money::from_micros(*micros));
                prop_assert_eq!(&record[3], Timestamp::from_micros(*micros).to_string());
                prop_assert_eq!(&record[4], if *flag { "1" } else { "0" });
                prop_assert_eq!(&record[5], flag.to_string());
            }
        }

        #[test]
        fn json_is_valid_and_exact(rows in proptest::collection::vec(any_cell(), 0..20)) {
            let cells: Vec<Vec<Cell<'_>>> = rows.iter().map(|(text, int, micros, flag)| vec![
                Cell::Int(*int),
                text.as_ref().map_or(Cell::Null, |t| Cell::Text(t)),
                Cell::Money(Money::from_micros(*micros), 6),
                Cell::Time(Timestamp::from_micros(*micros)),
                Cell::Bit(*flag),
                Cell::Bool(*flag),
            ]).collect();
            let parsed: Vec<serde_json::Value> = serde_json::from_str(&encode(Format::Json, &cells)).unwrap();
            prop_assert_eq!(parsed.len(), rows.len());
            for (object, (text, int, micros, _)) in parsed.iter().zip(&rows) {
                prop_assert_eq!(object["id"].to_string(), int.to_string());
                prop_assert_eq!(object["name"].as_str(), text.as_deref());
                prop_assert_eq!(Money::parse(&object["amount"].to_string()).unwrap(), Money::from_micros(*micros));
            }
        }
    }
}
