//! The sportsbook: leagues play rounds (each a tournament) of matches (each
//! an event), and players bet on them.
//!
//! New rounds are announced in every hour of the period, so tournaments and
//! events are written every hour. An event is written `scheduled` when its
//! round is announced, `live` at kick-off and `finished` (with its end time)
//! when it ends; a few are `cancelled` before kick-off. Its final score is
//! drawn when it is scheduled, so every selection on it is judged from the
//! same result. A bet settles when it can be: `lost` as soon as one leg
//! loses, `won` when every leg has won (paying the stake times the product
//! of the odds, rounded half up to the cent), `void` (stake returned) when a
//! leg's event is cancelled and none lost; some players cash out first.

use super::world::{League, Pick, Sport, LEAGUES};
use super::{cents_text, time, with, Sim, HOUR, MINUTE};
use serde_json::{json, Value};

/// A match players can bet on.
pub struct Event {
    id: String,
    sport: &'static Sport,
    home: &'static str,
    away: &'static str,
    /// When it was announced: no bet on it before then.
    announced: i64,
    kickoff: i64,
    /// When its result is known: its end, or when it was cancelled.
    settled: i64,
    cancelled: bool,
    score: (u32, u32),
}

/// Every event of the period, by kick-off.
pub struct Sportsbook {
    events: Vec<Event>,
}

/// How long before the period rounds are announced, so that it starts with
/// matches as steadily spread as later on: more than the longest wait for a
/// round plus the longest round. What happened before the period arrives
/// with the initial load at its start.
const PRELOAD: i64 = 5 * 24 * HOUR;

/// Rounds announced in every hour.
const ROUNDS_AN_HOUR: usize = 2;

/// A bet placed: when it pays out, and how much (cents), if it does before
/// the period ends.
pub struct Placed {
    pub payout: Option<(i64, i64)>,
}

impl Sportsbook {
    /// Announces [`ROUNDS_AN_HOUR`] rounds in every hour of the period
    /// (`start`..`end`) and of the [`PRELOAD`] before it.
    pub fn schedule(sim: &mut Sim) -> Self {
        let (start, end) = (sim.timeline.start, sim.timeline.end);
        let mut rounds: Vec<u32> = LEAGUES.iter().map(|_| sim.rng.u32(8..20)).collect();
        let mut book = Sportsbook { events: Vec::new() };
        let mut hour = start - PRELOAD;
        hour -= hour.rem_euclid(HOUR);
        while hour < end {
            for _ in 0..ROUNDS_AN_HOUR {
                let at = hour + sim.rng.i64(0..HOUR);
                let league = sim.rng.usize(..LEAGUES.len());
                rounds[league] += 1;
                if at < end {
                    book.announce(sim, &LEAGUES[league], rounds[league], at);
                }
            }
            hour += HOUR;
        }
        book.events.sort_by_key(|e| e.kickoff);
        book
    }

    /// One round of `league` announced at `at`: its tournament row and its
    /// matches, unless it was over before the period.
    fn announce(&mut self, sim: &mut Sim, league: &'static League, round: u32, at: i64) {
        let sport = league.sport;
        let tournament_id = sim.ids.next();
        let begins = at + sim.rng.i64(HOUR..36 * HOUR);
        let length = league.round_hours * HOUR;
        let duration = sport.minutes * MINUTE;
        let mut teams = league.teams.to_vec();
        sim.rng.shuffle(&mut teams);
        let mut events = Vec::with_capacity(teams.len() / 2);
        for pair in teams.chunks_exact(2) {
            // Kick-offs on the quarter hour.
            let kickoff = begins + sim.rng.i64(0..length - duration);
            let kickoff = kickoff - kickoff.rem_euclid(15 * MINUTE) + 15 * MINUTE;
            let cancelled = sim.rng.u32(..30) == 0;
            let settled = if cancelled {
                (kickoff - sim.rng.i64(HOUR..6 * HOUR)).max(at + MINUTE)
            } else {
                kickoff + duration + sim.rng.i64(0..20 * MINUTE)
            };
            events.push(Event {
                id: sim.ids.next(),
                sport,
                home: pair[0],
                away: pair[1],
                announced: at,
                kickoff,
                settled,
                cancelled,
                score: sport.score(&mut sim.rng),
            });
        }
        let ends = events
            .iter()
            .map(|e| e.kickoff + duration)
            .max()
            .expect("a match");
        if ends < sim.timeline.start {
            return;
        }
        for event in events {
            let row = json!({
                "id": event.id,
                "tournament_id": tournament_id,
                "title": format!("{} v {}", event.home, event.away),
                "status": "scheduled",
                "startTime": time(event.kickoff),
                "type": "match",
            });
            sim.timeline.upsert(at, "events", &row);
            if event.cancelled {
                sim.timeline.upsert(
                    event.settled,
                    "events",
                    &with(&row, json!({"status": "cancelled"})),
                );
            } else {
                let finished = json!({"status": "finished", "endTime": time(event.settled)});
                sim.timeline.upsert(
                    event.kickoff,
                    "events",
                    &with(&row, json!({"status": "live"})),
                );
                sim.timeline
                    .upsert(event.settled, "events", &with(&row, finished));
            }
            self.events.push(event);
        }
        let name = match sport.id {
            "2" => format!("{}, day {round}", league.name),
            _ => format!("{}, round {round}", league.name),
        };
        let tournament = json!({
            "id": tournament_id,
            "name": name,
            "sport_id": sport.id,
            "sport_name": sport.name,
            "country_code": league.country,
            "dateStart": time(begins),
            "dateEnd": time(ends),
        });
        sim.timeline.upsert(at, "tournaments", &tournament);
    }

