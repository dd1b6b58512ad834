//! A pull without HTTP: a dataset's window, or a player's activity, read
//! from the database and written as CSV, JSON or NDJSON into any
//! `io::Write`, row by row, in constant memory.
//!
//! The HTTP pull (`stream.rs`) writes into a bounded channel to the socket;
//! the relay writes a window into memory and reads it back as JSON. Both go
//! through here, so they write every value alike (amounts exact, times UTC).

use crate::datasets::activity;
use crate::datasets::catalog::{Catalog, Shape};
use crate::datasets::column::{Cell, Kind};
use crate::db::statement::stream_rows;
use crate::db::DbConnection;
use crate::db::StreamError;
use crate::encode::json::{object_keys, write_object};
use crate::encode::{Encoder, Scratch, CHUNK_SIZE};
use crate::timestamp::TimeWindow;
use crate::window::Format;
use std::io::Write;

/// Streams the rows of `window` of `shape`'s dataset into `out` as
/// `format`, counting them in `rows` as they go (so the count is right even
/// when the output fails midway). The dataset must be pullable.
pub fn window<W: Write>(
    conn: &mut DbConnection,
    shape: &Shape,
    window: TimeWindow,
    format: Format,
    out: W,
    rows: &mut u64,
) -> Result<W, StreamError> {
    let names: Vec<&str> = shape.columns.iter().map(|c| c.name.as_ref()).collect();
    let mut encoder = Encoder::new(format, &names, out)?;
    let kinds: Vec<Kind> = shape.columns.iter().map(|c| c.kind).collect();
    stream_rows(conn, shape.window_statement(window), |row| {
        *rows += 1;
        encoder.write_row(
            kinds
                .iter()
                .zip(&row.slots)
                .map(|(kind, slot)| kind.cell(*slot, &row.text)),
        )
    })?;
    Ok(encoder.finish()?)
}

/// Writes the player's rows in `window`, every dataset merged in
/// (last-modified, dataset, key) order (`datasets::activity`), as JSON or
/// NDJSON objects whose first member is `dataset`. Counts the rows in
/// `rows` as they go.
pub fn activity<W: Write>(
    conn: &mut DbConnection,
    catalog: &Catalog,
    player: &str,
    window: TimeWindow,
    format: Format,
    mut out: W,
    rows: &mut u64,
) -> Result<W, StreamError> {
    let array = format != Format::Ndjson;
    // Each dataset's object keys, `dataset` first, by its place in the catalog.
    let keys: Vec<_> = catalog
        .shapes()
        .map(|shape| {
            let mut names = vec!["dataset"];
            names.extend(shape.columns.iter().map(|c| c.name.as_ref()));
            object_keys(&names)
        })
        .collect();
    let mut buffer = Vec::with_capacity(CHUNK_SIZE + 4096);
    let mut scratch = Scratch::default();
    if array {
        buffer.push(b'[');
    }
    activity::for_each_row(conn, catalog, player, window, |place, shape, row| {
        if array {
            buffer.extend_from_slice(if *rows == 0 { b"\n" } else { b",\n" });
        }
        let name = Cell::Text(shape.dataset.name());
        let cells = shape
            .columns
            .iter()
            .zip(&row.slots)
            .map(|(column, slot)| column.kind.cell(*slot, &row.text));
        write_object(
            &mut buffer,
            &keys[place],
            std::iter::once(name).chain(cells),
            &mut scratch,
        )?;
        if !array {
            buffer.push(b'\n');
        }
        *rows += 1;
        if buffer.len() >= CHUNK_SIZE {
            out.write_all(&buffer)?;
            buffer.clear();
        }
        Ok(())
    })?;
    if array {
        buffer.extend_from_slice(if *rows == 0 { b"]\n" } else { b"\n]\n" });
    }
    out.write_all(&buffer)?;
    out.flush()?;
    Ok(out)
}
