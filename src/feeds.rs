//! Feed health: rows written per dataset and hour, and whether a dataset
//! that usually receives writes has gone quiet for longer than usual.
//!
//! A feed that silently stopped is the most common integration failure, and
//! no consumer notices it: an empty window is a valid answer. So every write
//! adds its rows to a counter of its dataset and hour (`write_hours`), which
//! `GET /api/stats` and the page read, a few hundred small rows, whatever
//! the size of the datasets; no request counts a dataset's rows.
//!
//! A server adds its writes to a [`Tally`] in memory as they commit and
//! writes the tally every second ([`FLUSH_EVERY`]), and once more when it
//! stops: one small transaction a second instead of one more statement in
//! every group commit. A process that is killed loses at most that second of
//! counts; the rows themselves are never at stake. `hourglass import` and
//! `hourglass delete` add their count just after their transaction commits,
//! and `hourglass seed` in each simulated hour's transaction. Every
//! instance on a database adds to the same counters. Deletions count under
//! the `deletions` feed they are recorded in; erasures, which blank rows the
//! platform wrote, are not counted.

use crate::datasets::{Dataset, Role};
use crate::db::schema::write_hours;
use crate::db::DbConnection;
use crate::timestamp::Timestamp;
use diesel::prelude::*;
use diesel::upsert::excluded;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const HOUR: i64 = 3_600_000_000;

/// How often a server writes its tally.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Hours the chart shows, the current one last.
pub const CHART_HOURS: usize = 48;

/// How far back "usual" looks: the gaps between writes in these days.
const USUAL_DAYS: i64 = 7;

/// Slack on top of the usual gap before a quiet dataset is flagged: the
/// counters know hours, not minutes.
const SLACK: i64 = HOUR / 2;

/// The datasets that receive writes: those the platform writes, and the
/// deletions feed.
pub fn fed() -> impl Iterator<Item = Dataset> {
    Dataset::all().filter(|d| d.is_pushable() || d.def().role == Role::Feed)
}

/// Rows counted per (dataset, hour), with the last stamp among them.
#[derive(Debug, Default)]
pub struct Tally {
    counts: Mutex<HashMap<(&'static str, i64), Count>>,
}

#[derive(Debug, Clone, Copy)]
struct Count {
    rows: i64,
    last_write: i64,
}

impl Count {
    fn merge(&mut self, other: Count) {
        self.rows += other.rows;
        self.last_write = self.last_write.max(other.last_write);
    }
}

impl Tally {
    /// Counts `rows` rows of `dataset` written under `stamp`.
    pub fn add(&self, dataset: &'static str, rows: usize, stamp: Timestamp) {
        if rows == 0 {
            return;
        }
        let count = Count {
            rows: rows as i64,
            last_write: stamp.as_micros(),
        };
        let key = (dataset, stamp.as_micros().div_euclid(HOUR) * HOUR);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        merge(&mut counts, key, count);
    }

    /// Adds what was counted since the last flush to the stored counters,
    /// in one transaction. Should that fail, the counts are kept for the
    /// next flush.
    pub fn flush(&self, conn: &mut DbConnection) -> QueryResult<()> {
        let taken = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        // In key order: two servers that flush the same counters lock their
        // rows in the same order, so neither can wait on the other in a
        // cycle (PostgreSQL answered such flushes "deadlock detected").
        let mut ordered: Vec<_> = taken.iter().collect();
        ordered.sort_unstable_by_key(|(key, _)| **key);
        let stored = conn.transaction(|conn| {
            ordered
                .iter()
                .try_for_each(|(&(dataset, hour), &count)| store(conn, dataset, hour, count))
        });
        if stored.is_err() {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            for (key, count) in taken {
                merge(&mut counts, key, count);
            }
        }
        stored
    }
}

/// Adds `count` to the tally's count of `key`.
fn merge(counts: &mut HashMap<(&'static str, i64), Count>, key: (&'static str, i64), count: Count) {
    counts
        .entry(key)
        .and_modify(|c| c.merge(count))
        .or_insert(count);
}

/// Counts `rows` rows of `dataset` written under `stamp` straight into the
/// stored counters: for the command-line writers, which have no server's
/// tally.
pub fn record(
    conn: &mut DbConnection,
    dataset: &'static str,
    rows: usize,
    stamp: Option<Timestamp>,
) -> QueryResult<()> {
    let tally = Tally::default();
    if let Some(stamp) = stamp {
        tally.add(dataset, rows, stamp);
    }
    tally.flush(conn)
}

/// Adds one count to the stored counter of its dataset and hour.
fn store(conn: &mut DbConnection, dataset: &str, hour: i64, count: Count) -> QueryResult<()> {
    use diesel::dsl::case_when;
    use write_hours::columns as c;
    let row = (
        c::dataset.eq(dataset),
        c::hour.eq(hour),
        c::rows.eq(count.rows),
        c::last_write.eq(count.last_write),
    );
    crate::db::with_backend!(conn, conn => diesel::insert_into(write_hours::table)
        .values(row)
        .on_conflict((c::dataset, c::hour))
        .do_update()
        .set((
            c::rows.eq(c::rows + excluded(c::rows)),
            c::last_write.eq(case_when(
                excluded(c::last_write).gt(c::last_write),
                excluded(c::last_write),
            )
            .otherwise(c::last_write)),
        ))
        .execute(conn))
    .map(drop)
}

/// The health of every fed dataset at `now`, as `GET /api/stats` answers it.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// When the answer was made.
    pub now: Timestamp,
    /// The start of the chart's first hour; the last is the current hour.
    pub first_hour: Timestamp,
    pub datasets: Vec<FeedHealth>,
}

