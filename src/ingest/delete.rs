//! Deleting rows by key: `DELETE /api/<dataset>/<id>`, `POST
//! /api/<dataset>/deletions` and `hourglass delete`.
//!
//! A delete is a write: one transaction under one stamp from the writers'
//! clock. It removes the rows from their table and records each in the
//! `deletions` feed with that stamp, so the feed has the window rules and
//! the no-miss guarantee of every dataset, and a consumer that pulls it
//! learns of every delete exactly once. Game actions are never pulled, so
//! their deletes are not listed; instead, deleting game actions takes them
//! out of their sessions' kept totals and stamps the sessions again, so that
//! each comes out again, with its new totals, in the window of the delete; a
//! session left without actions is deleted and recorded as a deleted
//! `game_sessions` row.

use super::{BodyFormat, IngestError, RowError};
use crate::clock::Clock;
use crate::datasets::catalog::Shape;
use crate::datasets::column::Raw;
use crate::db::row::Value;
use crate::db::statement::{execute, quote, Statement};
use crate::db::{self, with_backend, DbConnection, StorageError};
use crate::timestamp::Timestamp;
use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use std::collections::BTreeMap;

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
        let mut sessions = BTreeMap::new();
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            if seen_through_sessions {
                let delete = Statement::new("DELETE FROM game_actions WHERE id IN ")
                    .in_list(chunk)
                    .sql(" RETURNING session_id, action, amount");
                let gone: Vec<GoneAction> = with_backend!(conn, c => delete.load(c))?;
                deleted += gone.len();
                for action in gone {
                    let totals: &mut SessionDelta = sessions.entry(action.session_id).or_default();
                    totals.take_out(&action.action, action.amount);
                }
                continue;
            }
            let delete = Statement::new(format!("DELETE FROM {table} WHERE {key} IN "))
                .in_list(chunk)
                .sql(format!(" RETURNING {key} AS key"));
            let gone = load_keys(conn, delete)?;
            deleted += gone.len();
            record(conn, dataset, &gone, stamp)?;
        }
        if !sessions.is_empty() {
            take_out_of_sessions(conn, &sessions, stamp)?;
        }
        Ok(Deleted {
            dataset,
            deleted,
            not_found: keys.len() - deleted,
            stamp: Some(stamp),
        })
    })
}

/// A deleted game action, as its session counted it.
#[derive(diesel::QueryableByName)]
struct GoneAction {
    #[diesel(sql_type = Text)]
    session_id: String,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

/// What deleted actions took out of one session's totals.
#[derive(Default)]
struct SessionDelta {
    bet_count: i64,
    win_count: i64,
    // Summed wide: a part of a session's amounts may not fit where their
    // whole sum did (amounts of both signs).
    bet_amount: i128,
    win_amount: i128,
}

impl SessionDelta {
    fn take_out(&mut self, action: &str, amount: i64) {
        if action == "bet" {
            self.bet_count += 1;
            self.bet_amount += i128::from(amount);
        } else {
            self.win_count += 1;
            self.win_amount += i128::from(amount);
        }
    }
}

/// A sum of taken-out amounts as a bind; past 64 bits, the session's total
/// could not have held it.
fn amount(sum: i128) -> Result<i64, StorageError> {
    i64::try_from(sum).map_err(|_| {
        StorageError::Failed(
            format!("deleted game actions sum to {sum}, past a session's total").into(),
        )
    })
}

/// The sessions of deleted actions: their totals lose the deleted actions,
/// their first and last action time and descriptive columns are taken again
/// from the actions left (when none were purged), and they are stamped
/// again, so they come out with their new totals in the delete's window.
/// A session left with no action is deleted, and recorded as a deleted
/// `game_sessions` row.
fn take_out_of_sessions(
    conn: &mut DbConnection,
    sessions: &BTreeMap<String, SessionDelta>,
    stamp: Timestamp,
) -> Result<(), StorageError> {
    for (session, delta) in sessions {
        let update = Statement::new("UPDATE game_sessions SET bet_count = bet_count - ")
            .bind_int(delta.bet_count)
            .sql(", win_count = win_count - ")
            .bind_int(delta.win_count)
            .sql(", bet_amount = bet_amount - ")
            .bind_int(amount(delta.bet_amount)?)
            .sql(", win_amount = win_amount - ")
            .bind_int(amount(delta.win_amount)?)
            .sql(", modified_at = ")
            .bind_int(stamp.as_micros())
            .sql(" WHERE session_id = ")
            .bind_text(session);
        execute(conn, update)?;
    }
    let sessions: Vec<String> = sessions.keys().cloned().collect();
    for chunk in sessions.chunks(KEYS_PER_STATEMENT) {
        // The actions left come out again too (a window by their stamp
        // finds their session, as it finds any written action's).
        let restamp = Statement::new("UPDATE game_actions SET modified_at = ")
            .bind_int(stamp.as_micros())
            .sql(" WHERE session_id IN ")
            .in_list(chunk);
        execute(conn, restamp)?;
        execute(conn, Statement::new(RECOMPUTE).in_list(chunk))?;
        let emptied = load_keys(
            conn,
            Statement::new(
                "DELETE FROM game_sessions WHERE bet_count = 0 AND win_count = 0 \
                 AND session_id IN ",
            )
            .in_list(chunk)
            .sql(" RETURNING session_id AS key"),
        )?;
        record(conn, "game_sessions", &emptied, stamp)?;
    }
    Ok(())
}

/// A session's first and last action time and descriptive columns, taken
/// again from its actions, for the sessions listed after it, when all of
/// their actions are still kept (as the replace trigger does).
const RECOMPUTE: &str = "UPDATE game_sessions SET (player_id, game_code, game_name, currency, \
     created_at, updated_at, game_vendor, balance_type, ip, user_agent, ref_code) = \
     (SELECT MIN(player_id), MIN(game_code), MIN(game_name), MIN(currency), MIN(created_at), \
     MAX(created_at), MIN(game_vendor), MIN(balance_type), MIN(ip), MIN(user_agent), MIN(ref_code) \
     FROM game_actions WHERE game_actions.session_id = game_sessions.session_id) \
     WHERE bet_count + win_count > 0 AND NOT actions_purged AND session_id IN ";

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
