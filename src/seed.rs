//! Deterministic synthetic data for every dataset, written through the real
//! write path.
//!
//! The seed simulates `days` of activity ending at `until`: players register,
//! log in, deposit (a transaction created `New` and updated to `Success`
//! minutes later), play game sessions whose actions span several minutes and
//! often cross an hour, and bet on real events that later settle. The write
//! clock walks through the simulated time, so every row is stamped when it
//! "happened" and windows over the past days hold realistic data. The same
//! options always produce the same rows.

use crate::clock::ManualClock;
use crate::datasets::{
    bet_selections::BetSelection, bets::Bet, contacts::Contact, events::Event,
    game_actions::GameAction, logins::Login, tournaments::Tournament, transactions::Transaction,
    users::User, wallets::Wallet, Dataset, Push,
};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ingest::write_batch;
use crate::money::Money;
use crate::timestamp::Timestamp;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub players: u32,
    pub days: u32,
    /// The end of the simulated period (usually now).
    pub until: Timestamp,
    /// Seed of the random generator.
    pub seed: u64,
}

/// How many rows the seed wrote (every version of a row counts) and in how
/// many write batches.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedSummary {
    pub rows: usize,
    pub batches: usize,
}

/// One simulated write.
enum Row {
    User(User),
    Contact(Contact),
    Transaction(Transaction),
    Login(Login),
    Wallet(Wallet),
    Action(GameAction),
    Tournament(Tournament),
    Event(Event),
    Bet(Bet),
    Selection(BetSelection),
}

/// Writes the simulated period. Rows are generated first (a few hundred
/// bytes each: this is a seed, not an export), sorted by time, and written
/// one minute at a time, each minute's rows of a dataset in one batch.
pub fn seed(conn: &mut DbConnection, options: SeedOptions) -> Result<SeedSummary, ApiError> {
    let mut rows = generate(options);
    rows.sort_by_key(|(at, _)| *at);
    let clock = ManualClock::new(options.until);
    let mut summary = SeedSummary::default();
    let mut pending = Pending::default();
    let mut minute = None;
    for (at, row) in rows {
        let this_minute = at.as_micros().div_euclid(MINUTE);
        if minute != Some(this_minute) {
            summary = pending.flush(conn, &clock, summary)?;
            minute = Some(this_minute);
            clock.set(at);
        }
        pending.push(row);
    }
    pending.flush(conn, &clock, summary)
}

#[derive(Default)]
struct Pending {
    users: Vec<User>,
    contacts: Vec<Contact>,
    transactions: Vec<Transaction>,
    logins: Vec<Login>,
    wallets: Vec<Wallet>,
    actions: Vec<GameAction>,
    tournaments: Vec<Tournament>,
    events: Vec<Event>,
    bets: Vec<Bet>,
    selections: Vec<BetSelection>,
}

impl Pending {
    fn push(&mut self, row: Row) {
        match row {
            Row::User(r) => self.users.push(r),
            Row::Contact(r) => self.contacts.push(r),
            Row::Transaction(r) => self.transactions.push(r),
            Row::Login(r) => self.logins.push(r),
            Row::Wallet(r) => self.wallets.push(r),
            Row::Action(r) => self.actions.push(r),
            Row::Tournament(r) => self.tournaments.push(r),
            Row::Event(r) => self.events.push(r),
            Row::Bet(r) => self.bets.push(r),
            Row::Selection(r) => self.selections.push(r),
        }
    }