    /// Events open for bets at `at`: announced, not started, not cancelled,
    /// kicking off within two days.
    fn open_at(&self, at: i64) -> impl Iterator<Item = &Event> {
        let first = self.events.partition_point(|e| e.kickoff <= at);
        self.events[first..]
            .iter()
            .take_while(move |e| e.kickoff <= at + 48 * HOUR)
            .filter(move |e| e.announced <= at && !(e.cancelled && e.settled <= at))
    }

    /// Places a bet of `stake` cents at `at` on one to four open events and
    /// writes it, its selections and what becomes of them. `bet` is the bet's
    /// row without its status, type and stake. `None` when nothing is open.
    pub fn place(&self, sim: &mut Sim, at: i64, stake: i64, bet: Value) -> Option<Placed> {
        let open: Vec<&Event> = self.open_at(at).take(40).collect();
        if open.is_empty() {
            return None;
        }
        let wanted = [1, 1, 1, 1, 1, 1, 2, 2, 3, 4][sim.rng.usize(..10)].min(open.len());
        let mut legs: Vec<&Event> = Vec::with_capacity(wanted);
        while legs.len() < wanted {
            let event = open[sim.rng.usize(..open.len())];
            if !legs.iter().any(|l| l.id == event.id) {
                legs.push(event);
            }
        }
        let bet_id = sim.ids.next();
        let bet = with(
            &bet,
            json!({
                "id": bet_id,
                "status": "open",
                "type": if legs.len() == 1 { "single" } else { "express" },
                "stake": cents_text(stake),
                "created_at": time(at),
            }),
        );
        sim.timeline.upsert(at, "bets", &bet);

        // Each leg: its odds (hundredths), when it settles and whether it won.
        let mut odds = Vec::with_capacity(legs.len());
        let mut lost_at: Option<i64> = None;
        let mut void = false;
        let mut settles = at;
        for event in &legs {
            let market = &event.sport.markets[sim.rng.usize(..event.sport.markets.len())];
            let ratio = sim.rng.i64(market.odds.0..=market.odds.1);
            let status = if event.cancelled {
                void = true;
                "void"
            } else if market.pick.wins(event.score.0, event.score.1) {
                "won"
            } else {
                lost_at = Some(lost_at.map_or(event.settled, |l| l.min(event.settled)));
                "lost"
            };
            settles = settles.max(event.settled);
            odds.push(ratio);
            let selection = json!({
                "id": sim.ids.next(),
                "bet_id": bet_id,
                "event_id": event.id,
                "ratio": cents_text(ratio),
                "status": "open",
                "market": format!("{}: {}", market.name, pick_label(market.pick, event)),
                "created_at": time(at),
            });
            sim.timeline.upsert(at, "bet_selections", &selection);
            sim.timeline.upsert(
                event.settled,
                "bet_selections",
                &with(&selection, json!({"status": status})),
            );
        }

        // A cash-out offer is taken during the first match, before any leg has lost.
        let first = legs.iter().map(|e| e.kickoff).min().expect("a leg");
        let cash_out = first + sim.rng.i64(10 * MINUTE..60 * MINUTE);
        let (status, settled, payout) = if sim.rng.u32(..12) == 0
            && cash_out < lost_at.unwrap_or(settles)
            && !legs.iter().any(|e| e.cancelled && e.settled <= cash_out)
        {
            ("cashout", cash_out, stake * sim.rng.i64(30..140) / 100)
        } else if let Some(lost) = lost_at {
            ("lost", lost, 0)
        } else if void {
            ("void", settles, stake)
        } else {
            ("won", settles, payout(stake, &odds))
        };
        sim.timeline.upsert(
            settled,
            "bets",
            &with(
                &bet,
                json!({"status": status, "win_amount": cents_text(payout)}),
            ),
        );
        Some(Placed {
            payout: (payout > 0 && settled < sim.timeline.end).then_some((settled, payout)),
        })
    }
}

/// `stake` (cents) times every ratio (hundredths), rounded half up to the cent.
pub fn payout(stake: i64, odds: &[i64]) -> i64 {
    let mut value = i128::from(stake);
    let mut scale = 1i128;
    for ratio in odds {
        value *= i128::from(*ratio);
        scale *= 100;
    }
    i64::try_from((value + scale / 2) / scale).expect("a payout fits")
}

fn pick_label(pick: Pick, event: &Event) -> String {
    match pick {
        Pick::Home => event.home.to_string(),
        Pick::Away => event.away.to_string(),
        Pick::Draw => "Draw".to_string(),
        Pick::Over(line) => format!("Over {}.{}", line / 10, line % 10),
        Pick::Under(line) => format!("Under {}.{}", line / 10, line % 10),
        Pick::BothScore => "Yes".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::payout;

    #[test]
    fn a_payout_is_the_stake_times_the_odds_rounded_half_up_to_the_cent() {
        assert_eq!(payout(1000, &[185]), 1850);
        assert_eq!(payout(1000, &[185, 210]), 3885);
        // 3.33 × 1.5 = 4.995 → 5.00
        assert_eq!(payout(333, &[150]), 500);
        // 0.01 × 1.49 = 0.0149 → 0.01
        assert_eq!(payout(1, &[149]), 1);
    }
}
