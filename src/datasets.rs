//! The datasets of InTarget's spec: one module each, holding its row type, its
//! columns (names and order exactly as the spec gives them), its window query
//! and how a written row is read and validated.
//!
//! Two traits tie them to the rest of the code: [`Pull`] (what `GET
//! /api/<dataset>` needs) and [`Push`] (what `POST /api/<dataset>` and
//! `hourglass import` need). [`Dataset`] names them all and dispatches to the
//! right row type.

pub mod bet_selections;
pub mod bets;
pub mod contacts;
pub mod events;
pub mod game_actions;
pub mod game_sessions;
pub mod logins;
pub mod tournaments;
pub mod transactions;
pub mod users;
pub mod wallets;

use crate::db::DbConnection;
use crate::encode::{Cell, Encoder};
use crate::ingest::fields::{FieldError, Fields};
use crate::timestamp::Timestamp;
use crate::window::{Format, TimeWindow};
use std::io::{self, Write};

/// Why streaming a window stopped early.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The database failed: the output is incomplete and must look broken.
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Writing out failed, usually because the client went away.
    #[error("output failed: {0}")]
    Sink(#[from] io::Error),
}

/// A dataset that can be pulled by window.
pub trait Pull: WindowQuery {
    /// Column names, in output order.
    const COLUMNS: &'static [&'static str];

    /// Calls `f` with this row's cells, in the order of [`Pull::COLUMNS`].
    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R;
}

/// How a pullable dataset reads a window; [`stamped_table!`] implements it
/// for tables windowed on their stamp, `game_sessions` by hand.
pub trait WindowQuery: Sized {
    /// Streams the rows of `window` to `f`, ordered by (last-modified, id),
    /// straight from the database cursor. Returns how many rows it passed on.
    fn for_each_in_window(
        conn: &mut DbConnection,
        window: TimeWindow,
        f: impl FnMut(&Self) -> io::Result<()>,
    ) -> Result<u64, StreamError>;
}

/// A dataset that can be written.
pub trait Push: Upsert + Send + 'static {
    /// The columns a written row may carry (its stamp column is refused).
    const COLUMNS: &'static [&'static str];

    /// Reads and validates one row. The stamp is set later, by [`Upsert::upsert`].
    fn from_fields(fields: &Fields<'_>) -> Result<Self, FieldError>;
}

/// How a written row is stored; [`upsert_by_key!`] implements it.
pub trait Upsert: Sized {
    /// The last-modified column, stamped by hourglass on every write.
    const STAMP: &'static str;

    /// Inserts each row, or replaces the row with the same key, stamped `stamp`.
    fn upsert(
        conn: &mut DbConnection,
        rows: &mut [Self],
        stamp: Timestamp,
    ) -> diesel::QueryResult<()>;
}

/// A whole pull without HTTP: streams the rows of `window` of `dataset`
/// into `out` as `format`, counting them in `rows` as they go (so the count
/// is right even when the output fails midway). `dataset` must be pullable.
pub fn export_window<W: Write>(
    conn: &mut DbConnection,
    dataset: Dataset,
    window: TimeWindow,
    format: Format,
    out: W,
    rows: &mut u64,
) -> Result<W, StreamError> {
    fn export<T: Pull, W: Write>(
        conn: &mut DbConnection,
        window: TimeWindow,
        format: Format,
        out: W,
        rows: &mut u64,
    ) -> Result<W, StreamError> {
        let mut encoder = Encoder::new(format, T::COLUMNS, out)?;
        T::for_each_in_window(conn, window, |row| {
            *rows += 1;
            row.with_cells(|cells| encoder.write_row(cells))
        })?;
        Ok(encoder.finish()?)
    }
    with_row_type!(pull, dataset, T => export::<T, W>(conn, window, format, out, rows))
}

/// Rows per upsert statement: well under both backends' limits on bound
/// parameters (16 columns × 500 rows).
pub const UPSERT_ROWS: usize = 500;

