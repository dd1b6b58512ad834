//! Retention: how long each dataset's rows are kept, and the purge that
//! drops the older ones.
//!
//! `serve --retain DATASET=AGE` keeps a dataset's rows for AGE after their
//! last-modified stamp; the dataset's *horizon* is then `now - AGE`. Every
//! `--purge-every`, a server purges the rows stamped before the horizon, in
//! batches sized to hold the write lock about [`BATCH_TARGET`], pausing
//! between them so that writes interleave: a write waits for one batch at
//! most, never for the whole purge. On SQLite the batches take turns with
//! the committer's write groups on its one connection (see [`Purger`]); on
//! PostgreSQL one server purges at a time (an advisory lock), and the
//! others skip their turn.
//!
//! The horizon is recorded (`retention_horizons`) before the first row
//! goes, and a pull or count whose window starts before a dataset's horizon
//! is refused with `410 window_purged`, so a consumer never mistakes a
//! purged window for an empty one. Every server refuses by the horizon it
//! computes from its own `--retain` and by the one recorded, so one that
//! does not purge still refuses what another has purged.
//!
//! Purged rows are not deletes: nothing is recorded in the `deletions`
//! feed. Purging `game_actions` keeps their sessions and totals
//! (`datasets::game_sessions`); the sessions are marked, so that their
//! first and last action and descriptive columns are no longer taken again
//! from the actions left. `game_sessions` itself can be retained too: a
//! session goes when its own stamp (its last change) is past the horizon.

use crate::datasets::catalog::{Catalog, Shape};
use crate::datasets::{Dataset, Role};
use crate::db::statement::{execute, quote, Statement};
use crate::db::{with_backend, DbConnection, DbPool, PooledConn, Pools, StorageError};
use crate::timestamp::Timestamp;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryResult, RunQueryDsl};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long one purge batch aims to hold the write lock; batches grow and
/// shrink to stay near it, and never reach the ~50 ms a write may wait.
pub const BATCH_TARGET: Duration = Duration::from_millis(10);

/// Rows in the first batch, and the bounds batches stay within.
const FIRST_BATCH: i64 = 500;
const MIN_BATCH: i64 = 50;
const MAX_BATCH: i64 = 20_000;

/// Sessions marked per statement: well under both backends' bind limits.
const SESSIONS_PER_STATEMENT: usize = 500;

/// The PostgreSQL advisory lock a purging server holds ("hour").
const PURGE_LOCK: i64 = 0x686f_7572;

/// How long each dataset is kept, and the horizons recorded by whichever
/// server purged.
#[derive(Debug, Default)]
pub struct Retention {
    ages: Vec<(Dataset, Duration)>,
    recorded: RwLock<BTreeMap<&'static str, Timestamp>>,
}

/// A `--retain` rule that cannot be taken.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("give DATASET=AGE, like game_actions=90d (AGE: 90d, 12h, 30m, 20s)")]
    Shape,
    #[error("no dataset '{0}': retain one of {1}")]
    UnknownDataset(String, String),
    #[error("deletions are kept by --deletions-retention-days, not --retain")]
    Deletions,
    #[error("'{0}' is not an age: give a number and a unit, like 90d, 12h, 30m or 20s")]
    Age(String),
    #[error("an age of zero would purge every row as it is written: give at least 1s")]
    Zero,
    #[error(
        "game_sessions are kept {sessions} but game_actions {actions}: a session would go \
         while its actions stay, and come back from the later ones alone; keep game_sessions \
         at least as long as game_actions"
    )]
    SessionsBeforeActions { sessions: String, actions: String },
}

/// Parses a `--retain` rule: `DATASET=AGE`.
pub fn parse_rule(text: &str) -> Result<(Dataset, Duration), RuleError> {
    let (name, age) = text.split_once('=').ok_or(RuleError::Shape)?;
    let dataset = Dataset::from_name(name.trim()).ok_or_else(|| {
        RuleError::UnknownDataset(name.trim().to_string(), Dataset::names_where(retainable))
    })?;
    if !retainable(dataset) {
        return Err(RuleError::Deletions);
    }
    let age = parse_age(age).ok_or_else(|| RuleError::Age(age.trim().to_string()))?;
    if age.is_zero() {
        return Err(RuleError::Zero);
    }
    Ok((dataset, age))
}

