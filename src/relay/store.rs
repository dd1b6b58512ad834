//! What a relay keeps in the database: its position, the scores it may have
//! sent, and the calls its target refused. Plain sync functions on a
//! connection; each change is one short transaction.

use crate::db::schema::{relay_dead_letters, relay_scores, relays};
use crate::db::{with_backend, DbConnection};
use crate::timestamp::Timestamp;
use diesel::prelude::*;
use diesel::upsert::excluded;
use serde::Serialize;
use std::collections::HashMap;

/// Where a relay starts when it has no position and no `--since`: before
/// any data (the first windows grow quickly over empty time).
pub const BEGINNING: Timestamp = Timestamp::from_micros(-62_135_596_800_000_000); // 0001-01-01

/// Why a relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("relay '{name}' has delivered up to {position} already, and --since only sets where a first run starts: give the relay a new name in its configuration to start over")]
    SinceWithPosition { name: String, position: Timestamp },
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// The relay's position, created at `since` (or [`BEGINNING`]) on its
/// first run.
pub fn start(
    conn: &mut DbConnection,
    name: &str,
    since: Option<Timestamp>,
    now: Timestamp,
) -> Result<Timestamp, StartError> {
    conn.transaction(|conn| {
        let position: Option<i64> = relays::table
            .find(name)
            .select(relays::position)
            .first(conn)
            .optional()?;
        match (position, since) {
            (Some(position), Some(_)) => Err(StartError::SinceWithPosition {
                name: name.to_string(),
                position: Timestamp::from_micros(position),
            }),
            (Some(position), None) => Ok(Timestamp::from_micros(position)),
            (None, since) => {
                let position = since.unwrap_or(BEGINNING);
                diesel::insert_into(relays::table)
                    .values((
                        relays::name.eq(name),
                        relays::position.eq(position.as_micros()),
                        relays::delivered.eq(0),
                        relays::dead_lettered.eq(0),
                        relays::started_at.eq(now.as_micros()),
                        relays::updated_at.eq(now.as_micros()),
                    ))
                    .execute(conn)?;
                Ok(position)
            }
        }
    })
}

/// A window was fully delivered: moves the position to its end, counts
/// `delivered` changes, and forgets the scores it revoked.
pub fn advance(
    conn: &mut DbConnection,
    name: &str,
    to: Timestamp,
    delivered: u64,
    revoked: &[String],
    now: Timestamp,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        for chunk in revoked.chunks(IN_LIST) {
            diesel::delete(
                relay_scores::table
                    .filter(relay_scores::relay.eq(name))
                    .filter(relay_scores::score_id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        diesel::update(relays::table.find(name))
            .set((
                relays::position.eq(to.as_micros()),
                relays::delivered.eq(relays::delivered + delivered as i64),
                relays::updated_at.eq(now.as_micros()),
            ))
            .execute(conn)
            .map(drop)
    })
}

/// Ids in one `IN (…)` list: far below either database's limit on binds.
const IN_LIST: usize = 500;

/// Records that these scores (id, player) are about to be sent: done before
/// sending, so that a score that reached the target is always known here.
pub fn remember(
    conn: &mut DbConnection,
    name: &str,
    scores: &[(String, String)],
) -> QueryResult<()> {
    conn.transaction(|conn| {
        for chunk in scores.chunks(IN_LIST) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(id, player)| {
                    (
                        relay_scores::relay.eq(name),
                        relay_scores::score_id.eq(id),
                        relay_scores::player.eq(player),
                    )
                })
                .collect();
            with_backend!(conn, conn => diesel::insert_into(relay_scores::table)
                .values(&rows)
                .on_conflict((relay_scores::relay, relay_scores::score_id))
                .do_update()
                .set(relay_scores::player.eq(excluded(relay_scores::player)))
                .execute(conn))?;
        }
        Ok(())
    })
}

/// Of these score ids, those that may have been sent, with their player.
pub fn known(
    conn: &mut DbConnection,
    name: &str,
    ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(IN_LIST) {
        let rows: Vec<(String, String)> = relay_scores::table
            .filter(relay_scores::relay.eq(name))
            .filter(relay_scores::score_id.eq_any(chunk))
            .select((relay_scores::score_id, relay_scores::player))
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// A call the target refused.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub at: Timestamp,
    /// What was called, e.g. `add_score`, or the webhook's URL path.
    pub endpoint: String,
    /// The request's JSON body.
    pub body: String,
    pub status: u16,
    /// The target's answer (its first [`ANSWER_KEPT`] bytes).
    pub answer: String,
}

/// Bytes of a refusal's answer kept.
pub const ANSWER_KEPT: usize = 4096;

pub fn dead_letter(conn: &mut DbConnection, name: &str, letter: &DeadLetter) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(relay_dead_letters::table)
            .values((
                relay_dead_letters::relay.eq(name),
                relay_dead_letters::at.eq(letter.at.as_micros()),
                relay_dead_letters::endpoint.eq(&letter.endpoint),
                relay_dead_letters::body.eq(&letter.body),
                relay_dead_letters::status.eq(i32::from(letter.status)),
                relay_dead_letters::answer.eq(&letter.answer),
            ))
            .execute(conn)?;
        diesel::update(relays::table.find(name))
            .set(relays::dead_lettered.eq(relays::dead_lettered + 1))
            .execute(conn)
            .map(drop)
    })
}

/// A relay's figures, as `hourglass relay status` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub name: String,
    /// The end of the last window fully delivered.
    pub position: Timestamp,
    pub delivered: i64,
    pub dead_lettered: i64,
    pub started_at: Timestamp,
    /// When the position was last written.
    pub updated_at: Timestamp,
}

/// Every relay's figures (or one's), by name.
pub fn status(conn: &mut DbConnection, name: Option<&str>) -> QueryResult<Vec<Status>> {
    let mut query = relays::table.order(relays::name).into_boxed();
    if let Some(name) = name {
        query = query.filter(relays::name.eq(name.to_string()));
    }
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(name, position, delivered, dead_lettered, started_at, updated_at)| Status {
                name,
                position: Timestamp::from_micros(position),
                delivered,
                dead_lettered,
                started_at: Timestamp::from_micros(started_at),
                updated_at: Timestamp::from_micros(updated_at),
            },
        )
        .collect())
}

/// A relay's latest refusals, newest first.
pub fn dead_letters(
    conn: &mut DbConnection,
    name: &str,
    limit: i64,
) -> QueryResult<Vec<DeadLetter>> {
    use relay_dead_letters::columns as c;
    let rows: Vec<(i64, String, String, i32, String)> = relay_dead_letters::table
        .filter(c::relay.eq(name))
        .order(c::id.desc())
        .limit(limit)
        .select((c::at, c::endpoint, c::body, c::status, c::answer))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, endpoint, body, status, answer)| DeadLetter {
            at: Timestamp::from_micros(at),
            endpoint,
            body,
            status: status as u16,
            answer,
        })
        .collect())
}