    fn flush(
        &mut self,
        conn: &mut DbConnection,
        clock: &ManualClock,
        mut summary: SeedSummary,
    ) -> Result<SeedSummary, ApiError> {
        fn write<T: Push>(
            conn: &mut DbConnection,
            clock: &ManualClock,
            dataset: Dataset,
            rows: &mut Vec<T>,
            summary: &mut SeedSummary,
        ) -> Result<(), ApiError> {
            if !rows.is_empty() {
                summary.rows += write_batch(conn, clock, dataset, std::mem::take(rows))?.rows;
                summary.batches += 1;
            }
            Ok(())
        }
        // Parents before children, so a puller of one minute sees a bet's
        // event no later than the bet.
        write(
            conn,
            clock,
            Dataset::Tournaments,
            &mut self.tournaments,
            &mut summary,
        )?;
        write(conn, clock, Dataset::Events, &mut self.events, &mut summary)?;
        write(conn, clock, Dataset::Users, &mut self.users, &mut summary)?;
        write(
            conn,
            clock,
            Dataset::Contacts,
            &mut self.contacts,
            &mut summary,
        )?;
        write(
            conn,
            clock,
            Dataset::Wallets,
            &mut self.wallets,
            &mut summary,
        )?;
        write(conn, clock, Dataset::Logins, &mut self.logins, &mut summary)?;
        write(
            conn,
            clock,
            Dataset::Transactions,
            &mut self.transactions,
            &mut summary,
        )?;
        write(
            conn,
            clock,
            Dataset::GameActions,
            &mut self.actions,
            &mut summary,
        )?;
        write(conn, clock, Dataset::Bets, &mut self.bets, &mut summary)?;
        write(
            conn,
            clock,
            Dataset::BetSelections,
            &mut self.selections,
            &mut summary,
        )?;
        Ok(summary)
    }
}

const COUNTRIES: &[(&str, &str, &str)] = &[
    ("DE", "Berlin", "de_DE"),
    ("FI", "Helsinki", "fi_FI"),
    ("BR", "São Paulo", "pt_BR"),
    ("CA", "Toronto", "en_CA"),
    ("NZ", "Auckland", "en_NZ"),
];
const GAMES: &[(&str, &str, &str)] = &[
    ("starburst", "Starburst", "NetEnt"),
    ("book-of-dead", "Book of Dead", "Play'n GO"),
    ("sweet-bonanza", "Sweet Bonanza", "Pragmatic Play"),
    ("lightning-roulette", "Lightning Roulette", "Evolution"),
];
const SPORTS: &[(&str, &str)] = &[("1", "Football"), ("2", "Tennis"), ("3", "Ice Hockey")];
const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36";

fn cents(amount: i64) -> Money {
    Money::from_micros(amount * 10_000)
}