/// An age or period such as `90d`, `12h`, `30m`, `20s` or `1h30m`.
pub fn parse_age(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

/// An age in its largest whole unit, as `--retain` takes it: `90d`, `36h`,
/// `30m`, `20s`.
pub fn describe_age(age: Duration) -> String {
    let seconds = age.as_secs();
    match [(86_400, "d"), (3_600, "h"), (60, "m")]
        .into_iter()
        .find(|(unit, _)| seconds >= *unit && seconds % unit == 0)
    {
        Some((unit, name)) => format!("{}{name}", seconds / unit),
        None => format!("{seconds}s"),
    }
}

/// Every dataset but the deletions feed, which keeps its own time.
fn retainable(dataset: Dataset) -> bool {
    dataset.def().role != Role::Feed
}

impl Retention {
    /// The ages given; a dataset named twice keeps its last age. Sessions
    /// are computed from their actions, so they are kept at least as long,
    /// and purged after them.
    pub fn new(rules: impl IntoIterator<Item = (Dataset, Duration)>) -> Result<Self, RuleError> {
        let mut ages: Vec<(Dataset, Duration)> = Vec::new();
        for (dataset, age) in rules {
            ages.retain(|(d, _)| *d != dataset);
            ages.push((dataset, age));
        }
        let age = |role: fn(&Role) -> bool| {
            ages.iter()
                .find(|(d, _)| role(&d.def().role))
                .map(|(_, age)| *age)
        };
        let actions = age(|r| matches!(r, Role::WriteOnly { .. }));
        let sessions = age(|r| matches!(r, Role::Computed { .. }));
        if let Some(sessions) = sessions {
            if actions.is_none_or(|actions| sessions < actions) {
                return Err(RuleError::SessionsBeforeActions {
                    sessions: describe_age(sessions),
                    actions: actions.map_or("forever".into(), describe_age),
                });
            }
        }
        ages.sort_by_key(|(d, _)| matches!(d.def().role, Role::Computed { .. }));
        Ok(Retention {
            ages,
            recorded: RwLock::default(),
        })
    }

    /// How long `dataset`'s rows are kept here, if not forever.
    pub fn age(&self, dataset: Dataset) -> Option<Duration> {
        self.ages
            .iter()
            .find(|(d, _)| *d == dataset)
            .map(|(_, age)| *age)
    }

    /// The datasets this server purges.
    pub fn retained(&self) -> impl Iterator<Item = (Dataset, Duration)> + '_ {
        self.ages.iter().copied()
    }

    /// The oldest stamp `dataset` still holds every row of at `now`, if its
    /// rows are purged here or were purged by another server.
    pub fn horizon(&self, dataset: Dataset, now: Timestamp) -> Option<Timestamp> {
        let ours = self.age(dataset).map(|age| before(now, age));
        let recorded = self.recorded().get(dataset.name()).copied();
        ours.max(recorded)
    }

    /// Every dataset with a horizon at `now`, and the horizon.
    pub fn horizons(&self, now: Timestamp) -> Vec<(Dataset, Timestamp)> {
        Dataset::all()
            .filter_map(|dataset| Some((dataset, self.horizon(dataset, now)?)))
            .collect()
    }

    fn recorded(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<&'static str, Timestamp>> {
        self.recorded.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the horizons recorded by every server.
    pub fn reload(&self, conn: &mut DbConnection) -> QueryResult<()> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            dataset: String,
            #[diesel(sql_type = BigInt)]
            horizon: i64,
        }
        let rows: Vec<Row> = with_backend!(conn, c => diesel::sql_query(
            "SELECT dataset, horizon FROM retention_horizons"
        )
        .load(c))?;
        let recorded = rows
            .into_iter()
            .filter_map(|row| {
                let dataset = Dataset::from_name(&row.dataset)?;
                Some((dataset.name(), Timestamp::from_micros(row.horizon)))
            })
            .collect();
        *self.recorded.write().unwrap_or_else(|e| e.into_inner()) = recorded;
        Ok(())
    }

    /// Purges every retained dataset up to its horizon at `now` (see the
    /// module doc); stops early when `stopping` is set. Returns the rows
    /// purged per dataset, or `None` if another server is purging.
    pub fn purge(
        &self,
        pools: &Pools,
        catalog: &Catalog,
        now: Timestamp,
        stopping: &AtomicBool,
        mut purged: impl FnMut(Dataset, usize),
    ) -> Result<Option<()>, StorageError> {
        if self.ages.is_empty() {
            return Ok(Some(()));
        }
        let Some(mut purger) = Purger::take(pools)? else {
            return Ok(None);
        };
        let result = (|| {
            for (dataset, age) in self.retained() {
                let horizon = before(now, age);
                self.recorded
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(dataset.name())
                    .and_modify(|h| *h = (*h).max(horizon))
                    .or_insert(horizon);
                let target = Target::of(catalog.shape(dataset));
                purge_dataset(&mut purger, dataset, &target, horizon, stopping, |rows| {
                    purged(dataset, rows)
                })?;
            }
            Ok(Some(()))
        })();
        purger.release()?;
        result
    }
}

