//! Deleting rows by key: `DELETE /api/<dataset>/<id>`, `POST
//! /api/<dataset>/deletions` and `hourglass delete`.
//!
//! A delete is a write: one transaction under one stamp from the writers'
//! clock. It removes the rows from their table and records each in the
//! `deletions` feed with that stamp, so the feed has the window rules and
//! the no-miss guarantee of every dataset, and a consumer that pulls it
//! learns of every delete exactly once. Game actions are never pulled, so
//! their deletes are not listed; instead, deleting game actions re-stamps
//! what is left of their sessions, so that each session comes out again,
//! with its new totals, in the window of the delete; a session left without
//! actions is recorded as a deleted `game_sessions` row.

use super::{BodyFormat, IngestError, RowError};
use crate::clock::Clock;
use crate::datasets::catalog::Shape;
use crate::datasets::column::Raw;
use crate::db::row::Value;
use crate::db::statement::{execute, quote, Statement};
use crate::db::{self, with_backend, DbConnection, StorageError};
use crate::timestamp::Timestamp;
use diesel::sql_types::Text;
use diesel::RunQueryDsl;
use std::collections::BTreeSet;

/// Keys one request may delete, at most: a bound on what a delete holds in
/// memory and on how long its transaction runs.
pub const MAX_DELETE_KEYS: usize = 100_000;

/// Keys per statement: well under both backends' bind limits.
const KEYS_PER_STATEMENT: usize = 500;

/// What a delete did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Deleted {
    pub dataset: &'static str,
    /// Rows deleted.
    pub deleted: usize,
    /// Keys that named no row (already deleted, or never written).
    pub not_found: usize,
    /// The stamp the deletions were recorded with.
    #[serde(serialize_with = "super::serialize_stamp")]
    pub stamp: Option<Timestamp>,
}

/// Deletes the rows of `shape`'s dataset with these keys (see the module
/// doc). Keys that name no row are counted, not an error.
pub fn delete(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    shape: &Shape,
    keys: &[String],
) -> Result<Deleted, StorageError> {
    let dataset = shape.dataset.name();
    let key = quote(shape.columns[shape.key].sql_name());
    let table = quote(dataset);
    // A dataset written but never pulled (game actions) is seen through
    // another (game sessions): its deletes are not listed, its sessions are
    // stamped again instead.
    let seen_through_sessions = !shape.dataset.is_pullable();
    db::write_transaction(conn, clock, |conn, stamp| {
        let mut deleted = 0;
        let mut sessions = BTreeSet::new();
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            if seen_through_sessions {
                let select = in_list(
                    Statement::new(
                        "SELECT DISTINCT session_id AS key FROM game_actions WHERE id IN ",
                    ),
                    chunk,
                );
                sessions.extend(load_keys(conn, select)?);
            }
            let delete = in_list(
                Statement::new(format!("DELETE FROM {table} WHERE {key} IN ")),
                chunk,
            )
            .sql(format!(" RETURNING {key} AS key"));
            let gone = load_keys(conn, delete)?;
            deleted += gone.len();
            if !seen_through_sessions {
                record(conn, dataset, &gone, stamp)?;
            }
        }
        if !sessions.is_empty() {
            let sessions: Vec<String> = sessions.into_iter().collect();
            restamp_sessions(conn, &sessions, stamp)?;
        }
        Ok(Deleted {
            dataset,
            deleted,
            not_found: keys.len() - deleted,
            stamp: Some(stamp),
        })
    })
}

/// The sessions of deleted actions: those with actions left are stamped
/// again (they come out with their new totals), the others are recorded as
/// deleted `game_sessions`.
fn restamp_sessions(
    conn: &mut DbConnection,
    sessions: &[String],
    stamp: Timestamp,
) -> Result<(), StorageError> {
    for chunk in sessions.chunks(KEYS_PER_STATEMENT) {
        let update = in_list(
            Statement::new("UPDATE game_actions SET modified_at = ")
                .bind_int(stamp.as_micros())
                .sql(" WHERE session_id IN "),
            chunk,
        );
        execute(conn, update)?;
        let left: BTreeSet<String> = load_keys(
            conn,
            in_list(
                Statement::new(
                    "SELECT DISTINCT session_id AS key FROM game_actions WHERE session_id IN ",
                ),
                chunk,
            ),
        )?
        .into_iter()
        .collect();
        let emptied: Vec<String> = chunk
            .iter()
            .filter(|s| !left.contains(*s))
            .cloned()
            .collect();
        record(conn, "game_sessions", &emptied, stamp)?;
    }
    Ok(())
}

/// Records `keys` of `dataset` as deleted at `stamp`.
fn record(
    conn: &mut DbConnection,
    dataset: &str,
    keys: &[String],
    stamp: Timestamp,
) -> Result<(), StorageError> {
    if keys.is_empty() {
        return Ok(());
    }
    let stamp = Value::Int(stamp.as_micros());
    let dataset = Value::Text(dataset.to_string());
    let keys: Vec<Value> = keys.iter().map(|k| Value::Text(k.clone())).collect();
    let mut insert = Statement::new("INSERT INTO deletions (dataset, id, deleted_at) VALUES ");
    for (n, key) in keys.iter().enumerate() {
        insert = insert
            .sql(if n == 0 { "(" } else { ", (" })
            .value(&dataset)
            .sql(", ")
            .value(key)
            .sql(", ")
            .value(&stamp)
            .sql(")");
    }
    let insert = insert
        .sql(" ON CONFLICT (dataset, id) DO UPDATE SET deleted_at = excluded.deleted_at")
        .uncached();
    execute(conn, insert)?;
    Ok(())
}

