//! CSV per RFC 4180: a header row, then one record per row.

use super::{format_scalar, Cell, Scratch, CHUNK_SIZE};
use std::io::{self, Write};

pub struct CsvEncoder<W: Write> {
    writer: csv::Writer<W>,
    // One record reused for every row: `write_byte_record` on a reused
    // `ByteRecord` is the csv crate's fastest path.
    record: csv::ByteRecord,
    scratch: Scratch,
}

impl<W: Write> CsvEncoder<W> {
    pub fn new(columns: &[&str], out: W) -> io::Result<Self> {
        let mut writer = csv::WriterBuilder::new()
            .buffer_capacity(CHUNK_SIZE)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        writer.write_record(columns).map_err(io_error)?;
        Ok(CsvEncoder {
            writer,
            record: csv::ByteRecord::new(),
            scratch: Scratch::default(),
        })
    }

    #[inline]
    pub fn write_row<'c>(&mut self, cells: impl IntoIterator<Item = Cell<'c>>) -> io::Result<()> {
        self.record.clear();
        for cell in cells {
            match cell {
                Cell::Null => self.record.push_field(b""),
                Cell::Text(text) => self.record.push_field(text.as_bytes()),
                scalar => {
                    let bytes = format_scalar(&scalar, &mut self.scratch).expect("a scalar cell");
                    self.record.push_field(bytes)
                }
            }
        }
        self.writer
            .write_byte_record(&self.record)
            .map_err(io_error)
    }

    pub fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|error| error.into_error())
    }
}

/// The writer's own error when writing out failed, with its kind (a pull
/// tells a client that stalled, `TimedOut`, from one that went away by
/// it); any other CSV error as an `io::Error` of its own.
fn io_error(error: csv::Error) -> io::Error {
    if !error.is_io_error() {
        return error.into();
    }
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        _ => unreachable!("an I/O error's kind is Io"),
    }
}
