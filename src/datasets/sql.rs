//! The SQL of the datasets, generated from their description and written
//! once for both backends: a [`Statement`] is SQL text with typed bind
//! parameters, and diesel writes the placeholders each backend wants.

use super::catalog::Shape;
use super::column::Value;
use super::row::RowBuf;
use super::StreamError;
use crate::db::DbConnection;
use crate::timestamp::Timestamp;
use crate::window::TimeWindow;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};
use std::borrow::Cow;
use std::io;

/// Bound parameters per upsert statement: well under both backends' limits
/// (SQLite 32,766, PostgreSQL 65,535), and about 500 rows of the widest
/// dataset.
const UPSERT_PARAMS: usize = 8_000;

/// Quotes an identifier. Column names come from the description or from
/// custom field names checked against `[a-z][a-z0-9_]*`, so this is for
/// keywords (`type`) and mixed case, not for hostile input.
pub fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

enum Piece<'a> {
    Sql(Cow<'a, str>),
    Int(i64),
    Text(&'a str),
    Bool(bool),
    /// A NULL bound as a parameter, so that the statement's text does not
    /// depend on which values are missing (SQLite only: PostgreSQL would
    /// type it as text).
    Null,
}

/// SQL text and typed bind parameters, in order.
pub struct Statement<'a> {
    pieces: Vec<Piece<'a>>,
    /// Whether diesel may keep it prepared: a statement whose text varies
    /// with its data (a multi-row insert) must not fill the cache.
    cacheable: bool,
}

impl<'a> Statement<'a> {
    pub fn new(sql: impl Into<Cow<'a, str>>) -> Self {
        Statement {
            pieces: vec![Piece::Sql(sql.into())],
            cacheable: true,
        }
    }

    pub fn sql(mut self, sql: impl Into<Cow<'a, str>>) -> Self {
        self.pieces.push(Piece::Sql(sql.into()));
        self
    }

    pub fn bind_int(mut self, value: i64) -> Self {
        self.pieces.push(Piece::Int(value));
        self
    }

    fn push_value(&mut self, value: &'a Value, bind_null: bool) {
        self.pieces.push(match value {
            Value::Null if bind_null => Piece::Null,
            Value::Null => Piece::Sql(Cow::Borrowed("NULL")),
            Value::Text(text) => Piece::Text(text),
            Value::Int(v) => Piece::Int(*v),
            Value::Bool(v) => Piece::Bool(*v),
        });
    }
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Statement<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Bool>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    Option<&'static str>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !self.cacheable {
            out.unsafe_to_cache_prepared();
        }
        for piece in &self.pieces {
            match piece {
                Piece::Sql(sql) => out.push_sql(sql),
                Piece::Int(v) => out.push_bind_param::<BigInt, i64>(v)?,
                Piece::Text(v) => out.push_bind_param::<Text, str>(v)?,
                Piece::Bool(v) => out.push_bind_param::<Bool, bool>(v)?,
                Piece::Null => out.push_bind_param::<Nullable<Text>, Option<&str>>(&None)?,
            }
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Statement<'_> {}

/// Runs a statement that returns no rows, on either backend.
pub fn execute(conn: &mut DbConnection, statement: Statement<'_>) -> QueryResult<usize> {
    crate::db::with_backend!(conn, c => statement.execute(c))
}

/// Streams the rows of `statement` to `f`, row by row, in constant memory:
/// SQLite's cursor reads one row at a time; on PostgreSQL a server-side
/// cursor in a read-only transaction is fetched in batches (a plain query
/// would bring the whole result into client memory first). Returns how many
/// rows it passed on.
pub fn stream_rows(
    conn: &mut DbConnection,
    statement: Statement<'_>,
    mut f: impl FnMut(&RowBuf) -> io::Result<()>,
) -> Result<u64, StreamError> {
    match conn {
        DbConnection::Sqlite(c) => {
            let mut count = 0;
            for row in statement.load_iter::<RowBuf, diesel::connection::DefaultLoadingMode>(c)? {
                f(&row?)?;
                count += 1;
            }
            Ok(count)
        }
        DbConnection::Postgresql(c) => crate::db::stream_with_cursor(c, statement, f),
    }
}

/// `SELECT <columns> FROM <table> WHERE <stamp> >= ? AND <stamp> < ?
/// ORDER BY <stamp>, <key>`, as the three pieces around its two binds.
pub(super) fn window_sql(shape: &Shape, stamp: &str) -> [String; 3] {
    let columns: Vec<String> = shape.columns.iter().map(|c| quote(c.sql_name())).collect();
    let stamp = quote(stamp);
    let key = quote(shape.columns[shape.key].sql_name());
    [
        format!(
            "SELECT {} FROM {} WHERE {stamp} >= ",
            columns.join(", "),
            quote(shape.dataset.name())
        ),
        format!(" AND {stamp} < "),
        format!(" ORDER BY {stamp}, {key}"),
    ]
}

/// A window statement from its three pieces (see [`window_sql`]).
pub(super) fn window_statement(pieces: &[String; 3], window: TimeWindow) -> Statement<'_> {
    Statement::new(pieces[0].as_str())
        .bind_int(window.from().as_micros())
        .sql(pieces[1].as_str())
        .bind_int(window.to().as_micros())
        .sql(pieces[2].as_str())
}

