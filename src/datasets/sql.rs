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

/// Bound parameters per PostgreSQL upsert statement (SQLite's upserts are
/// one row each): well under its limit of 65,535, and about 500 rows of the
/// widest dataset.
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

    pub fn bind_text(mut self, value: &'a str) -> Self {
        self.pieces.push(Piece::Text(value));
        self
    }

    /// A value, bound (a NULL written as `NULL`).
    pub fn value(mut self, value: &'a Value) -> Self {
        self.push_value(value, Nulls::Literal);
        self
    }

    /// Not to be kept prepared: its text varies with its data (a list of
    /// values of any length), and would fill the statement cache.
    pub fn uncached(mut self) -> Self {
        self.cacheable = false;
        self
    }

    fn push_value(&mut self, value: &'a Value, nulls: Nulls) {
        self.pieces.push(match value {
            Value::Null => match nulls {
                Nulls::Literal => Piece::Sql(Cow::Borrowed("NULL")),
                Nulls::Bound => Piece::Null,
            },
            Value::Text(text) => Piece::Text(text),
            Value::Int(v) => Piece::Int(*v),
            Value::Bool(v) => Piece::Bool(*v),
        });
    }

    /// A row's values but its stamp, comma-separated, in column order.
    fn push_row(&mut self, shape: &Shape, row: &'a [Value], nulls: Nulls) {
        let mut first = true;
        for (i, value) in row.iter().enumerate() {
            if Some(i) == shape.stamp {
                continue;
            }
            if !first {
                self.pieces.push(Piece::Sql(Cow::Borrowed(", ")));
            }
            first = false;
            self.push_value(value, nulls);
        }
    }
}

/// How a statement writes a NULL value.
#[derive(Debug, Clone, Copy)]
enum Nulls {
    /// `NULL`.
    Literal,
    /// A bound parameter (SQLite: the text of the statement then does not
    /// depend on which values are missing, so one prepared statement serves).
    Bound,
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
        format!(
            " ORDER BY {stamp}, {key}{}",
            // A deletion is keyed by its dataset and id: two datasets may
            // delete one id under one stamp.
            if matches!(shape.dataset.def().role, super::Role::Feed) {
                ", \"dataset\""
            } else {
                ""
            }
        ),
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
    let sql = UpsertSql::new(shape);
    let stamp = Value::Int(stamp.as_micros());
    // In key order: the next row's index entries are near the last one's,
    // so a chunk walks each index once rather than jumping about it.
    let rows = last_of_each_key(rows, |row| &row[shape.key]);
    // SQLite runs in this process: one prepared statement, run once per row
    // as its own `.import` does, costs less than parsing a long statement,
    // and spares the statement journal a many-row statement keeps. For
    // PostgreSQL, many rows a statement save round trips.
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let (per_statement, nulls) = if sqlite {
        (1, Nulls::Bound)
    } else {
        ((UPSERT_PARAMS / shape.columns.len()).max(1), Nulls::Literal)
    };
    for chunk in rows.chunks(per_statement) {
        let mut statement = Statement::new(sql.head.as_str()).sql("VALUES ");
        statement.cacheable = sqlite;
        for (n, row) in chunk.iter().enumerate() {
            statement = statement.sql(if n == 0 { "(" } else { ", (" });
            statement.push_row(shape, row, nulls);
            statement = statement.sql(", ");
            statement.push_value(&stamp, nulls);
            statement = statement.sql(")");
        }
        execute(conn, statement.sql(sql.tail.as_str()))?;
    }
    Ok(rows.len())
}

/// Values a one-statement group may hold ([`upsert_stamping`]); larger
/// groups are written in a transaction.
pub const STAMPING_VALUES: usize = 50_000;

