//! Erasing a player (GDPR article 17): `POST /api/players/<id>/erase` and
//! `hourglass erase`.
//!
//! Erasure blanks the player's personal data in every dataset (the columns
//! the description marks personal, and every custom string field) and
//! keeps what financial record-keeping needs: ids, amounts, currencies,
//! statuses, types and times. It is a write: one transaction under one
//! stamp, and every row it touches is stamped again, so consumers overwrite
//! their copies in the next window. Game actions are among them, so their
//! sessions come out again without the player's IP and user agent. The
//! erasure is recorded as the player's id and its time, nothing more.
//! Writes that arrive later for the player are stored as usual: stopping
//! them is the platform's job.

use crate::clock::Clock;
use crate::datasets::catalog::Catalog;
use crate::db::statement::{execute, quote, Statement};
use crate::db::{self, DbConnection, StorageError};
use crate::timestamp::Timestamp;

/// What an erasure did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Erased {
    pub player_id: String,
    /// Rows blanked and stamped again, in every dataset.
    pub rows: usize,
    /// The erasure's stamp: the rows come out again in its window.
    #[serde(serialize_with = "super::serialize_stamp")]
    pub erased_at: Option<Timestamp>,
}

/// Erases `player` (see the module doc).
pub fn erase(
    conn: &mut DbConnection,
    clock: &dyn Clock,
    catalog: &Catalog,
    player: &str,
) -> Result<Erased, StorageError> {
    db::write_transaction(conn, clock, |conn, stamp| {
        let mut rows = 0;
        for shape in catalog.shapes() {
            let def = shape.dataset.def();
            let (Some(player_column), Some(stamp_index)) = (def.player, shape.stamp) else {
                continue;
            };
            let personal: Vec<String> = shape
                .columns
                .iter()
                .filter(|c| c.personal)
                .map(|c| format!("{} = NULL", quote(c.sql_name())))
                .collect();
            if personal.is_empty() {
                continue;
            }
            let stamp_sql = shape.columns[stamp_index].sql_name();
            let update = Statement::new(format!(
                "UPDATE {} SET {}, {} = ",
                quote(def.name),
                personal.join(", "),
                quote(stamp_sql)
            ))
            .bind_int(stamp.as_micros())
            .sql(format!(" WHERE {} = ", quote(player_column)))
            .bind_text(player);
            rows += execute(conn, update)?;
        }
        // Kept sessions hold an IP and a user agent of their own, which
        // outlive the actions they came from once those are purged. They are
        // not counted: `rows` counts the rows written, as it always has.
        let sessions =
            Statement::new("UPDATE game_sessions SET ip = NULL, user_agent = NULL, modified_at = ")
                .bind_int(stamp.as_micros())
                .sql(" WHERE player_id = ")
                .bind_text(player);
        execute(conn, sessions)?;
        let record = Statement::new("INSERT INTO erasures (player_id, erased_at) VALUES (")
            .bind_text(player)
            .sql(", ")
            .bind_int(stamp.as_micros())
            .sql(")");
        execute(conn, record)?;
        Ok(Erased {
            player_id: player.to_string(),
            rows,
            erased_at: Some(stamp),
        })
    })
}
