//! The SQL of the datasets, generated from their description for both
//! backends: a stored dataset's window query, and the upserts that write
//! rows under a stamp (built of `db::statement`'s pieces).

use super::catalog::Shape;
use crate::db::row::Value;
use crate::db::statement::{execute, quote, Nulls, PgPiece, PgStatement, Statement};
use crate::db::DbConnection;
use crate::timestamp::{TimeWindow, Timestamp};
use diesel::sql_types::BigInt;
use diesel::{QueryResult, RunQueryDsl};

/// Bound parameters per PostgreSQL upsert statement (SQLite's upserts are
/// one row each): well under its limit of 65,535, and about 500 rows of the
/// widest dataset.
const UPSERT_PARAMS: usize = 8_000;

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
        if !sqlite {
            statement = statement.uncached();
        }
        for (n, row) in chunk.iter().enumerate() {
            statement.push_sql(if n == 0 { "(" } else { ", (" });
            push_row(&mut statement, shape, row, nulls);
            statement.push_sql(", ");
            statement.push_value(&stamp, nulls);
            statement.push_sql(")");
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
    statement.push(PgPiece::Int(now.as_micros()));
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
            statement.push(column_array(shape, &rows, column));
        }
        statement.sql(") AS u");
        statement.sql(&sql.tail);
        statement.sql(")");
    }
    statement.sql(" SELECT last_stamp FROM stamp");
    let stamp: Stamp = statement.get_result(conn)?;
    Ok(Timestamp::from_micros(stamp.last_stamp))
}

/// A row's values but its stamp, comma-separated, in column order.
fn push_row<'a>(statement: &mut Statement<'a>, shape: &Shape, row: &'a [Value], nulls: Nulls) {
    let mut first = true;
    for (i, value) in row.iter().enumerate() {
        if Some(i) == shape.stamp {
            continue;
        }
        if !first {
            statement.push_sql(", ");
        }
        first = false;
        statement.push_value(value, nulls);
    }
}

/// Column `column` of every row, as an array of its SQL type.
fn column_array<'a>(shape: &Shape, rows: &[&'a Vec<Value>], column: usize) -> PgPiece<'a> {
    let values = rows.iter().map(|row| &row[column]);
    match shape.columns[column].kind.sql_type() {
        "BIGINT" => PgPiece::Ints(values.map(Value::as_int).collect()),
        "BOOLEAN" => PgPiece::Bools(values.map(Value::as_bool).collect()),
        _ => PgPiece::Texts(values.map(Value::as_text).collect()),
    }
}

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
