//! SQL text with typed bind parameters, written once for both backends:
//! diesel writes the placeholders each backend wants. [`Statement`] serves
//! every query hourglass builds at run time; [`PgStatement`] binds a
//! column's values as one PostgreSQL array. [`stream_rows`] reads a query's
//! rows one at a time, in constant memory, on either backend.

use super::pg_cursor::stream_with_cursor;
use super::row::{RowBuf, Value};
use super::{DbConnection, StreamError};
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};
use std::borrow::Cow;
use std::io;

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
    /// SQL text that differs between the backends.
    Dialect {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

/// Where the backends' SQL differs: which one a statement is written for.
pub trait Dialect {
    const POSTGRES: bool;
}

impl Dialect for diesel::pg::Pg {
    const POSTGRES: bool = true;
}

impl Dialect for diesel::sqlite::Sqlite {
    const POSTGRES: bool = false;
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

    /// `sqlite` on SQLite, `postgres` on PostgreSQL: for the few places where
    /// one text cannot serve both (a planner that must be steered).
    pub fn dialect(mut self, sqlite: &'static str, postgres: &'static str) -> Self {
        self.pieces.push(Piece::Dialect { sqlite, postgres });
        self
    }

    /// A value, bound (a NULL written as `NULL`).
    pub fn value(mut self, value: &'a Value) -> Self {
        self.push_value(value, Nulls::Literal);
        self
    }

    /// `(?, ?, …)` with `texts` bound: the list of an `IN`. Not kept
    /// prepared, since its text varies with the list's length.
    pub fn in_list<S: AsRef<str>>(mut self, texts: &'a [S]) -> Self {
        for (n, text) in texts.iter().enumerate() {
            self = self
                .sql(if n == 0 { "(" } else { ", " })
                .bind_text(text.as_ref());
        }
        self.sql(")").uncached()
    }

    /// Not to be kept prepared: its text varies with its data (a list of
    /// values of any length), and would fill the statement cache.
    pub fn uncached(mut self) -> Self {
        self.cacheable = false;
        self
    }

    /// Appends SQL text in place (for a statement built in a loop).
    pub fn push_sql(&mut self, sql: impl Into<Cow<'a, str>>) {
        self.pieces.push(Piece::Sql(sql.into()));
    }

    /// Appends a value in place, its NULL written as `nulls` says.
    pub fn push_value(&mut self, value: &'a Value, nulls: Nulls) {
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
}

/// How a statement writes a NULL value.
#[derive(Debug, Clone, Copy)]
pub enum Nulls {
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
    DB: Backend + Dialect + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Bool>,
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
                Piece::Dialect { sqlite, postgres } => {
                    out.push_sql(if DB::POSTGRES { postgres } else { sqlite })
                }
            }
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Statement<'_> {}

/// Runs a statement that returns no rows, on either backend.
pub fn execute(conn: &mut DbConnection, statement: Statement<'_>) -> QueryResult<usize> {
    super::with_backend!(conn, c => statement.execute(c))
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
        DbConnection::Postgresql(c) => stream_with_cursor(c, statement, f),
    }
}

/// A PostgreSQL statement whose values are bound as arrays, one per column
/// (`unnest($1::TEXT[], $2::BIGINT[], …)`): its text does not depend on how
/// many rows it carries.
#[derive(Default)]
pub struct PgStatement<'a> {
    pieces: Vec<PgPiece<'a>>,
}

/// A piece of a [`PgStatement`]: SQL text, a bound integer, or one
/// column's values as an array of its SQL type.
pub enum PgPiece<'a> {
    Sql(String),
    Int(i64),
    Texts(Vec<Option<&'a str>>),
    Ints(Vec<Option<i64>>),
    Bools(Vec<Option<bool>>),
}

impl<'a> PgStatement<'a> {
    pub fn sql(&mut self, sql: &str) {
        self.pieces.push(PgPiece::Sql(sql.to_string()));
    }

    /// Appends a bound integer, or an array of a column's values.
    pub fn push(&mut self, piece: PgPiece<'a>) {
        self.pieces.push(piece);
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