fn generate(options: SeedOptions) -> Vec<(Timestamp, Row)> {
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let end = options.until.as_micros();
    let start = end - i64::from(options.days.max(1)) * DAY;
    let at = |micros: i64| Timestamp::from_micros(micros.min(end - 1));
    let mut rows = Vec::new();

    // The sportsbook: tournaments and their events across the period.
    let mut events = Vec::new();
    for t in 0..(8 + options.days as i64 * 2) {
        let (sport_id, sport_name) = SPORTS[rng.usize(..SPORTS.len())];
        let opens = start + rng.i64(0..(end - start) / 2);
        let tournament = Tournament {
            id: t + 1,
            name: format!("{sport_name} Cup {}", t + 1),
            sport_id: Some(sport_id.into()),
            sport_name: Some(sport_name.into()),
            country_code: Some(COUNTRIES[rng.usize(..COUNTRIES.len())].0.into()),
            date_start: Timestamp::from_micros(opens),
            date_end: Some(Timestamp::from_micros(opens + 14 * DAY)),
            modified_at: Timestamp::from_micros(0),
        };
        rows.push((at(opens), Row::Tournament(tournament)));
        for e in 0..10 {
            let id = t * 100 + e + 1;
            let kickoff = opens + rng.i64(HOUR..(end - opens).max(2 * HOUR));
            let event = Event {
                id,
                tournament_id: t + 1,
                title: format!("Team {} v Team {}", rng.u32(1..40), rng.u32(40..80)),
                status: "scheduled".into(),
                start_time: Timestamp::from_micros(kickoff),
                end_time: Some(Timestamp::from_micros(kickoff + 2 * HOUR)),
                type_: "match".into(),
                modified_at: Timestamp::from_micros(0),
            };
            rows.push((at(opens), Row::Event(event.clone())));
            rows.push((
                at(kickoff + 2 * HOUR),
                Row::Event(Event {
                    status: "finished".into(),
                    ..event.clone()
                }),
            ));
            events.push(event);
        }
    }

    let mut next_id = 1i64;
    let mut fresh_id = || {
        next_id += 1;
        next_id
    };
    for p in 0..i64::from(options.players) {
        let player_id = p + 1;
        let registered = start + rng.i64(0..(end - start) * 3 / 4);
        let (country, city, locale) = COUNTRIES[rng.usize(..COUNTRIES.len())];
        let user = User {
            id: player_id,
            first_name: Some(format!("Player{player_id}")),
            last_name: Some(
                ["Smith", "Virtanen", "Silva", "Müller", "O'Brien"][rng.usize(..5)].into(),
            ),
            gender: Some(["m", "f"][rng.usize(..2)].into()),
            country: Some(country.into()),
            city: Some(city.into()),
            ip: Some(format!(
                "10.{}.{}.{}",
                rng.u8(..),
                rng.u8(..),
                rng.u8(1..255)
            )),
            birthday: Some(format!(
                "{}-{:02}-{:02}",
                rng.i32(1950..2004),
                rng.u32(1..13),
                rng.u32(1..29)
            )),
            registered_at: Timestamp::from_micros(registered),
            ref_code: Some(format!("ref{}", rng.u32(100..120))),
            traffic_source: Some(["google", "affiliate", "direct"][rng.usize(..3)].into()),
            user_agent: Some(AGENT.into()),
            modified_at: Timestamp::from_micros(0),
            is_blocked: Some(false),
            self_excluded: Some(false),
            locale: Some(locale.into()),
        };
        rows.push((at(registered), Row::User(user.clone())));
        let contact = Contact {
            player_id,
            email: Some(format!("player{player_id}@example.com")),
            email_confirmed_at: None,
            email_subscribe: Some(rng.bool()),
            phone: Some(format!("+3585{:08}", rng.u32(..100_000_000))),
            phone_subscribe: Some(rng.bool()),
            phone_confirmed_at: None,
            push_token: None,
            created_at: Timestamp::from_micros(registered),
            modified_at: Timestamp::from_micros(0),
        };
        rows.push((at(registered), Row::Contact(contact.clone())));
        let confirmed = registered + rng.i64(MINUTE..HOUR);
        rows.push((
            at(confirmed),
            Row::Contact(Contact {
                email_confirmed_at: Some(Timestamp::from_micros(confirmed)),
                ..contact
            }),
        ));
        if rng.u32(..50) == 0 {
            let blocked = registered + rng.i64(HOUR..DAY);
            rows.push((
                at(blocked),
                Row::User(User {
                    is_blocked: Some(true),
                    ..user.clone()
                }),
            ));
        }

        let currency = if country == "BR" { "BRL" } else { "EUR" };
        let mut wallet = Wallet {
            id: player_id,
            player_id,
            type_: "Normal".into(),
            balance: Money::ZERO,
            currency: currency.into(),
            created_at: Timestamp::from_micros(registered),
            modified_at: Timestamp::from_micros(0),
        };
        rows.push((at(registered), Row::Wallet(wallet.clone())));

        // Visits: a login, then perhaps a deposit, a game session, a bet.
        let mut visit = registered + rng.i64(0..HOUR);
        while visit < end {
            let success = rng.u32(..10) > 0;
            rows.push((
                at(visit),
                Row::Login(Login {
                    id: fresh_id(),
                    player_id,
                    ip: user.ip.clone(),
                    created_at: Timestamp::from_micros(visit),
                    ref_code: user.ref_code.clone(),
                    traffic_source: user.traffic_source.clone(),
                    user_agent: Some(AGENT.into()),
                    host: Some("casino.example.com".into()),
                    is_success: Some(success),
                    fail_reason: (!success).then(|| "wrong password".into()),
                    modified_at: Timestamp::from_micros(0),
                }),
            ));
            let mut now = visit + rng.i64(10_000_000..MINUTE);
            if success && (wallet.balance < cents(500) || rng.u32(..4) == 0) {
                let amount = cents(rng.i64(10..50) * 500);
                let deposit = Transaction {
                    id: fresh_id(),
                    player_id,
                    amount,
                    currency: currency.into(),
                    type_: Some("Normal".into()),
                    status: Some("New".into()),
                    payment_system: Some(["Visa", "Skrill", "Trustly"][rng.usize(..3)].into()),
                    dir: "IN".into(),
                    created_at: Timestamp::from_micros(now),
                    updated_at: Timestamp::from_micros(0),
                    invoice_id: Some(format!("inv-{player_id}-{now}")),
                    wallet_id: Some(wallet.id),
                    user_agent: Some(AGENT.into()),
                    ip: user.ip.clone(),
                    requisite: Some(format!("4111 **** **** {:04}", rng.u32(..10_000))),
                    comment: None,
                };
                rows.push((at(now), Row::Transaction(deposit.clone())));
                now += rng.i64(30_000_000..5 * MINUTE);
                rows.push((
                    at(now),
                    Row::Transaction(Transaction {
                        status: Some("Success".into()),
                        ..deposit
                    }),
                ));
                wallet.balance =
                    Money::from_micros(wallet.balance.as_micros() + amount.as_micros());
                rows.push((at(now), Row::Wallet(wallet.clone())));
            }
            if success && wallet.balance > Money::ZERO && rng.u32(..3) < 2 {
                // A game session: bets and wins over minutes, often across an hour.
                let (code, name, vendor) = GAMES[rng.usize(..GAMES.len())];
                let session_id = format!("s{}", fresh_id());
                for _ in 0..rng.u32(2..30) {
                    now += rng.i64(5_000_000..3 * MINUTE);
                    let bet = cents(rng.i64(1..20) * 10);
                    for (action, amount) in [("bet", bet), ("win", cents(rng.i64(0..40) * 10))] {
                        if action == "win" && (amount == Money::ZERO || rng.bool()) {
                            continue;
                        }
                        wallet.balance = Money::from_micros(match action {
                            "bet" => wallet.balance.as_micros() - amount.as_micros(),
                            _ => wallet.balance.as_micros() + amount.as_micros(),
                        });
                        rows.push((
                            at(now),
                            Row::Action(GameAction {
                                id: format!("a{}", fresh_id()),
                                session_id: session_id.clone(),
                                player_id,
                                game_code: Some(code.into()),
                                game_name: name.into(),
                                game_vendor: Some(vendor.into()),
                                currency: currency.into(),
                                balance_type: Some("Normal".into()),
                                action: action.into(),
                                amount,
                                ip: user.ip.clone(),
                                user_agent: Some(AGENT.into()),
                                ref_code: user.ref_code.clone(),
                                created_at: Timestamp::from_micros(now),
                                modified_at: Timestamp::from_micros(0),
                            }),
                        ));
                    }
                }
                rows.push((at(now), Row::Wallet(wallet.clone())));
            }
            let open_events: Vec<&Event> = events
                .iter()
                .filter(|e| e.start_time.as_micros() > now)
                .take(3)
                .collect();
            if success && !open_events.is_empty() && rng.u32(..3) == 0 {
                let stake = cents(rng.i64(1..10) * 100);
                let bet = Bet {
                    id: fresh_id(),
                    player_id,
                    status: Some("open".into()),
                    type_: if open_events.len() > 1 {
                        "express".into()
                    } else {
                        "single".into()
                    },
                    stake: Some(stake),
                    win_amount: None,
                    currency: Some(currency.into()),
                    kind: Some("Normal".into()),
                    created_at: Timestamp::from_micros(now),
                    user_agent: Some(AGENT.into()),
                    modified_at: Timestamp::from_micros(0),
                };
                rows.push((at(now), Row::Bet(bet.clone())));
                let mut settles = now;
                for event in &open_events {
                    let selection = BetSelection {
                        id: fresh_id(),
                        bet_id: bet.id,
                        event_id: event.id,
                        ratio: Some(Money::from_micros(rng.i64(110..400) * 10_000)),
                        status: Some("open".into()),
                        market: ["1X2", "Total over 2.5", "Handicap -1"][rng.usize(..3)].into(),
                        created_at: Timestamp::from_micros(now),
                        updated_at: Timestamp::from_micros(0),
                    };
                    rows.push((at(now), Row::Selection(selection.clone())));
                    let finished = event.start_time.as_micros() + 2 * HOUR;
                    settles = settles.max(finished);
                    let won = rng.bool();
                    rows.push((
                        at(finished),
                        Row::Selection(BetSelection {
                            status: Some(if won { "won" } else { "lost" }.into()),
                            ..selection
                        }),
                    ));
                }
                let won = rng.u32(..3) == 0;
                rows.push((
                    at(settles),
                    Row::Bet(Bet {
                        status: Some(if won { "won" } else { "lost" }.into()),
                        win_amount: Some(if won {
                            Money::from_micros(stake.as_micros() * 3)
                        } else {
                            Money::ZERO
                        }),
                        ..bet
                    }),
                ));
            }
            visit = now + rng.i64(2 * HOUR..30 * HOUR);
        }
    }
    rows
}