/// The rows of a batch that a sequence of upserts would leave: the last row
/// of each key, in batch order. (PostgreSQL refuses to update one row twice
/// in a statement, so a batch that repeats a key must be collapsed first.)
pub(crate) fn last_of_each_key<T, K: std::hash::Hash + Eq>(
    rows: &[T],
    key: impl Fn(&T) -> &K,
) -> Vec<&T> {
    let mut last = std::collections::HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        last.insert(key(row), index);
    }
    rows.iter()
        .enumerate()
        .filter(|(index, row)| last[key(row)] == *index)
        .map(|(_, row)| row)
        .collect()
}

/// Drains a row cursor into `f`: the loop every window query shares.
pub(crate) fn drain<R>(
    rows: impl Iterator<Item = diesel::QueryResult<R>>,
    mut f: impl FnMut(&R) -> io::Result<()>,
) -> Result<u64, StreamError> {
    let mut count = 0;
    for row in rows {
        f(&row?)?;
        count += 1;
    }
    Ok(count)
}

/// Implements [`WindowQuery`] and [`Upsert`] for a row type whose table is
/// windowed on its stamp column and keyed by `key`; `replace` lists every
/// other column.
macro_rules! stamped_table {
    ($row:ty, $table:ident, key: $key:ident, stamp: $stamp:ident, replace: [$($column:ident),+ $(,)?]) => {
        impl $crate::datasets::WindowQuery for $row {
            fn for_each_in_window(
                conn: &mut $crate::db::DbConnection,
                window: $crate::window::TimeWindow,
                f: impl FnMut(&Self) -> std::io::Result<()>,
            ) -> Result<u64, $crate::datasets::StreamError> {
                use diesel::prelude::*;
                use $crate::db::schema::$table;
                $crate::db::stream_rows!(
                    conn,
                    $table::table
                        .filter($table::$stamp.ge(window.from()).and($table::$stamp.lt(window.to())))
                        .order(($table::$stamp, $table::$key))
                        .select(<$row>::as_select()),
                    $row,
                    f
                )
            }
        }
        $crate::datasets::upsert_by_key!($row, $table, key: $key, stamp: $stamp, replace: [$($column),+]);
    };
}
pub(crate) use stamped_table;

