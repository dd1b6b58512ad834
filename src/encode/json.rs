//! JSON: one array of objects, or NDJSON, one object per line.
//!
//! Written by hand rather than through serde so that amounts are emitted as
//! exact JSON numbers (`12.50`), and keys are escaped once, not per row.

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

impl<W: Write> JsonEncoder<W> {
    pub fn new(columns: &[&str], out: W, array: bool) -> Self {
        let keys = columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                let mut key = vec![if i == 0 { b'{' } else { b',' }];
                serde_json::to_writer(&mut key, column).expect("writes to a Vec");
                key.push(b':');
                key
            })
            .collect();
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
        for (key, cell) in self.keys.iter().zip(cells) {
            self.buffer.extend_from_slice(key);
            match cell {
                Cell::Null => self.buffer.extend_from_slice(b"null"),
                Cell::Text(text) => serde_json::to_writer(&mut self.buffer, text)?,
                Cell::Time(_) => {
                    let bytes = format_scalar(&cell, &mut self.scratch).expect("a scalar cell");
                    self.buffer.push(b'"');
                    self.buffer.extend_from_slice(bytes);
                    self.buffer.push(b'"');
                }
                scalar => {
                    let bytes = format_scalar(&scalar, &mut self.scratch).expect("a scalar cell");
                    self.buffer.extend_from_slice(bytes);
                }
            }
        }
        self.buffer.push(b'}');
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