/// The connection a purge writes on.
///
/// On PostgreSQL, the purge pool's, held throughout: the advisory lock that
/// lets one server purge at a time belongs to its session, and a batch's
/// row locks hold up no write of new rows. On SQLite every write takes the
/// file's one lock, and a connection waiting for it polls (its busy handler
/// sleeps 1, 2, 5… ms between tries), so a purge on a connection of its own
/// lost the lock to writes arriving back to back for seconds at a time.
/// There, each batch takes the committer's one connection from the write
/// pool and gives it back: batches and write groups take turns, each woken
/// the moment the other is done, and nobody polls.
enum Purger<'a> {
    Held(PooledConn),
    Shared(&'a DbPool),
}

impl<'a> Purger<'a> {
    /// A purger, or `None` if another server is purging.
    fn take(pools: &'a Pools) -> Result<Option<Self>, StorageError> {
        let mut conn = pools.maintenance.get()?;
        Ok(match &mut *conn {
            DbConnection::Sqlite(_) => Some(Purger::Shared(&pools.write)),
            DbConnection::Postgresql(c) => {
                #[derive(diesel::QueryableByName)]
                struct Taken {
                    #[diesel(sql_type = diesel::sql_types::Bool)]
                    taken: bool,
                }
                let lock = format!("SELECT pg_try_advisory_lock({PURGE_LOCK}) AS taken");
                let taken = diesel::sql_query(lock).get_result::<Taken>(c)?.taken;
                taken.then_some(Purger::Held(conn))
            }
        })
    }

    /// Runs `f` on the purge's connection.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match self {
            Purger::Held(conn) => f(conn),
            Purger::Shared(write) => f(&mut *write.get()?),
        }
    }

    /// Runs a batch on the purge's connection without waiting for the disk
    /// at its commit: a batch lost to a power cut is purged again by the
    /// next, and the next durable commit (a write's) makes it durable too,
    /// since both logs are written in order. Waiting for the disk took as
    /// long as deleting a small batch, while writes queued behind it.
    fn batch<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.with(|conn| {
            let DbConnection::Sqlite(c) = conn else {
                return f(conn);
            };
            c.batch_execute("PRAGMA synchronous = NORMAL")?;
            let result = f(conn);
            // The writers' setting (`db::pool`), whatever the batch did.
            // Setting it touches no page, so it does not fail once the
            // batch's own setting took.
            let restored = with_backend!(conn, c => c.batch_execute("PRAGMA synchronous = FULL"));
            let value = result?;
            restored?;
            Ok(value)
        })
    }

    /// Between batches, after one that held the lock `held`: writes waiting
    /// for the connection or the lock take it meanwhile. A quarter of the
    /// batch's time is plenty for them to be woken and start, and leaves
    /// the purge most of an idle server.
    fn pause(held: Duration) {
        std::thread::sleep((held / 4).max(Duration::from_millis(1)));
    }

    /// Gives the advisory lock back.
    fn release(mut self) -> Result<(), StorageError> {
        if let Purger::Held(conn) = &mut self {
            let unlock = format!("SELECT pg_advisory_unlock({PURGE_LOCK})");
            with_backend!(&mut **conn, c => diesel::sql_query(unlock).execute(c))?;
        }
        Ok(())
    }
}