/// `statement` followed by `(?, ?, …)` with `keys` bound.
fn in_list<'a>(mut statement: Statement<'a>, keys: &'a [String]) -> Statement<'a> {
    for (n, key) in keys.iter().enumerate() {
        statement = statement
            .sql(if n == 0 { "(" } else { ", " })
            .bind_text(key);
    }
    statement.sql(")").uncached()
}

/// The `key` column of every row `statement` returns.
fn load_keys(
    conn: &mut DbConnection,
    statement: Statement<'_>,
) -> Result<Vec<String>, StorageError> {
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = Text)]
        key: String,
    }
    let rows: Vec<Key> = with_backend!(conn, c => statement.load(c))?;
    Ok(rows.into_iter().map(|row| row.key).collect())
}

/// Reads the keys of a delete batch for `shape`'s dataset: a JSON array of
/// keys (strings or numbers) or of objects holding only the key column,
/// NDJSON of the same, or CSV whose header is the key column. Every key is
/// checked as a write checks it; a bad one is a 422 naming its row.
pub fn parse_keys(
    shape: &Shape,
    format: BodyFormat,
    body: &[u8],
) -> Result<Vec<String>, IngestError> {
    let column = &shape.columns[shape.key];
    let name = column.name.as_ref();
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut keys = Vec::new();
    let mut add = |row: usize, raw: Raw<'_>| -> Result<(), IngestError> {
        if keys.len() == MAX_DELETE_KEYS {
            return Err(IngestError::Malformed(format!(
                "a delete takes at most {MAX_DELETE_KEYS} keys: send the rest in another request"
            )));
        }
        match column.parse(raw) {
            Ok(Value::Text(key)) => {
                keys.push(key);
                Ok(())
            }
            Ok(_) => unreachable!("keys are ids"),
            Err(reason) => Err(IngestError::Row(RowError {
                row,
                field: name.to_string(),
                reason,
            })),
        }
    };
    let json_item =
        |row: usize,
         item: &serde_json::Value,
         add: &mut dyn FnMut(usize, Raw<'_>) -> Result<(), IngestError>| {
            match item {
                serde_json::Value::Object(object) => {
                    if let Some(other) = object.keys().find(|k| *k != name) {
                        return Err(IngestError::Row(RowError {
                            row,
                            field: other.clone(),
                            reason: format!("is not used by a delete: send only '{name}'"),
                        }));
                    }
                    add(row, object.get(name).map_or(Raw::Absent, raw_of))
                }
                other => add(row, raw_of(other)),
            }
        };
    match format {
        BodyFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().from_reader(body);
            let headers = reader.headers().map_err(|error| {
                IngestError::Malformed(format!("cannot read the CSV header row: {error}"))
            })?;
            if headers.len() != 1 || &headers[0] != name {
                return Err(IngestError::Row(RowError {
                    row: 0,
                    field: headers
                        .iter()
                        .find(|h| *h != name)
                        .unwrap_or(name)
                        .to_string(),
                    reason: format!("the header row of a delete is the key column alone: '{name}'"),
                }));
            }
            for (n, record) in reader.records().enumerate() {
                let record = record.map_err(|error| {
                    IngestError::Malformed(format!("cannot read CSV row {}: {error}", n + 1))
                })?;
                add(n + 1, Raw::Text(&record[0]))?;
            }
        }
        BodyFormat::Json if body.trim_ascii_start().starts_with(b"[") => {
            let items: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|error| {
                IngestError::Malformed(format!("cannot read the JSON: {error}"))
            })?;
            for (n, item) in items.iter().enumerate() {
                json_item(n + 1, item, &mut add)?;
            }
        }
        BodyFormat::Json => {
            return Err(IngestError::Malformed(format!(
                "send the keys as a JSON array (like [\"{name}-1\", \"{name}-2\"]), NDJSON or CSV"
            )))
        }
        BodyFormat::Ndjson => {
            let items = serde_json::Deserializer::from_slice(body).into_iter::<serde_json::Value>();
            for (n, item) in items.enumerate() {
                let item = item.map_err(|error| {
                    IngestError::Malformed(format!("cannot read JSON value {}: {error}", n + 1))
                })?;
                json_item(n + 1, &item, &mut add)?;
            }
        }
    }
    if keys.is_empty() {
        return Err(IngestError::Malformed(
            "the body holds no keys: send at least one".into(),
        ));
    }
    Ok(keys)
}

/// Forgets deletions recorded before `before`; returns how many.
pub fn purge(conn: &mut DbConnection, before: Timestamp) -> Result<usize, StorageError> {
    let purge =
        Statement::new("DELETE FROM deletions WHERE deleted_at < ").bind_int(before.as_micros());
    Ok(execute(conn, purge)?)
}

fn raw_of(value: &serde_json::Value) -> Raw<'_> {
    match value {
        serde_json::Value::Null => Raw::Absent,
        serde_json::Value::String(text) => Raw::Text(text),
        serde_json::Value::Number(number) => Raw::Number(number.as_str()),
        serde_json::Value::Bool(flag) => Raw::Bool(*flag),
        _ => Raw::Nested,
    }
}