/// PostgreSQL: upserts every batch (each one dataset's rows, in the shape's
/// column order) in one statement that also takes the write stamp, and
/// returns the stamp.
///
/// Its first part raises the stamp clock under the clock's lock, as
/// `db::write_transaction` does, and the rows are stamped with what it
/// returns. Alone in its transaction (autocommit), it saves the BEGIN and
/// COMMIT round trips, and the lock is held only while the statement runs
/// and commits, not across round trips to this process. Each column's
/// values travel as one array (`unnest`), so the statement's text depends
/// only on which datasets the group holds, not on how many rows: it is
/// prepared once per connection, and planned once rather than per group
/// (planning a many-row VALUES list took as long as running it).
pub fn upsert_stamping(
    conn: &mut diesel::PgConnection,
    now: Timestamp,
    batches: &[(&Shape, Vec<Vec<Value>>)],
) -> QueryResult<Timestamp> {
    #[derive(diesel::QueryableByName)]
    struct Stamp {
        #[diesel(sql_type = BigInt)]
        last_stamp: i64,
    }
    // In dataset order: one statement text per set of datasets.
    let mut batches: Vec<&(&Shape, Vec<Vec<Value>>)> = batches
        .iter()
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    batches.sort_by_key(|(shape, _)| shape.dataset.name());
    let mut statement = PgStatement::default();
    statement.sql("WITH stamp AS (UPDATE stamp_clock SET last_stamp = GREATEST(last_stamp + 1, ");
    statement.pieces.push(PgPiece::Int(now.as_micros()));
    statement.sql(") RETURNING last_stamp)");
    for (n, (shape, rows)) in batches.into_iter().enumerate() {
        let sql = UpsertSql::new(shape);
        let rows = last_of_each_key(rows, |row| &row[shape.key]);
        statement.sql(&format!(", w{n} AS ("));
        statement.sql(&sql.head);
        statement.sql("SELECT u.*, stamp.last_stamp FROM stamp, unnest(");
        let columns = (0..shape.columns.len()).filter(|&i| Some(i) != shape.stamp);
        for (position, column) in columns.enumerate() {
            if position > 0 {
                statement.sql(", ");
            }
            statement.pieces.push(PgPiece::column(shape, &rows, column));
        }
        statement.sql(") AS u");
        statement.sql(&sql.tail);
        statement.sql(")");
    }
    statement.sql(" SELECT last_stamp FROM stamp");
    let stamp: Stamp = statement.get_result(conn)?;
    Ok(Timestamp::from_micros(stamp.last_stamp))
}

/// A PostgreSQL statement whose values are bound as arrays, one per column.
#[derive(Default)]
struct PgStatement<'a> {
    pieces: Vec<PgPiece<'a>>,
}

enum PgPiece<'a> {
    Sql(String),
    Int(i64),
    Texts(Vec<Option<&'a str>>),
    Ints(Vec<Option<i64>>),
    Bools(Vec<Option<bool>>),
}

impl<'a> PgPiece<'a> {
    /// Column `column` of every row, as an array of its SQL type.
    fn column(shape: &Shape, rows: &[&'a Vec<Value>], column: usize) -> Self {
        let values = rows.iter().map(|row| &row[column]);
        match shape.columns[column].kind.sql_type() {
            "BIGINT" => PgPiece::Ints(values.map(Value::as_int).collect()),
            "BOOLEAN" => PgPiece::Bools(values.map(Value::as_bool).collect()),
            _ => PgPiece::Texts(values.map(Value::as_text).collect()),
        }
    }
}

impl PgStatement<'_> {
    fn sql(&mut self, sql: &str) {
        self.pieces.push(PgPiece::Sql(sql.to_string()));
    }
}

impl Query for PgStatement<'_> {
    type SqlType = Untyped;
}

impl QueryId for PgStatement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<diesel::pg::Pg> for PgStatement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::Array;
        for piece in &self.pieces {
            match piece {
                PgPiece::Sql(sql) => out.push_sql(sql),
                PgPiece::Int(v) => out.push_bind_param::<BigInt, i64>(v)?,
                PgPiece::Texts(v) => {
                    out.push_bind_param::<Array<Nullable<Text>>, _>(v)?;
                    out.push_sql("::TEXT[]");
                }
                PgPiece::Ints(v) => {
                    out.push_bind_param::<Array<Nullable<BigInt>>, _>(v)?;
                    out.push_sql("::BIGINT[]");
                }
                PgPiece::Bools(v) => {
                    out.push_bind_param::<Array<Nullable<Bool>>, _>(v)?;
                    out.push_sql("::BOOLEAN[]");
                }
            }
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for PgStatement<'_> {}

/// An upsert's SQL around its values: `INSERT INTO t (columns…, stamp) ` and
/// ` ON CONFLICT (key) DO UPDATE SET …`. The stamp column comes last, so
/// that the values of a row can be followed by its stamp, however it is given.
struct UpsertSql {
    head: String,
    tail: String,
}

impl UpsertSql {
    fn new(shape: &Shape) -> Self {
        let stamp = shape.stamp.expect("a written dataset has a stamp column");
        let name = |i: usize| quote(shape.columns[i].sql_name());
        let order: Vec<usize> = (0..shape.columns.len())
            .filter(|&i| i != stamp)
            .chain([stamp])
            .collect();
        let names: Vec<String> = order.iter().map(|&i| name(i)).collect();
        let updates: Vec<String> = order
            .iter()
            .filter(|&&i| i != shape.key)
            .map(|&i| format!("{0} = excluded.{0}", name(i)))
            .collect();
        UpsertSql {
            head: format!(
                "INSERT INTO {} ({}) ",
                quote(shape.dataset.name()),
                names.join(", ")
            ),
            tail: format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                name(shape.key),
                updates.join(", ")
            ),
        }
    }
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