/// `now - age`, or the earliest time.
fn before(now: Timestamp, age: Duration) -> Timestamp {
    let age = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_micros(now.as_micros().saturating_sub(age))
}

/// Records `dataset`'s horizon, never moving it back.
fn record_horizon(
    conn: &mut DbConnection,
    dataset: Dataset,
    horizon: Timestamp,
) -> QueryResult<()> {
    let greatest = match conn {
        DbConnection::Sqlite(_) => "max",
        DbConnection::Postgresql(_) => "GREATEST",
    };
    execute(
        conn,
        Statement::new("INSERT INTO retention_horizons (dataset, horizon) VALUES (")
            .bind_text(dataset.name())
            .sql(", ")
            .bind_int(horizon.as_micros())
            .sql(format!(
                ") ON CONFLICT (dataset) DO UPDATE SET horizon = \
                 {greatest}(retention_horizons.horizon, excluded.horizon)"
            )),
    )
    .map(drop)
}

/// Where a dataset's rows are stored and stamped.
struct Target {
    table: String,
    stamp: String,
    key: String,
    /// Purging game actions marks their sessions.
    actions: bool,
}

impl Target {
    fn of(shape: &Shape) -> Self {
        let column = |i: usize| quote(shape.columns[i].sql_name());
        let stamp = match (shape.stamp, shape.dataset.def().role) {
            (Some(stamp), _) => column(stamp),
            // Kept sessions carry their own stamp, outside the dataset's columns.
            (None, Role::Computed { .. }) => quote("modified_at"),
            (None, _) => unreachable!("{} has no stamp to purge by", shape.dataset.name()),
        };
        Target {
            table: quote(shape.dataset.name()),
            stamp,
            key: column(shape.key),
            actions: matches!(shape.dataset.def().role, Role::WriteOnly { .. }),
        }
    }
}

/// Purges one dataset's rows stamped before `horizon`, a batch per
/// transaction, each of which records the horizon first (so that it is
/// recorded even when there is nothing to purge, and never after a purged
/// row is gone); calls `purged` after each batch.
fn purge_dataset(
    purger: &mut Purger,
    dataset: Dataset,
    target: &Target,
    horizon: Timestamp,
    stopping: &AtomicBool,
    mut purged: impl FnMut(usize),
) -> Result<(), StorageError> {
    let mut batch = FIRST_BATCH;
    // Where the last batch ended: see `delete_batch`.
    let mut floor = None;
    // Sessions a writer held when their actions went: marked in a later batch.
    let mut unmarked = BTreeSet::new();
    while !stopping.load(Ordering::Relaxed) {
        let mut locked = Instant::now();
        let rows = purger.batch(|conn| {
            conn.transaction(|conn| -> Result<usize, StorageError> {
                // Durable with the next write's commit (see `Purger::batch`).
                if let DbConnection::Postgresql(c) = conn {
                    c.batch_execute("SET LOCAL synchronous_commit = off")?;
                }
                // A write first: it takes the write lock (SQLite's, or the
                // horizon's row), and the batch's time counts from then, so
                // that time queued behind writers does not shrink batches.
                record_horizon(conn, dataset, horizon)?;
                locked = Instant::now();
                let (rows, sessions, last) = delete_batch(conn, target, horizon, floor, batch)?;
                floor = last.or(floor);
                unmarked.extend(sessions);
                if !unmarked.is_empty() {
                    unmarked = mark_sessions(conn, &unmarked, false)?;
                }
                Ok(rows)
            })
        })?;
        let held = locked.elapsed();
        log::debug!(
            "purged a batch of {rows} of {batch} {} rows in {held:?}",
            dataset.name()
        );
        if rows > 0 {
            purged(rows);
        }
        if (rows as i64) < batch {
            break;
        }
        batch = next_batch(batch, held);
        Purger::pause(held);
    }
    if !unmarked.is_empty() {
        purger.with(|conn| conn.transaction(|conn| mark_sessions(conn, &unmarked, true)))?;
    }
    Ok(())
}