/// Inserts `rows` (values in the shape's column order, the stamp slot
/// ignored), or replaces the row with the same key, every row stamped
/// `stamp`. A batch that repeats a key keeps the last row of each key
/// (PostgreSQL refuses to update one row twice in a statement). Returns how
/// many rows were stored.
pub fn upsert(
    conn: &mut DbConnection,
    shape: &Shape,
    rows: &[Vec<Value>],
    stamp: Timestamp,
) -> QueryResult<usize> {
    let stamp_index = shape.stamp.expect("a written dataset has a stamp column");
    let stamp = Value::Int(stamp.as_micros());
    let names: Vec<String> = shape.columns.iter().map(|c| quote(c.sql_name())).collect();
    let head = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote(shape.dataset.name()),
        names.join(", ")
    );
    let updates: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != shape.key)
        .map(|(_, name)| format!("{name} = excluded.{name}"))
        .collect();
    let tail = format!(
        " ON CONFLICT ({}) DO UPDATE SET {}",
        names[shape.key],
        updates.join(", ")
    );
    // In key order: the next row's index entries are near the last one's,
    // so a chunk walks each index once rather than jumping about it.
    let rows = last_of_each_key(rows, |row| &row[shape.key]);
    // SQLite runs in this process: one prepared statement, run once per row
    // as its own `.import` does, costs less than parsing a long statement,
    // and spares the statement journal a many-row statement keeps. For
    // PostgreSQL, many rows a statement save round trips.
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let per_statement = if sqlite {
        1
    } else {
        (UPSERT_PARAMS / names.len()).max(1)
    };
    for chunk in rows.chunks(per_statement) {
        let mut statement = Statement::new(head.as_str());
        statement.cacheable = sqlite;
        for (n, row) in chunk.iter().enumerate() {
            statement = statement.sql(if n == 0 { "(" } else { ", (" });
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    statement = statement.sql(", ");
                }
                statement.push_value(if i == stamp_index { &stamp } else { value }, sqlite);
            }
            statement = statement.sql(")");
        }
        execute(conn, statement.sql(tail.as_str()))?;
    }
    Ok(rows.len())
}

/// The rows of a batch that a sequence of upserts would leave, the last row
/// of each key, in key order.
fn last_of_each_key<T, K: Ord>(rows: &[T], key: impl Fn(&T) -> &K) -> Vec<&T> {
    let mut sorted: Vec<&T> = rows.iter().collect();
    // Stable: rows with one key stay in batch order, the last one last.
    sorted.sort_by(|a, b| key(a).cmp(key(b)));
    let mut kept: Vec<&T> = Vec::with_capacity(sorted.len());
    for row in sorted {
        match kept.last_mut() {
            Some(last) if key(last) == key(row) => *last = row,
            _ => kept.push(row),
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_the_last_row_of_each_key_in_key_order() {
        let rows = [(1, "a"), (3, "b"), (1, "c"), (2, "d"), (3, "e")];
        let kept: Vec<_> = last_of_each_key(&rows, |row| &row.0)
            .into_iter()
            .map(|row| row.1)
            .collect();
        assert_eq!(kept, ["c", "d", "e"]);
        let many: Vec<(u8, usize)> = (0..1000).map(|i| ((i * 7 % 10) as u8, i)).collect();
        let kept = last_of_each_key(&many, |row| &row.0);
        let expected: Vec<(u8, usize)> = (0..10)
            .map(|k| *many.iter().rev().find(|row| row.0 == k).unwrap())
            .collect();
        assert_eq!(kept.into_iter().copied().collect::<Vec<_>>(), expected);
    }
}
