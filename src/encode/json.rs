//! JSON: one array of objects, or NDJSON, one object per line.
//!
//! Written by hand rather than through serde so that amounts are emitted as
//! exact JSON numbers with their column's places (`12.500000`), and keys are
//! escaped once, not per row.

use super::{format_scalar, Cell, Scratch, CHUNK_SIZE};
use std::io::{self, Write};

pub struct JsonEncoder<W: Write> {
    out: W,
    buffer: Vec<u8>,
    /// `{"id":`, `,"name":`, ...: each key with what precedes it.
    keys: Vec<Vec<u8>>,
    /// An array (`[...]`) rather than NDJSON.
    array: bool,
    rows: u64,
    scratch: Scratch,
}

/// The keys of a JSON object with these columns, each with what precedes
/// it: `{"id":`, `,"name":`, ...
pub fn object_keys(columns: &[&str]) -> Vec<Vec<u8>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let mut key = vec![if i == 0 { b'{' } else { b',' }];
            serde_json::to_writer(&mut key, column).expect("writes to a Vec");
            key.push(b':');
            key
        })
        .collect()
}

/// Appends one object, `keys` (from [`object_keys`]) with their cells, to
/// `buffer`.
#[inline]
pub fn write_object<'c>(
    buffer: &mut Vec<u8>,
    keys: &[Vec<u8>],
    cells: impl IntoIterator<Item = Cell<'c>>,
    scratch: &mut Scratch,
) -> io::Result<()> {
    for (key, cell) in keys.iter().zip(cells) {
        buffer.extend_from_slice(key);
        match cell {
            Cell::Null => buffer.extend_from_slice(b"null"),
            Cell::Text(text) => serde_json::to_writer(&mut *buffer, text)?,
            Cell::Time(_) => {
                let bytes = format_scalar(&cell, scratch).expect("a scalar cell");
                buffer.push(b'"');
                buffer.extend_from_slice(bytes);
                buffer.push(b'"');
            }
            scalar => {
                let bytes = format_scalar(&scalar, scratch).expect("a scalar cell");
                buffer.extend_from_slice(bytes);
            }
        }
    }
    buffer.push(b'}');
    Ok(())
}

impl<W: Write> JsonEncoder<W> {
    pub fn new(columns: &[&str], out: W, array: bool) -> Self {
        let keys = object_keys(columns);
        let mut buffer = Vec::with_capacity(CHUNK_SIZE + 4096);
        if array {
            buffer.push(b'[');
        }
        JsonEncoder {
            out,
            buffer,
            keys,
            array,
            rows: 0,
            scratch: Scratch::default(),
        }
    }

    #[inline]
    pub fn write_row<'c>(&mut self, cells: impl IntoIterator<Item = Cell<'c>>) -> io::Result<()> {
        if self.array {
            self.buffer
                .extend_from_slice(if self.rows == 0 { b"\n" } else { b",\n" });
        }
        write_object(&mut self.buffer, &self.keys, cells, &mut self.scratch)?;
        if !self.array {
            self.buffer.push(b'\n');
        }
        self.rows += 1;
        if self.buffer.len() >= CHUNK_SIZE {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        if self.array {
            self.buffer
                .extend_from_slice(if self.rows == 0 { b"]\n" } else { b"\n]\n" });
        }
        self.out.write_all(&self.buffer)?;
        self.out.flush()?;
        Ok(self.out)
    }
}