/// The next batch's size: toward [`BATCH_TARGET`] of lock time.
fn next_batch(batch: i64, held: Duration) -> i64 {
    let next = if held > BATCH_TARGET * 3 / 2 {
        batch / 2
    } else if held < BATCH_TARGET / 2 {
        batch * 2
    } else {
        batch
    };
    next.clamp(MIN_BATCH, MAX_BATCH)
}

/// Deletes up to `batch` of the oldest rows stamped before `horizon`, found
/// on the stamp's index from `floor` (the last batch's latest stamp) on.
/// Returns how many, the sessions of purged game actions, and the latest
/// stamp purged.
///
/// The floor matters on PostgreSQL, where a deleted row stays in the index
/// until vacuum: without it each batch walked past every row the purge had
/// already deleted, so batches slowed as the purge went on (1,600 rows/s
/// at 20 million). No row appears below the floor meanwhile, since every
/// write takes a later stamp; one committed late with an earlier stamp is
/// left to the next purge, which starts from the bottom.
fn delete_batch(
    conn: &mut DbConnection,
    target: &Target,
    horizon: Timestamp,
    floor: Option<i64>,
    batch: i64,
) -> Result<(usize, Vec<String>, Option<i64>), StorageError> {
    let Target {
        table, stamp, key, ..
    } = target;
    // SQLite finds a row by its rowid, which every index holds; PostgreSQL
    // by the key, which the window index holds.
    let row = match conn {
        DbConnection::Sqlite(_) => "rowid",
        DbConnection::Postgresql(_) => key.as_str(),
    };
    let returning = if target.actions {
        "session_id"
    } else {
        "NULL AS session_id"
    };
    let mut delete = Statement::new(format!(
        "DELETE FROM {table} WHERE {row} IN (SELECT {row} FROM {table} WHERE {stamp} < "
    ))
    .bind_int(horizon.as_micros());
    if let Some(floor) = floor {
        delete = delete.sql(format!(" AND {stamp} >= ")).bind_int(floor);
    }
    let delete = delete
        .sql(format!(" ORDER BY {stamp} LIMIT "))
        .bind_int(batch)
        .sql(format!(") RETURNING {returning}, {stamp} AS stamp"));
    #[derive(diesel::QueryableByName)]
    struct Gone {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        session_id: Option<String>,
        #[diesel(sql_type = BigInt)]
        stamp: i64,
    }
    let gone: Vec<Gone> = with_backend!(conn, c => delete.load(c))?;
    let rows = gone.len();
    let last = gone.iter().map(|g| g.stamp).max();
    let sessions = gone.into_iter().filter_map(|g| g.session_id).collect();
    Ok((rows, sessions, last))
}

