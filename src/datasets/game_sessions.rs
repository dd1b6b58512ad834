//! `game_sessions`: casino sessions rolled up from their game actions.
//!
//! The spec's three steps, in one SQL query: find every session with at
//! least one action in `[from, to)` (index-only scans of `game_actions_window`
//! and, for actions *written* in the window, `game_actions_written`), gather
//! **all** actions of those sessions whatever their time
//! (`game_actions_session`), and aggregate one row per session.
//! Sums are taken over integer millionths and cast back to BIGINT, so they
//! are exact on every backend (an overflow is an error, never a rounding).

use super::{Pull, StreamError, WindowQuery};
use crate::db::{schema::game_actions, DbConnection};
use crate::encode::Cell;
use crate::money::Money;
use crate::timestamp::Timestamp;
use crate::window::TimeWindow;
use diesel::dsl::{max, min, sql};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct GameSession {
    pub player_id: i64,
    pub session_id: String,
    pub game_code: Option<String>,
    pub game_name: String,
    pub currency: String,
    pub bet_count: i64,
    pub win_count: i64,
    pub bet_amount: Money,
    pub win_amount: Money,
    /// The first action.
    pub created_at: Timestamp,
    /// The last action.
    pub updated_at: Timestamp,
    pub game_vendor: Option<String>,
    pub balance_type: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub ref_code: Option<String>,
}

impl Pull for GameSession {
    const COLUMNS: &'static [&'static str] = &[
        "player_id",
        "session_id",
        "game_code",
        "game_name",
        "currency",
        "bet_count",
        "win_count",
        "bet_amount",
        "win_amount",
        "created_at",
        "updated_at",
        "game_vendor",
        "balance_type",
        "ip",
        "user_agent",
        "ref_code",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.player_id.into(),
            (&self.session_id).into(),
            (&self.game_code).into(),
            (&self.game_name).into(),
            (&self.currency).into(),
            self.bet_count.into(),
            self.win_count.into(),
            self.bet_amount.into(),
            self.win_amount.into(),
            self.created_at.into(),
            self.updated_at.into(),
            (&self.game_vendor).into(),
            (&self.balance_type).into(),
            (&self.ip).into(),
            (&self.user_agent).into(),
            (&self.ref_code).into(),
        ])
    }
}

impl WindowQuery for GameSession {
    fn for_each_in_window(
        conn: &mut DbConnection,
        window: TimeWindow,
        f: impl FnMut(&Self) -> std::io::Result<()>,
    ) -> Result<u64, StreamError> {
        use game_actions as a;
        // The session look-up reads the same table, so it needs an alias. A
        // session is in the window if one of its actions happened in it (the
        // spec's rule) or was written in it (so a late action re-emits its
        // session with the new totals); each side has its own index.
        let in_window = diesel::alias!(game_actions as in_window);
        let happened = in_window
            .field(a::created_at)
            .ge(window.from())
            .and(in_window.field(a::created_at).lt(window.to()));
        let written = in_window
            .field(a::modified_at)
            .ge(window.from())
            .and(in_window.field(a::modified_at).lt(window.to()));
        let sessions_in_window = in_window
            .select(in_window.field(a::session_id))
            .filter(happened.or(written));
        // Descriptive columns are the same on every action of a session;
        // MIN picks one portably (PostgreSQL refuses bare columns).
        let rows = a::table
            .filter(a::session_id.eq_any(sessions_in_window))
            .group_by(a::session_id)
            .select((
                min(a::player_id).assume_not_null(),
                a::session_id,
                min(a::game_code),
                min(a::game_name).assume_not_null(),
                min(a::currency).assume_not_null(),
                sql::<BigInt>("COUNT(CASE WHEN action = 'bet' THEN 1 END)"),
                sql::<BigInt>("COUNT(CASE WHEN action = 'win' THEN 1 END)"),
                sql::<BigInt>(
                    "CAST(COALESCE(SUM(CASE WHEN action = 'bet' THEN amount END), 0) AS BIGINT)",
                ),
                sql::<BigInt>(
                    "CAST(COALESCE(SUM(CASE WHEN action = 'win' THEN amount END), 0) AS BIGINT)",
                ),
                min(a::created_at).assume_not_null(),
                max(a::created_at).assume_not_null(),
                min(a::game_vendor),
                min(a::balance_type),
                min(a::ip),
                min(a::user_agent),
                min(a::ref_code),
            ))
            .order((max(a::created_at), a::session_id));
        crate::db::stream_rows!(conn, rows, GameSession, f)
    }
}