/// One dataset's writes and whether they still arrive.
#[derive(Debug, Serialize)]
pub struct FeedHealth {
    pub dataset: &'static str,
    /// Rows written in each of the last [`CHART_HOURS`] hours, oldest first.
    pub rows_per_hour: Vec<i64>,
    /// The last write ever counted.
    pub last_write: Option<Timestamp>,
    /// Seconds since the last write.
    pub silent_seconds: Option<i64>,
    /// The usual longest wait between writes, in seconds: the 95th
    /// percentile of the gaps between the hours that had writes in the last
    /// seven days (`None` with fewer than two such hours).
    pub usual_gap_seconds: Option<i64>,
    /// Quiet for longer than the usual gap plus half an hour.
    pub stalled: bool,
    /// How long its rows are kept (`--retain`; for deletions
    /// `--deletions-retention-days`), in seconds; none: forever. Filled in
    /// by the server, which knows its settings.
    pub retention_seconds: Option<u64>,
    /// Rows stamped before it are purged; none: nothing is.
    pub horizon: Option<Timestamp>,
}

/// Reads the counters of the last [`USUAL_DAYS`] days: one range of the
/// primary key per dataset, at most one row per hour, however long the
/// counters have been kept.
///
/// All in one snapshot: read statement by statement, a flush that
/// committed in between showed the deletions it counted without the users
/// counted in the same transaction.
pub fn stats(conn: &mut DbConnection, now: Timestamp) -> QueryResult<Stats> {
    crate::db::in_snapshot(conn, |conn| stats_in(conn, now))
}

fn stats_in(conn: &mut DbConnection, now: Timestamp) -> QueryResult<Stats> {
    use write_hours::columns as c;
    let this_hour = now.as_micros().div_euclid(HOUR) * HOUR;
    let first_hour = this_hour - (CHART_HOURS as i64 - 1) * HOUR;
    let since = this_hour - USUAL_DAYS * 24 * HOUR;
    let mut datasets = Vec::new();
    for dataset in fed() {
        let name = dataset.name();
        let hours: Vec<(i64, i64, i64)> = write_hours::table
            .filter(c::dataset.eq(name))
            .filter(c::hour.ge(since))
            .select((c::hour, c::rows, c::last_write))
            .order(c::hour)
            .load(conn)?;
        let mut rows_per_hour = vec![0; CHART_HOURS];
        for &(hour, rows, _) in &hours {
            if hour >= first_hour && hour <= this_hour {
                rows_per_hour[((hour - first_hour) / HOUR) as usize] = rows;
            }
        }
        let last_write = match hours.last() {
            Some(&(_, _, last)) => Some(last),
            // Quiet for a week or more.
            None => last_write(conn, name)?.map(Timestamp::as_micros),
        };
        let written: Vec<i64> = hours.iter().map(|h| h.0).collect();
        let usual_gap = usual_gap(&written);
        let silent = last_write.map(|last| (now.as_micros() - last).max(0));
        datasets.push(FeedHealth {
            dataset: name,
            rows_per_hour,
            last_write: last_write.map(Timestamp::from_micros),
            silent_seconds: silent.map(|s| s / 1_000_000),
            usual_gap_seconds: usual_gap.map(|g| g / 1_000_000),
            stalled: matches!((silent, usual_gap), (Some(s), Some(g)) if s > g + SLACK),
            retention_seconds: None,
            horizon: None,
        });
    }
    Ok(Stats {
        now,
        first_hour: Timestamp::from_micros(first_hour),
        datasets,
    })
}

/// Each fed dataset's last write, where there was one.
pub fn last_writes(conn: &mut DbConnection) -> QueryResult<Vec<(&'static str, Timestamp)>> {
    let mut found = Vec::new();
    for dataset in fed() {
        if let Some(at) = last_write(conn, dataset.name())? {
            found.push((dataset.name(), at));
        }
    }
    Ok(found)
}

/// The last write to `dataset`: its newest counter's, found by key.
fn last_write(conn: &mut DbConnection, dataset: &str) -> QueryResult<Option<Timestamp>> {
    use write_hours::columns as c;
    write_hours::table
        .filter(c::dataset.eq(dataset))
        .order(c::hour.desc())
        .select(c::last_write)
        .first(conn)
        .map(Timestamp::from_micros)
        .optional()
}

/// The 95th percentile (nearest rank) of the gaps between consecutive
/// written hours, in microseconds: a feed's usual longest wait, which one
/// past outage does not stretch. `None` without a gap to measure.
fn usual_gap(written_hours: &[i64]) -> Option<i64> {
    let mut gaps: Vec<i64> = written_hours.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let rank = (gaps.len() * 95).div_ceil(100);
    Some(gaps[rank.max(1) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(list: &[i64]) -> Vec<i64> {
        list.iter().map(|h| h * HOUR).collect()
    }

    #[test]
    fn the_usual_gap_is_the_95th_percentile_of_the_gaps_between_written_hours() {
        assert_eq!(usual_gap(&hours(&[5])), None);
        assert_eq!(usual_gap(&hours(&[1, 2, 3, 4])), Some(HOUR));
        // A nightly batch: a day.
        assert_eq!(usual_gap(&hours(&[2, 26, 50])), Some(24 * HOUR));
        // Every hour for a week but one outage of ten hours: still an hour.
        let mut every_hour: Vec<i64> = (0..100).chain(110..168).collect();
        every_hour.sort_unstable();
        assert_eq!(usual_gap(&hours(&every_hour)), Some(HOUR));
    }
}
