//! `game_actions`: the raw bets and wins of casino game sessions, as the
//! platform pushes them. They are never pulled as such: `game_sessions`
//! aggregates them per session.

use super::{upsert_by_key, Push, BALANCE_KINDS};
use crate::db::schema::game_actions;
use crate::ingest::fields::{FieldError, Fields};
use crate::money::Money;
use crate::timestamp::Timestamp;
use diesel::prelude::*;

pub const ACTIONS: &[&str] = &["bet", "win"];

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = game_actions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct GameAction {
    pub id: String,
    pub session_id: String,
    pub player_id: i64,
    pub game_code: Option<String>,
    pub game_name: String,
    pub game_vendor: Option<String>,
    pub currency: String,
    pub balance_type: Option<String>,
    /// `bet` or `win`.
    pub action: String,
    pub amount: Money,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub ref_code: Option<String>,
    /// When the action happened (the platform's time).
    pub created_at: Timestamp,
    /// When hourglass wrote it.
    pub modified_at: Timestamp,
}

upsert_by_key!(
    GameAction,
    game_actions,
    key: id,
    stamp: modified_at,
    replace: [session_id, player_id, game_code, game_name, game_vendor, currency, balance_type, action, amount, ip, user_agent, ref_code, created_at, modified_at]
);

impl Push for GameAction {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "session_id",
        "player_id",
        "game_code",
        "game_name",
        "game_vendor",
        "currency",
        "balance_type",
        "action",
        "amount",
        "ip",
        "user_agent",
        "ref_code",
        "created_at",
    ];

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(GameAction {
            id: f.need("id")?,
            session_id: f.need("session_id")?,
            player_id: f.need("player_id")?,
            game_code: f.get("game_code")?,
            game_name: f.need("game_name")?,
            game_vendor: f.get("game_vendor")?,
            currency: f.need("currency")?,
            balance_type: f.choice("balance_type", BALANCE_KINDS)?,
            action: f.need_choice("action", ACTIONS)?,
            amount: f.need("amount")?,
            ip: f.get("ip")?,
            user_agent: f.get("user_agent")?,
            ref_code: f.get("ref_code")?,
            created_at: f.need("created_at")?,
            modified_at: Timestamp::from_micros(0),
        })
    }
}