/// Marks the sessions of purged actions. On PostgreSQL a session a writer
/// holds is skipped rather than waited for (the writer may be waiting for
/// this transaction's deleted actions); the ones not marked are returned,
/// to be tried with the next batch and, at the end, waited for.
fn mark_sessions(
    conn: &mut DbConnection,
    sessions: &BTreeSet<String>,
    wait: bool,
) -> Result<BTreeSet<String>, StorageError> {
    let sessions: Vec<&str> = sessions.iter().map(String::as_str).collect();
    let mut left = BTreeSet::new();
    for chunk in sessions.chunks(SESSIONS_PER_STATEMENT) {
        if wait || matches!(conn, DbConnection::Sqlite(_)) {
            let update = Statement::new(
                "UPDATE game_sessions SET actions_purged = TRUE WHERE session_id IN ",
            )
            .in_list(chunk);
            execute(conn, update)?;
            continue;
        }
        #[derive(diesel::QueryableByName)]
        struct Marked {
            #[diesel(sql_type = Text)]
            session_id: String,
        }
        let update = Statement::new(
            "UPDATE game_sessions SET actions_purged = TRUE WHERE session_id IN \
             (SELECT session_id FROM game_sessions WHERE session_id IN ",
        )
        .in_list(chunk)
        .sql(" FOR UPDATE SKIP LOCKED) RETURNING session_id");
        let marked: Vec<Marked> = with_backend!(conn, c => update.load(c))?;
        let marked: BTreeSet<String> = marked.into_iter().map(|m| m.session_id).collect();
        // Those held by a writer, and those gone since (deleted), which the
        // last, waiting try finds no more.
        left.extend(
            chunk
                .iter()
                .filter(|s| !marked.contains(**s))
                .map(|s| s.to_string()),
        );
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_names_a_retainable_dataset_and_an_age() {
        let (dataset, age) = parse_rule("game_actions=90d").unwrap();
        assert_eq!(dataset.name(), "game_actions");
        assert_eq!(age, Duration::from_secs(90 * 86_400));
        for (rule, age) in [
            ("users=12h", 12 * 3600),
            ("bets=30m", 1800),
            ("logins=20s", 20),
        ] {
            assert_eq!(parse_rule(rule).unwrap().1, Duration::from_secs(age));
        }
        assert_eq!(parse_rule("game_actions"), Err(RuleError::Shape));
        assert!(matches!(
            parse_rule("nope=1d"),
            Err(RuleError::UnknownDataset(..))
        ));
        assert_eq!(parse_rule("deletions=1d"), Err(RuleError::Deletions));
        assert!(matches!(parse_rule("users=soon"), Err(RuleError::Age(_))));
        assert_eq!(parse_rule("users=0s"), Err(RuleError::Zero));
    }

    #[test]
    fn an_age_is_described_in_its_largest_whole_unit() {
        for (seconds, text) in [
            (90 * 86_400, "90d"),
            (36 * 3600, "36h"),
            (1800, "30m"),
            (20, "20s"),
            (90, "90s"),
        ] {
            assert_eq!(describe_age(Duration::from_secs(seconds)), text);
        }
    }

    #[test]
    fn sessions_are_kept_at_least_as_long_as_their_actions_and_purged_after_them() {
        let (actions, sessions) = (
            Dataset::named("game_actions"),
            Dataset::named("game_sessions"),
        );
        let day = Duration::from_secs(86_400);
        assert!(matches!(
            Retention::new([(sessions, day)]),
            Err(RuleError::SessionsBeforeActions { .. })
        ));
        assert!(matches!(
            Retention::new([(actions, day * 2), (sessions, day)]),
            Err(RuleError::SessionsBeforeActions { .. })
        ));
        let retention = Retention::new([(sessions, day * 2), (actions, day)]).unwrap();
        let order: Vec<_> = retention.retained().map(|(d, _)| d.name()).collect();
        assert_eq!(order, ["game_actions", "game_sessions"]);
    }

    #[test]
    fn batches_grow_and_shrink_toward_the_target() {
        assert_eq!(next_batch(500, Duration::from_millis(1)), 1000);
        assert_eq!(next_batch(500, BATCH_TARGET), 500);
        assert_eq!(next_batch(500, BATCH_TARGET * 4), 250);
        assert_eq!(next_batch(MIN_BATCH, Duration::from_secs(1)), MIN_BATCH);
        assert_eq!(next_batch(MAX_BATCH, Duration::ZERO), MAX_BATCH);
    }

    #[test]
    fn a_horizon_is_the_later_of_the_own_and_the_recorded() {
        let retention =
            Retention::new([(Dataset::named("users"), Duration::from_secs(60))]).unwrap();
        let now = Timestamp::from_micros(1_000_000_000);
        assert_eq!(
            retention.horizon(Dataset::named("users"), now),
            Some(Timestamp::from_micros(1_000_000_000 - 60_000_000))
        );
        assert_eq!(retention.horizon(Dataset::named("bets"), now), None);
        retention
            .recorded
            .write()
            .unwrap()
            .insert("bets", Timestamp::from_micros(5));
        assert_eq!(
            retention.horizon(Dataset::named("bets"), now),
            Some(Timestamp::from_micros(5))
        );
    }
}
