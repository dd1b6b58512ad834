//! A player's activity: their rows in every dataset that names a player,
//! in time order (`GET /api/players/<id>/activity`; `export::activity`
//! writes them out).
//!
//! Each dataset is read in pages of [`PAGE_ROWS`], in (last-modified, key)
//! order, through its `(player, last-modified)` index, and the pages are
//! merged as they are handed on: memory holds one page per dataset
//! whatever the window, and no query scans a table.

use super::catalog::{Catalog, Shape};
use crate::db::row::{RowBuf, Slot};
use crate::db::statement::{quote, Statement};
use crate::db::StreamError;
use crate::db::{with_backend, DbConnection};
use crate::timestamp::TimeWindow;
use diesel::RunQueryDsl;
use std::collections::VecDeque;

/// Rows read at a time from each dataset.
const PAGE_ROWS: i64 = 500;

/// One dataset's side of the merge.
struct Source<'a> {
    /// The shape's place in the catalog, which `f` is told.
    place: usize,
    shape: &'a Shape,
    stamp: usize,
    /// `SELECT … WHERE player = ? AND stamp >= ? AND stamp < ?`, before the
    /// page's own condition and order.
    select: String,
    /// The stamp and key columns, quoted.
    stamp_sql: String,
    key_sql: String,
    order: String,
    page: VecDeque<RowBuf>,
    /// The last row read: where the next page starts.
    after: Option<(i64, String)>,
    done: bool,
}

impl<'a> Source<'a> {
    fn new(place: usize, shape: &'a Shape) -> Self {
        let stamp = shape.stamp.expect("a dataset with a player has a stamp");
        let columns: Vec<String> = shape.columns.iter().map(|c| quote(c.sql_name())).collect();
        let (stamp_sql, key_sql) = (
            quote(shape.columns[stamp].sql_name()),
            quote(shape.columns[shape.key].sql_name()),
        );
        Source {
            place,
            shape,
            stamp,
            select: format!(
                "SELECT {} FROM {} WHERE {} = ",
                columns.join(", "),
                quote(shape.dataset.name()),
                quote(shape.dataset.def().player.expect("a player column"))
            ),
            order: format!(" ORDER BY {stamp_sql}, {key_sql} LIMIT {PAGE_ROWS}"),
            stamp_sql,
            key_sql,
            page: VecDeque::new(),
            after: None,
            done: false,
        }
    }

    /// Reads the next page, if the page is empty and there may be one.
    fn fill(
        &mut self,
        conn: &mut DbConnection,
        player: &str,
        window: TimeWindow,
    ) -> Result<(), StreamError> {
        if !self.page.is_empty() || self.done {
            return Ok(());
        }
        let (stamp_sql, key_sql) = (&self.stamp_sql, &self.key_sql);
        let mut statement = Statement::new(self.select.as_str())
            .bind_text(player)
            .sql(format!(" AND {stamp_sql} >= "))
            .bind_int(window.from().as_micros())
            .sql(format!(" AND {stamp_sql} < "))
            .bind_int(window.to().as_micros());
        if let Some((stamp, key)) = &self.after {
            statement = statement
                .sql(format!(" AND ({stamp_sql} > "))
                .bind_int(*stamp)
                .sql(format!(" OR ({stamp_sql} = "))
                .bind_int(*stamp)
                .sql(format!(" AND {key_sql} > "))
                .bind_text(key)
                .sql("))");
        }
        let statement = statement.sql(self.order.as_str());
        let rows: Vec<RowBuf> = with_backend!(conn, c => statement.load(c))?;
        self.done = (rows.len() as i64) < PAGE_ROWS;
        if let Some(last) = rows.last() {
            self.after = Some((
                stamp_of(last, self.stamp),
                key_of(last, self.shape.key).to_string(),
            ));
        }
        self.page.extend(rows);
        Ok(())
    }

    /// Where the next row stands in the merge: (last-modified, key).
    fn head(&self) -> Option<(i64, &str)> {
        let row = self.page.front()?;
        Some((stamp_of(row, self.stamp), key_of(row, self.shape.key)))
    }
}

fn stamp_of(row: &RowBuf, stamp: usize) -> i64 {
    match row.slots[stamp] {
        Slot::Int(micros) => micros,
        _ => i64::MIN,
    }
}

fn key_of(row: &RowBuf, key: usize) -> &str {
    match row.slots[key] {
        Slot::Text(start, end) => &row.text[start as usize..end as usize],
        _ => "",
    }
}

/// Hands the player's rows in `window` to `f`, with their dataset's shape
/// and its place in `catalog.shapes()` (for what the caller keeps per
/// dataset), every dataset merged in (last-modified, dataset, key) order.
/// Returns how many rows it handed on.
pub fn for_each_row(
    conn: &mut DbConnection,
    catalog: &Catalog,
    player: &str,
    window: TimeWindow,
    mut f: impl FnMut(usize, &Shape, &RowBuf) -> std::io::Result<()>,
) -> Result<u64, StreamError> {
    let mut sources: Vec<Source> = catalog
        .shapes()
        .enumerate()
        .filter(|(_, shape)| shape.dataset.def().player.is_some() && shape.stamp.is_some())
        .map(|(place, shape)| Source::new(place, shape))
        .collect();
    let mut rows = 0;
    loop {
        for source in &mut sources {
            source.fill(conn, player, window)?;
        }
        // Datasets in catalog order break ties between equal stamps.
        let next = sources
            .iter()
            .enumerate()
            .filter_map(|(n, source)| source.head().map(|(stamp, key)| (stamp, n, key)))
            .min()
            .map(|(_, n, _)| n);
        let Some(next) = next else {
            return Ok(rows);
        };
        let source = &mut sources[next];
        let row = source.page.pop_front().expect("a head");
        f(source.place, source.shape, &row)?;
        rows += 1;
    }
}
