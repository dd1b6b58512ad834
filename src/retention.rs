//! Retention: how long each dataset's rows are kept, and the purge that
//! drops the older ones.
//!
//! `serve --retain DATASET=AGE` keeps a dataset's rows for AGE after their
//! last-modified stamp; the dataset's *horizon* is then `now - AGE`. Every
//! `--purge-every`, a server purges the rows stamped before the horizon, in
//! batches sized to hold the write lock about [`purge::BATCH_TARGET`], pausing
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

mod purge;

use crate::datasets::catalog::Catalog;
use crate::datasets::{Dataset, Role};
use crate::db::{with_backend, DbConnection, Pools, StorageError};
use crate::timestamp::Timestamp;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryResult, RunQueryDsl};
use purge::{purge_dataset, Purger, Target};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::RwLock;
use std::time::Duration;

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
    /// module doc), calling `purged` after each batch; stops early when
    /// `stopping` is set. Returns `None` if another server is purging.
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

/// `now - age`, or the earliest time.
fn before(now: Timestamp, age: Duration) -> Timestamp {
    let age = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_micros(now.as_micros().saturating_sub(age))
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
