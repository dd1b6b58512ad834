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
        writer.write_record(columns)?;
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
            .map_err(io::Error::from)
    }

    pub fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|error| error.into_error())
    }
}