/// Implements [`Upsert`]: insert each row, or replace the row with the same
/// key (every column in `replace` from the new row), with the stamp column
/// set to the write's stamp. Rows go [`UPSERT_ROWS`] to a statement: one
/// round trip and one bound statement for many rows, on both backends.
macro_rules! upsert_by_key {
    ($row:ty, $table:ident, key: $key:ident, stamp: $stamp:ident, replace: [$($column:ident),+ $(,)?]) => {
        impl $crate::datasets::Upsert for $row {
            const STAMP: &'static str = stringify!($stamp);

            fn upsert(
                conn: &mut $crate::db::DbConnection,
                rows: &mut [Self],
                stamp: $crate::timestamp::Timestamp,
            ) -> diesel::QueryResult<()> {
                use diesel::prelude::*;
                use diesel::upsert::excluded;
                use $crate::db::schema::$table;
                for row in rows.iter_mut() {
                    row.$stamp = stamp;
                }
                let rows = $crate::datasets::last_of_each_key(rows, |row| &row.$key);
                for chunk in rows.chunks($crate::datasets::UPSERT_ROWS) {
                    $crate::db::with_backend!(conn, c => diesel::insert_into($table::table)
                        .values(chunk.to_vec())
                        .on_conflict($table::$key)
                        .do_update()
                        .set(($($table::$column.eq(excluded($table::$column)),)+))
                        .execute(c))?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use upsert_by_key;

/// Every dataset hourglass knows, by its URL name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    Users,
    Contacts,
    Transactions,
    Logins,
    Wallets,
    GameSessions,
    GameActions,
    Tournaments,
    Events,
    Bets,
    BetSelections,
}

impl Dataset {
    pub const ALL: [Dataset; 11] = [
        Dataset::Users,
        Dataset::Contacts,
        Dataset::Transactions,
        Dataset::Logins,
        Dataset::Wallets,
        Dataset::GameSessions,
        Dataset::GameActions,
        Dataset::Tournaments,
        Dataset::Events,
        Dataset::Bets,
        Dataset::BetSelections,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dataset::Users => "users",
            Dataset::Contacts => "contacts",
            Dataset::Transactions => "transactions",
            Dataset::Logins => "logins",
            Dataset::Wallets => "wallets",
            Dataset::GameSessions => "game_sessions",
            Dataset::GameActions => "game_actions",
            Dataset::Tournaments => "tournaments",
            Dataset::Events => "events",
            Dataset::Bets => "bets",
            Dataset::BetSelections => "bet_selections",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Dataset::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Can be pulled with `GET` (game actions come out as `game_sessions`).
    pub fn is_pullable(self) -> bool {
        self != Dataset::GameActions
    }

    /// Can be written with `POST` (game sessions are computed from actions).
    pub fn is_pushable(self) -> bool {
        self != Dataset::GameSessions
    }

    /// The columns a pull returns, in order. `self` must be pullable.
    pub fn pull_columns(self) -> &'static [&'static str] {
        with_row_type!(pull, self, T => <T as Pull>::COLUMNS)
    }

    /// The columns a write may carry, stamp column included. `self` must be pushable.
    pub fn push_columns(self) -> &'static [&'static str] {
        with_row_type!(push, self, T => <T as Push>::COLUMNS)
    }

    /// Names of the datasets for which `pred` holds, for error hints.
    pub fn names_where(pred: impl Fn(Dataset) -> bool) -> String {
        Dataset::ALL
            .into_iter()
            .filter(|d| pred(*d))
            .map(Dataset::name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Runs `$body` with `$T` bound to the row type of `$dataset`: its [`Pull`]
/// type (`pull`) or its [`Push`] type (`push`). The two differ only for game
/// play, written as `game_actions` and pulled as `game_sessions`; asking for
/// the other side of those is a bug.
macro_rules! with_row_type {
    ($side:ident, $dataset:expr, $T:ident => $body:expr) => {{
        use $crate::datasets::{self as d, Dataset};
        match $dataset {
            Dataset::Users => { type $T = d::users::User; $body }
            Dataset::Contacts => { type $T = d::contacts::Contact; $body }
            Dataset::Transactions => { type $T = d::transactions::Transaction; $body }
            Dataset::Logins => { type $T = d::logins::Login; $body }
            Dataset::Wallets => { type $T = d::wallets::Wallet; $body }
            Dataset::Tournaments => { type $T = d::tournaments::Tournament; $body }
            Dataset::Events => { type $T = d::events::Event; $body }
            Dataset::Bets => { type $T = d::bets::Bet; $body }
            Dataset::BetSelections => { type $T = d::bet_selections::BetSelection; $body }
            Dataset::GameSessions => $crate::datasets::with_row_type!(@sessions $side, $T => $body),
            Dataset::GameActions => $crate::datasets::with_row_type!(@actions $side, $T => $body),
        }
    }};
    (@sessions pull, $T:ident => $body:expr) => {{ type $T = $crate::datasets::game_sessions::GameSession; $body }};
    (@sessions push, $T:ident => $body:expr) => { unreachable!("game sessions are written as game_actions") };
    (@actions push, $T:ident => $body:expr) => {{ type $T = $crate::datasets::game_actions::GameAction; $body }};
    (@actions pull, $T:ident => $body:expr) => { unreachable!("game actions are pulled as game_sessions") };
}
pub(crate) use with_row_type;

/// The spec's balance kinds: wallet `type`, bet `kind`, session `balance_type`.
pub const BALANCE_KINDS: &[&str] = &["Normal", "Prize", "Other"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_the_last_row_of_each_key_in_batch_order() {
        let rows = [(1, "a"), (2, "b"), (1, "c"), (3, "d"), (2, "e")];
        let kept: Vec<_> = last_of_each_key(&rows, |row| &row.0)
            .into_iter()
            .map(|row| row.1)
            .collect();
        assert_eq!(kept, ["c", "d", "e"]);
    }
}
