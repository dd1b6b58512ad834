//! The no-miss guarantee: a consumer that pulls consecutive windows
//! `[t0, t1)`, `[t1, t2)`, … never misses a row, nor keeps a stale version.
//!
//! Incremental pulls by timestamp lose rows in two ways, and a pull closes
//! both before it reads:
//!
//! 1. **A write in flight.** A row stamped 07:59:59.9 whose transaction
//!    commits at 08:00:00.2 is invisible to a pull of `[07:00, 08:00)` that
//!    read at 08:00:00.1, and the next pull starts at 08:00. Writers take
//!    their stamp under the database's write lock, so stamps are handed out
//!    in commit order. A pull first reads the last committed stamp: if it is
//!    already at `to` or past it, every write stamped before `to` has
//!    committed and every later one will be stamped after it, so the window
//!    is settled. Otherwise the pull takes the write lock for a moment
//!    ([`db::try_close_stamps_below`]): once it has it, no write is in
//!    flight, and it raises the last stamp so that no later write, even
//!    under a clock that stepped back, can be stamped before `to`. While
//!    writers keep the lock busy, the pull re-reads the last committed
//!    stamp instead: the first write stamped at `to` or later to commit
//!    settles the window too. Either way the wait is about one write
//!    transaction; it is bounded by [`MAX_SETTLE_WAIT`], past which the pull
//!    is answered 503. The lock is the database's, so this holds across
//!    processes. With a replica for pulls, the stamp is read on the replica:
//!    the pull waits until the replica has replayed every write stamped
//!    before `to`, so a lagging replica delays a pull, never truncates it.
//! 2. **A window that ends in our future** (our clock is behind the
//!    consumer's). If `to` is at most [`MAX_FUTURE_WAIT`] ahead, the pull
//!    waits until it has passed; further ahead it is refused with 425 Too
//!    Early. A window whose end has not happened yet is never served.
//!
//! Game sessions are windowed on when their actions happened, not on our
//! stamp; a session also comes out in the window in which one of its actions
//! was *written*, so a late action re-emits its session with the new totals
//! (see `datasets/game_sessions.rs`).

use crate::clock::Clock;
use crate::db::{self, Pools, StorageError};
use crate::timestamp::Timestamp;
use std::time::{Duration, Instant};

/// Why a window cannot be read yet.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The window ends further in this server's future than it waits for.
    #[error("{detail}")]
    TooEarly { retry_after: u64, detail: String },
    /// Writes in flight (or a replica's lag) kept the window from settling
    /// within [`MAX_SETTLE_WAIT`]; retrying later is the fix.
    #[error("{0}")]
    NotSettled(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

db::storage_errors_into!(SettleError);

/// How far in our future a window may end and still be waited for.
pub const MAX_FUTURE_WAIT: Duration = Duration::from_secs(5);

/// Waits until `to` has passed by `clock`, if it is at most
/// [`MAX_FUTURE_WAIT`] ahead; refuses it further ahead
/// ([`SettleError::TooEarly`], a 425 at the HTTP edge).
pub async fn wait_until_past(clock: &dyn Clock, to: Timestamp) -> Result<(), SettleError> {
    let max_ahead = MAX_FUTURE_WAIT.as_micros() as i64;
    let ahead = to.as_micros() - clock.now().as_micros();
    if ahead > max_ahead {
        return Err(too_early(to, ahead));
    }
    // Re-read the clock as we go rather than sleeping once: the clock, not
    // the timer, says when `to` has passed.
    let deadline = Instant::now() + MAX_FUTURE_WAIT + Duration::from_secs(1);
    loop {
        let ahead = to.as_micros() - clock.now().as_micros();
        if ahead <= 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(too_early(to, ahead));
        }
        let nap = Duration::from_micros(ahead as u64).min(Duration::from_millis(50));
        tokio::time::sleep(nap).await;
    }
}

fn too_early(to: Timestamp, ahead_micros: i64) -> SettleError {
    let retry_after = (ahead_micros as u64).div_ceil(1_000_000).max(1);
    SettleError::TooEarly {
        retry_after,
        detail: format!(
            "the window ends at {to}, {retry_after} s from now by this server's clock; \
             rows stamped before then may still be written, so pull it again after it has passed"
        ),
    }
}

/// How long a pull may wait for writes in flight before it answers 503.
pub const MAX_SETTLE_WAIT: Duration = Duration::from_secs(5);

/// How long one attempt at the write lock may wait.
const LOCK_ATTEMPT: Duration = Duration::from_millis(5);

/// Makes sure every write stamped before `to` has committed, that no later
/// write can be stamped before `to` (rule 1 above), and that the database
/// pulls read from has all of it: with a replica (`--read-database`), until
/// the replica has replayed those writes. Returns how long that took.
pub async fn settle(pools: &Pools, to: Timestamp) -> Result<Duration, SettleError> {
    let started = Instant::now();
    let mut closed = false;
    loop {
        let (read, control) = (pools.read.clone(), pools.control.clone());
        let step = tokio::task::spawn_blocking(move || {
            // Once the read side's last stamp reaches `to`, every write stamped
            // before `to` has committed and is there to read (a replica
            // replays commits in order).
            if db::last_stamp(&mut *read.get()?)?.as_micros() >= to.as_micros() - 1 {
                return Ok(Step::Settled);
            }
            if !closed && db::try_close_stamps_below(&mut *control.get()?, to, LOCK_ATTEMPT)? {
                return Ok(Step::Closed);
            }
            Ok::<_, SettleError>(Step::Wait)
        })
        .await
        .map_err(|panicked| StorageError::Failed(Box::new(panicked)))??;
        match step {
            Step::Settled => return Ok(started.elapsed()),
            // On one database the next look settles it; a replica may have
            // to replay the barrier first.
            Step::Closed => {
                closed = true;
                continue;
            }
            Step::Wait => {}
        }
        if started.elapsed() >= MAX_SETTLE_WAIT {
            return Err(SettleError::NotSettled(format!(
                "the window ending {to} could not be settled within {MAX_SETTLE_WAIT:?}: writes in flight, or a replica lagging; retry in a few seconds"
            )));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// One look at the stamps.
enum Step {
    /// Every write stamped before `to` is readable.
    Settled,
    /// The barrier was just raised on the primary.
    Closed,
    /// Writers hold the lock, or the replica has not caught up yet.
    Wait,
}
