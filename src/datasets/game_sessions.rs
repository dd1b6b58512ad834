//! `game_sessions`: casino sessions rolled up from their game actions.
//!
//! The spec's three steps, in one SQL query: find every session with at
//! least one action in `[from, to)` (index-only scans of `game_actions_window`
//! and, for actions *written* in the window, `game_actions_written`), gather
//! **all** actions of those sessions whatever their time
//! (`game_actions_session`), and aggregate one row per session.
//! Sums are taken over integer millionths and cast back to BIGINT, so they
//! are exact on every backend (an overflow is an error, never a rounding).
//!
//! The select list is in the order of `game_sessions`' columns in
//! [`super::defs`]; the round-trip tests pin every value to its column.

use crate::db::statement::Statement;
use crate::timestamp::TimeWindow;

/// A session is in the window if one of its actions happened in it (the
/// spec's rule) or was written in it (so a late action re-emits its session
/// with the new totals); each side has its own index. Descriptive columns
/// are the same on every action of a session; MIN picks one portably
/// (PostgreSQL refuses bare columns).
const SELECT: &str = "SELECT MIN(player_id), session_id, MIN(game_code), MIN(game_name), MIN(currency), \
     COUNT(CASE WHEN action = 'bet' THEN 1 END), COUNT(CASE WHEN action = 'win' THEN 1 END), \
     CAST(COALESCE(SUM(CASE WHEN action = 'bet' THEN amount END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN action = 'win' THEN amount END), 0) AS BIGINT), \
     MIN(created_at), MAX(created_at), MIN(game_vendor), MIN(balance_type), MIN(ip), \
     MIN(user_agent), MIN(ref_code) \
     FROM game_actions WHERE session_id IN (SELECT in_window.session_id FROM game_actions AS in_window \
     WHERE (in_window.created_at >= ";

/// How many sessions [`window_statement`] would read: those with an action
/// that happened or was written in the window.
pub fn count_statement(window: TimeWindow) -> Statement<'static> {
    let (from, to) = (window.from().as_micros(), window.to().as_micros());
    Statement::new("SELECT COUNT(DISTINCT session_id) AS n FROM game_actions WHERE (created_at >= ")
        .bind_int(from)
        .sql(" AND created_at < ")
        .bind_int(to)
        .sql(") OR (modified_at >= ")
        .bind_int(from)
        .sql(" AND modified_at < ")
        .bind_int(to)
        .sql(")")
}

/// The window query of `game_sessions`.
pub fn window_statement(window: TimeWindow) -> Statement<'static> {
    let (from, to) = (window.from().as_micros(), window.to().as_micros());
    Statement::new(SELECT)
        .bind_int(from)
        .sql(" AND in_window.created_at < ")
        .bind_int(to)
        .sql(") OR (in_window.modified_at >= ")
        .bind_int(from)
        .sql(" AND in_window.modified_at < ")
        .bind_int(to)
        .sql(")) GROUP BY session_id ORDER BY MAX(created_at), session_id")
}
