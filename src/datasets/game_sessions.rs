//! `game_sessions`: casino sessions rolled up from their game actions.
//!
//! The spec composes a session window in three steps: find every session
//! with an action in `[from, to)`, gather all of those sessions' actions
//! whatever their time, and aggregate one row per session. Hourglass keeps
//! the aggregate instead: the `game_sessions` table holds each session's
//! totals, first and last action time and descriptive columns, updated by
//! triggers in the transaction that writes its actions (see the migration
//! `game_sessions_kept`). So a pull finds the window's sessions on indexes
//! and reads their kept rows, and a session's cost no longer grows with its
//! length; and once its actions are purged, a session keeps its totals.
//!
//! A session is in `[from, to)` when
//! 1. one of its actions happened in it (the spec's rule), or was written in
//!    it (so a late action re-emits its session with the new totals); or
//! 2. its own first or last action time, or its own stamp (the last write
//!    that changed it: an action added, sent again, deleted or erased), is
//!    in it. While the actions are kept, this finds nothing that 1 does not;
//!    once they are purged, it is how the session is still found.
//!
//! The query reads the sessions in three disjoint parts, each on its own
//! index, so a long window's first rows leave before its last are found:
//! A. the last action in the window (`game_sessions_last`), in that order;
//! B. the first action in the window and the last after it
//!    (`game_sessions_first`);
//! C. the rest: sessions with an action that happened or was written in the
//!    window, or stamped in it, less those of A and B (spanning the whole
//!    window, or only written in it). Those with an action in the window's
//!    whole hours are found in `game_session_hours` (a row per session and
//!    hour in which it has an action, kept by triggers like the totals), a
//!    few thousand rows for a day where its actions are millions; those
//!    with an action in its partial first or last hour (all of a window
//!    shorter than an hour) on the actions' indexes; those stamped in it on
//!    the sessions' stamp index.
//!
//! Most sessions active in a window end or start in it, so C's candidates
//! (two thousand an hour at 450,000 actions a day) are mostly A's and B's.
//! A and B together are the sessions whose first or last action is in the
//! window (a first action in it puts the last in it, A, or after it, B), so
//! C takes those ids away on the two indexes before it reads a session
//! row: it looks up a handful of sessions by key, not thousands. On
//! PostgreSQL the ids are handed over as an array (`= ANY(ARRAY(…))`): the
//! planner cannot guess how many survive, and given the candidates' count
//! it read the whole `game_sessions` table in a hash join (an hour's window
//! at 20× the history: 133 ms that way, 7 ms by key).

use crate::db::statement::Statement;
use crate::timestamp::TimeWindow;

/// The sessions' columns, in the dataset's order (the round-trip tests pin
/// every value to its column).
const COLUMNS: &str = "s.player_id, s.session_id, s.game_code, s.game_name, s.currency, \
     s.bet_count, s.win_count, s.bet_amount, s.win_amount, s.created_at, s.updated_at, \
     s.game_vendor, s.balance_type, s.ip, s.user_agent, s.ref_code";

/// The three parts' conditions on a session `s`; `{from}` and `{to}` are
/// the window's bounds.
const PART_A: &str = "s.updated_at >= {from} AND s.updated_at < {to}";
const PART_B: &str = "s.created_at >= {from} AND s.created_at < {to} AND s.updated_at >= {to}";
const PART_C: &str = "s.session_id {in} \
         SELECT session_id FROM game_session_hours WHERE hour >= {hours_from} AND hour < {hours_to} \
         UNION SELECT session_id FROM game_actions WHERE created_at >= {from} AND created_at < {head_to} \
         UNION SELECT session_id FROM game_actions WHERE modified_at >= {from} AND modified_at < {head_to} \
         UNION SELECT session_id FROM game_actions WHERE created_at >= {tail_from} AND created_at < {to} \
         UNION SELECT session_id FROM game_actions WHERE modified_at >= {tail_from} AND modified_at < {to} \
         UNION SELECT session_id FROM game_sessions WHERE modified_at >= {from} AND modified_at < {to} \
         EXCEPT SELECT session_id FROM game_sessions WHERE updated_at >= {from} AND updated_at < {to} \
         EXCEPT SELECT session_id FROM game_sessions WHERE created_at >= {from} AND created_at < {to}{end} \
     AND NOT (s.updated_at >= {from} AND s.updated_at < {to}) \
     AND NOT (s.created_at >= {from} AND s.created_at < {to} AND s.updated_at >= {to})";

/// The window query of `game_sessions`: parts A, B and C one after the
/// other, each in its index's order.
pub fn window_statement(window: TimeWindow) -> Statement<'static> {
    let part = |condition: &str, order: &str| {
        format!("SELECT * FROM (SELECT {COLUMNS} FROM game_sessions AS s WHERE {condition} ORDER BY {order}) AS p")
    };
    let sql = [
        part(PART_A, "s.updated_at, s.session_id"),
        part(PART_B, "s.created_at, s.session_id"),
        part(PART_C, "s.updated_at, s.session_id"),
    ]
    .join(" UNION ALL ");
    bind_window(&sql, window)
}

/// How many sessions [`window_statement`] reads.
pub fn count_statement(window: TimeWindow) -> Statement<'static> {
    let sql = [PART_A, PART_B, PART_C]
        .map(|condition| format!("(SELECT COUNT(*) FROM game_sessions AS s WHERE {condition})"))
        .join(" + ");
    bind_window(&format!("SELECT {sql} AS n"), window)
}

/// An hour, in microseconds: the unit of `game_session_hours`.
const HOUR: i64 = 3_600_000_000;

/// `sql` with every placeholder bound: `{from}` and `{to}` to the window's
/// bounds; `{hours_from}` and `{hours_to}` to the first and past the last
/// whole hour inside it; `{head_to}` to the end of its partial first hour,
/// and `{tail_from}` to the start of its partial last hour. A window without
/// a whole hour has only a head, itself. `{in}` and `{end}` open and close
/// a set of session ids, in each backend's words.
fn bind_window(sql: &str, window: TimeWindow) -> Statement<'static> {
    let (from, to) = (window.from().as_micros(), window.to().as_micros());
    let hours_from = from + (HOUR - from.rem_euclid(HOUR)) % HOUR;
    let hours_to = to - to.rem_euclid(HOUR);
    let (hours_from, hours_to, head_to, tail_from) = if hours_from < hours_to {
        (hours_from, hours_to, hours_from, hours_to)
    } else {
        (0, 0, to, to)
    };
    let mut statement = Statement::new(String::new());
    let mut rest = sql;
    while let Some(start) = rest.find('{') {
        let end = start + rest[start..].find('}').expect("a closed placeholder");
        statement = statement.sql(rest[..start].to_string());
        statement = match &rest[start..=end] {
            "{from}" => statement.bind_int(from),
            "{to}" => statement.bind_int(to),
            "{hours_from}" => statement.bind_int(hours_from),
            "{hours_to}" => statement.bind_int(hours_to),
            "{head_to}" => statement.bind_int(head_to),
            "{tail_from}" => statement.bind_int(tail_from),
            "{in}" => statement.dialect("IN (", "= ANY(ARRAY("),
            "{end}" => statement.dialect(")", "))"),
            other => unreachable!("unknown placeholder {other}"),
        };
        rest = &rest[end + 1..];
    }
    statement.sql(rest.to_string())
}
