//! The players' lives: registration, visits (a login, then perhaps a
//! deposit, a game session, a few bets, a withdrawal), and what the
//! platform does about them.
//!
//! Half the players registered before the period and arrive with the
//! platform's initial load at its start; the others register during it.
//! Each visit is simulated in time order, and the player's wallets follow
//! every change: a deposit credits the wallet when it succeeds, a
//! withdrawal holds its amount when requested and returns it if it fails,
//! bets take their stake when placed and pay out when they settle. A wallet
//! row is written whenever its balance changes, at most once per hour of a
//! game session (and at its end).

use super::sportsbook::Sportsbook;
use super::world::{
    Country, Device, PaymentSystem, Requisite, BANK_TRANSFER_NZ, COUNTRIES, DEVICES, GAMES, TRAFFIC,
};
use super::{cents_text, time, with, Sim, Timeline, DAY, HOUR, MINUTE, SECOND};
use serde_json::{json, Value};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The first player's id (the docs' examples use them); ids count up from here.
const FIRST_PLAYER: u32 = 10_001;

/// One of a player's wallets and its balance in cents.
struct Wallet {
    row: Value,
    balance: i64,
}

impl Wallet {
    fn write(&self, timeline: &mut Timeline, at: i64) {
        let row = with(&self.row, json!({"balance": cents_text(self.balance)}));
        timeline.upsert(at, "wallets", &row);
    }
}

struct Player<'a> {
    id: String,
    country: &'static Country,
    /// When the player first shows up in the period.
    arrives: i64,
    /// The player's devices, each with the address it connects from.
    devices: Vec<(&'static Device, String)>,
    user: Value,
    contact: Value,
    payment: &'static PaymentSystem,
    requisite: String,
    normal: Wallet,
    prize: Option<Wallet>,
    /// Money the player is owed later, by when: bet payouts, failed
    /// withdrawals, bank payments that confirm hours later.
    owed: BinaryHeap<Reverse<(i64, i64)>>,
    plays_casino: bool,
    bets_on_sports: bool,
    /// The usual time between visits.
    gap: i64,
    /// When the operator blocked the account: logins fail from then on.
    blocked_at: Option<i64>,
    book: &'a Sportsbook,
}

/// Simulates `count` players over the timeline's period.
pub fn simulate(sim: &mut Sim, book: &Sportsbook, count: u32) {
    for n in 0..count {
        let mut player = Player::register(sim, book, FIRST_PLAYER + n);
        player.live(sim);
    }
}

fn pick<'t, T>(rng: &mut fastrand::Rng, items: &'t [T]) -> &'t T {
    &items[rng.usize(..items.len())]
}

fn digits(rng: &mut fastrand::Rng, n: u32) -> String {
    (0..n).map(|_| char::from(b'0' + rng.u8(..10))).collect()
}

fn choose_country(rng: &mut fastrand::Rng) -> &'static Country {
    let total: u32 = COUNTRIES.iter().map(|c| c.weight).sum();
    let mut roll = rng.u32(..total);
    for country in COUNTRIES {
        if roll < country.weight {
            return country;
        }
        roll -= country.weight;
    }
    unreachable!("the weights add up")
}

/// Lowercase ASCII for an email address: `Müller` → `muller`.
fn ascii(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' => Some(c.to_ascii_lowercase()),
            'ä' | 'á' | 'ã' | 'à' => Some('a'),
            'é' | 'è' | 'ê' => Some('e'),
            'í' => Some('i'),
            'ö' | 'ó' | 'ô' => Some('o'),
            'ü' | 'ú' => Some('u'),
            'ç' => Some('c'),
            _ => None,
        })
        .collect()
}

/// The payer's account as `kind` writes it, for a player of `country`.
fn requisite(
    rng: &mut fastrand::Rng,
    kind: Requisite,
    country: &Country,
    email: &str,
    phone: &str,
) -> String {
    match kind {
        Requisite::Card(brand) => format!("{brand}{}******{}", digits(rng, 5), digits(rng, 4)),
        Requisite::Email => email.to_string(),
        Requisite::Phone => phone.to_string(),
        Requisite::Iban => format!(
            "{}{} **** **** **** {}",
            country.code,
            digits(rng, 2),
            digits(rng, 4)
        ),
        Requisite::Cpf => format!("***.{}.{}-**", digits(rng, 3), digits(rng, 3)),
        Requisite::NzAccount => format!(
            "{}-{}-*******-{}",
            digits(rng, 2),
            digits(rng, 4),
            digits(rng, 2)
        ),
    }
}

impl<'a> Player<'a> {
    fn register(sim: &mut Sim, book: &'a Sportsbook, number: u32) -> Self {
        let (start, end) = (sim.timeline.start, sim.timeline.end);
        let id = number.to_string();
        let country = choose_country(&mut sim.rng);
        // Player one is a regular who registered long ago: the docs' examples use them.
        let existing = number == FIRST_PLAYER || sim.rng.bool();
        let registered = if existing {
            start - sim.rng.i64(DAY..700 * DAY)
        } else {
            start + sim.rng.i64(0..end - start)
        };
        let written = registered.max(start);
        let female = sim.rng.bool();
        let first = *pick(
            &mut sim.rng,
            if female { country.female } else { country.male },
        );
        let last = *pick(&mut sim.rng, country.last);
        let email = format!(
            "{}.{}{}@{}",
            ascii(first),
            ascii(last),
            sim.rng.u32(1..100),
            pick(&mut sim.rng, &["example.com", "example.net", "example.org"])
        );
        let phone = format!(
            "{}{}",
            pick(&mut sim.rng, country.phone_prefixes),
            digits(&mut sim.rng, country.phone_digits)
        );
        let city = *pick(&mut sim.rng, country.cities);
        let locale = if country.second_locale_cities.contains(&city) {
            country.locales[1]
        } else {
            country.locales[0]
        };
        let devices: Vec<_> = (0..sim.rng.usize(1..4))
            .map(|_| {
                let ip = format!(
                    "{}.{}.{}.{}",
                    pick(&mut sim.rng, country.ip_octets),
                    sim.rng.u8(..),
                    sim.rng.u8(..),
                    sim.rng.u8(1..255)
                );
                (pick(&mut sim.rng, DEVICES), ip)
            })
            .collect();
        let (source, ref_kind) = *pick(&mut sim.rng, TRAFFIC);
        let ref_code = ref_kind.map(|kind| format!("{kind}-{}", digits(&mut sim.rng, 5)));
        let age = sim.rng.i64(18 * 365..70 * 365) * DAY;
        let born = super::date(registered - age);
        let user = json!({
            "id": id,
            "first_name": first,
            "last_name": last,
            "gender": if female { "f" } else { "m" },
            "country": country.code,
            "city": city,
            "ip": devices[0].1,
            "birthday": born,
            "registered_at": time(registered),
            "ref_code": ref_code,
            "traffic_source": source,
            "user_agent": devices[0].0.user_agent,
            "is_blocked": false,
            "self_excluded": false,
            "locale": locale,
        });
        sim.timeline.upsert(written, "users", &user);

        let mut contact = json!({
            "player_id": id,
            "email": email,
            "email_subscribe": sim.rng.u32(..10) < 7,
            "phone": phone,
            "phone_subscribe": sim.rng.u32(..10) < 4,
            "created_at": time(registered),
        });
        // Players confirm their email (most of them) minutes after they
        // register; a new one does so before playing.
        let confirmed = registered + sim.rng.i64(MINUTE..10 * MINUTE);
        let mut arrives = written;
        if existing {
            contact["email_confirmed_at"] = json!(time(confirmed));
            let phone_confirmed = confirmed + sim.rng.i64(HOUR..30 * DAY);
            if sim.rng.bool() && phone_confirmed < start {
                contact["phone_confirmed_at"] = json!(time(phone_confirmed));
            }
        }
        sim.timeline.upsert(written, "contacts", &contact);
        if !existing && sim.rng.u32(..10) < 8 {
            contact["email_confirmed_at"] = json!(time(confirmed));
            sim.timeline.upsert(confirmed, "contacts", &contact);
            arrives = confirmed;
        }

        let payment = *pick(&mut sim.rng, country.payments);
        let requisite = requisite(&mut sim.rng, payment.requisite, country, &email, &phone);
        let balance = if existing {
            sim.rng.i64(0..200) * 100 * country.money_factor
        } else {
            0
        };
        let normal = Wallet {
            row: json!({
                "id": sim.ids.next(),
                "player_id": id,
                "type": "Normal",
                "currency": country.currency,
                "created_at": time(registered),
            }),
            balance,
        };
        normal.write(&mut sim.timeline, written);
        let heavy = number == FIRST_PLAYER;
        Player {
            id,
            country,
            arrives,
            devices,
            user,
            contact,
            payment,
            requisite,
            normal,
            prize: None,
            owed: BinaryHeap::new(),
            plays_casino: heavy || sim.rng.u32(..10) < 8,
            bets_on_sports: heavy || sim.rng.u32(..10) < 6,
            gap: if heavy {
                2 * HOUR
            } else {
                sim.rng.i64(3 * HOUR..30 * HOUR)
            },
            blocked_at: None,
            book,
        }
    }

    /// Visits until the period ends, or the player excludes themselves.
    fn live(&mut self, sim: &mut Sim) {
        let mut at = if self.arrives > sim.timeline.start {
            self.arrives + sim.rng.i64(MINUTE..10 * MINUTE)
        } else {
            sim.timeline.start + sim.rng.i64(0..self.gap)
        };
        let mut failed_blocked = 0;
        while at < sim.timeline.end {
            self.collect(&mut sim.timeline, at);
            let device = sim.rng.usize(..self.devices.len());
            let Some(now) = self.log_in(sim, at, device) else {
                if self.blocked_at.is_some_and(|b| b <= at) {
                    failed_blocked += 1;
                    if failed_blocked == 2 {
                        return;
                    }
                }
                at += self.until_next_visit(&mut sim.rng);
                continue;
            };
            let mut now = now + sim.rng.i64(10 * SECOND..2 * MINUTE);
            match sim.rng.u32(..1000) {
                0..=3 => return self.exclude_themselves(&mut sim.timeline, now),
                4..=5 => {
                    // The operator blocks the account, which ends the visit.
                    let blocked = now + sim.rng.i64(MINUTE..10 * MINUTE);
                    self.blocked_at = Some(blocked);
                    self.user["is_blocked"] = json!(true);
                    sim.timeline.upsert(blocked, "users", &self.user);
                    at = blocked + self.until_next_visit(&mut sim.rng);
                    continue;
                }
                6..=25 => {
                    self.contact["email_subscribe"] =
                        json!(!self.contact["email_subscribe"].as_bool().unwrap_or(false));
                    sim.timeline.upsert(now, "contacts", &self.contact);
                }
                _ => {}
            }
            let low = 1000 * self.country.money_factor;
            if self.normal.balance < low || sim.rng.u32(..5) == 0 {
                now = self.deposit(sim, now, device);
            }
            if sim.rng.u32(..25) == 0 {
                self.bonus(sim, now);
            }
            if self.bets_on_sports && sim.rng.u32(..10) < 8 {
                for _ in 0..sim.rng.u32(1..4) {
                    now += sim.rng.i64(20 * SECOND..3 * MINUTE);
                    self.bet(sim, now, device);
                }
            }
            if self.plays_casino && sim.rng.u32(..10) < 6 {
                now = self.play(sim, now, device);
            }
            if self.normal.balance > 30_000 * self.country.money_factor && sim.rng.u32(..3) == 0 {
                self.withdraw(sim, now + MINUTE, device);
            }
            at = now + self.until_next_visit(&mut sim.rng);
        }
        let end = sim.timeline.end;
        self.collect(&mut sim.timeline, end);
    }

    /// How long until the player comes back: around their usual gap.
    fn until_next_visit(&self, rng: &mut fastrand::Rng) -> i64 {
        rng.i64(self.gap / 2..self.gap * 3 / 2)
    }

    /// Credits what the player is owed by `at`, each at its own time.
    fn collect(&mut self, timeline: &mut Timeline, at: i64) {
        while let Some(&Reverse((due, cents))) = self.owed.peek() {
            if due >= at {
                break;
            }
            self.owed.pop();
            self.normal.balance += cents;
            self.normal.write(timeline, due);
        }
    }

    /// A login, retried once after a failure; the time it succeeded.
    fn log_in(&mut self, sim: &mut Sim, at: i64, device: usize) -> Option<i64> {
        let (kit, ip) = &self.devices[device];
        let mut login = json!({
            "player_id": self.id,
            "ip": ip,
            "ref_code": self.user["ref_code"],
            "traffic_source": self.user["traffic_source"],
            "user_agent": kit.user_agent,
            "host": pick(&mut sim.rng, kit.hosts),
        });
        let blocked = self.blocked_at.is_some_and(|b| b <= at);
        let mut attempt = at;
        for _ in 0..2 {
            let reason = if blocked {
                Some("account blocked")
            } else if sim.rng.u32(..100) < 7 {
                Some(*pick(
                    &mut sim.rng,
                    &[
                        "wrong password",
                        "wrong password",
                        "too many attempts",
                        "captcha failed",
                    ],
                ))
            } else {
                None
            };
            login["id"] = json!(sim.ids.next());
            login["created_at"] = json!(time(attempt));
            login["is_success"] = json!(u8::from(reason.is_none()));
            login["fail_reason"] = json!(reason);
            sim.timeline.upsert(attempt, "logins", &login);
            if reason.is_none() {
                if self.user["ip"] != json!(ip) || self.user["user_agent"] != json!(kit.user_agent)
                {
                    self.user["ip"] = json!(ip);
                    self.user["user_agent"] = json!(kit.user_agent);
                    sim.timeline.upsert(attempt, "users", &self.user);
                }
                if kit.hosts[0].starts_with("api.") && self.contact["push_token"].is_null() {
                    self.contact["push_token"] = json!(format!("fcm:{:016x}", sim.rng.u64(..)));
                    sim.timeline.upsert(attempt, "contacts", &self.contact);
                }
                return Some(attempt);
            }
            if blocked {
                return None;
            }
            attempt += sim.rng.i64(20 * SECOND..3 * MINUTE);
        }
        None
    }

    fn exclude_themselves(&mut self, timeline: &mut Timeline, at: i64) {
        self.user["self_excluded"] = json!(true);
        timeline.upsert(at, "users", &self.user);
        self.contact["email_subscribe"] = json!(false);
        self.contact["phone_subscribe"] = json!(false);
        timeline.upsert(at, "contacts", &self.contact);
    }

    /// A transaction row of this player, with `changes`.
    fn transaction(&self, id: String, at: i64, device: usize, changes: Value) -> Value {
        with(
            &json!({
                "id": id,
                "player_id": self.id,
                "currency": self.country.currency,
                "type": "Normal",
                "status": "New",
                "created_at": time(at),
                "wallet_id": self.normal.row["id"],
                "user_agent": self.devices[device].0.user_agent,
                "ip": self.devices[device].1,
            }),
            changes,
        )
    }

    /// A new (`New`) deposit or withdrawal through `system`.
    #[allow(clippy::too_many_arguments)]
    fn payment_row(
        &self,
        sim: &mut Sim,
        at: i64,
        device: usize,
        dir: &str,
        amount: i64,
        system: &PaymentSystem,
        requisite: &str,
    ) -> Value {
        let invoice = format!("{}{}", system.invoice, digits(&mut sim.rng, 10));
        self.transaction(
            sim.ids.next(),
            at,
            device,
            json!({
                "amount": cents_text(amount),
                "payment_system": system.name,
                "dir": dir,
                "invoice_id": invoice,
                "requisite": requisite,
            }),
        )
    }

    /// A deposit: `New`, then (through banks and e-wallets) `Process`, then
    /// `Success` or `Fail` minutes later; some bank payments confirm hours
    /// later, and some bank transfers stay `New` until the player makes
    /// them, up to two days later. An abandoned one stays `New` and is
    /// deleted half an hour later, when its payment page expires. Returns
    /// when the player moves on.
    fn deposit(&mut self, sim: &mut Sim, at: i64, device: usize) -> i64 {
        let amount = pick(&mut sim.rng, &[10, 20, 20, 25, 50, 50, 100, 200, 500])
            * 100
            * self.country.money_factor;
        let mut row =
            self.payment_row(sim, at, device, "IN", amount, self.payment, &self.requisite);
        sim.timeline.upsert(at, "transactions", &row);
        let mut now = at + sim.rng.i64(10 * SECOND..MINUTE);
        if sim.rng.u32(..100) < 15 {
            sim.timeline.delete(
                at + 30 * MINUTE,
                "transactions",
                row["id"].as_str().expect("an id"),
            );
            return now;
        }
        let through_a_bank = matches!(
            self.payment.requisite,
            Requisite::Iban | Requisite::Cpf | Requisite::NzAccount
        );
        if through_a_bank && sim.rng.u32(..100) < 20 {
            // A transfer the player completes in their bank later: `New`
            // until then, up to two days.
            let paid = at + sim.rng.i64(HOUR..48 * HOUR);
            row["status"] = json!("Success");
            sim.timeline.upsert(paid, "transactions", &row);
            self.owed.push(Reverse((paid, amount)));
            return now;
        }
        if through_a_bank || self.payment.requisite == Requisite::Email {
            row["status"] = json!("Process");
            sim.timeline.upsert(now, "transactions", &row);
            if sim.rng.u32(..100) < 25 {
                // The bank confirms hours later; the player plays on meanwhile.
                let confirmed = now + sim.rng.i64(HOUR..8 * HOUR);
                row["status"] = json!("Success");
                sim.timeline.upsert(confirmed, "transactions", &row);
                self.owed.push(Reverse((confirmed, amount)));
                return now;
            }
        }
        now += sim.rng.i64(20 * SECOND..4 * MINUTE);
        if sim.rng.u32(..100) < 7 {
            row["status"] = json!("Fail");
            row["comment"] = json!(pick(
                &mut sim.rng,
                &[
                    "declined by issuer",
                    "insufficient funds",
                    "3-D Secure failed",
                    "limit exceeded"
                ]
            ));
            sim.timeline.upsert(now, "transactions", &row);
            return now;
        }
        row["status"] = json!("Success");
        sim.timeline.upsert(now, "transactions", &row);
        if now < sim.timeline.end {
            self.collect(&mut sim.timeline, now);
            self.normal.balance += amount;
            self.normal.write(&mut sim.timeline, now);
        }
        now
    }

    /// A bonus credited by the operator: cash back, a compensation, or a
    /// prize into the bonus wallet.
    fn bonus(&mut self, sim: &mut Sim, at: i64) {
        let (kind, comment) = *pick(
            &mut sim.rng,
            &[
                ("Prize", "free spins bonus"),
                ("Prize", "weekend tournament prize"),
                ("Cash back", "weekly cash back 10%"),
                ("Compensation", "goodwill: game outage"),
            ],
        );
        let amount = sim.rng.i64(5..50) * 100 * self.country.money_factor;
        self.collect(&mut sim.timeline, at);
        let row = self.transaction(sim.ids.next(), at, 0, json!({}));
        let wallet = if kind == "Prize" {
            let normal = &self.normal.row;
            self.prize.get_or_insert_with(|| Wallet {
                row: with(
                    normal,
                    json!({"id": sim.ids.next(), "type": "Prize", "created_at": time(at)}),
                ),
                balance: 0,
            })
        } else {
            &mut self.normal
        };
        wallet.balance += amount;
        let row = with(
            &row,
            json!({
                "amount": cents_text(amount),
                "type": kind,
                "status": "Success",
                "payment_system": "Bonus",
                "dir": "IN",
                "wallet_id": wallet.row["id"],
                "comment": comment,
                "user_agent": null,
                "ip": null,
            }),
        );
        sim.timeline.upsert(at, "transactions", &row);
        wallet.write(&mut sim.timeline, at);
    }

    /// A withdrawal: the amount is held at once; compliance reviews it and
    /// moves it to `Process` within eight hours, and it pays out (`Success`) or is rejected
    /// (`Fail`, the amount returned) hours after that.
    fn withdraw(&mut self, sim: &mut Sim, at: i64, device: usize) {
        self.collect(&mut sim.timeline, at);
        let unit = 100 * self.country.money_factor;
        let amount = self.normal.balance * sim.rng.i64(50..100) / 100 / unit * unit;
        if amount == 0 {
            return;
        }
        let system = if self.payment.withdraws {
            self.payment
        } else {
            &BANK_TRANSFER_NZ
        };
        let requisite = if system.requisite == self.payment.requisite {
            self.requisite.clone()
        } else {
            let contact = (
                self.contact["email"].as_str(),
                self.contact["phone"].as_str(),
            );
            requisite(
                &mut sim.rng,
                system.requisite,
                self.country,
                contact.0.unwrap_or(""),
                contact.1.unwrap_or(""),
            )
        };
        let mut row = self.payment_row(sim, at, device, "OUT", amount, system, &requisite);
        sim.timeline.upsert(at, "transactions", &row);
        self.normal.balance -= amount;
        self.normal.write(&mut sim.timeline, at);
        let reviewed = at + sim.rng.i64(30 * MINUTE..8 * HOUR);
        row["status"] = json!("Process");
        sim.timeline.upsert(reviewed, "transactions", &row);
        let done = reviewed + sim.rng.i64(10 * MINUTE..12 * HOUR);
        if sim.rng.u32(..7) == 0 {
            row["status"] = json!("Fail");
            row["comment"] = json!("rejected: identity documents required");
            sim.timeline.upsert(done, "transactions", &row);
            self.owed.push(Reverse((done, amount)));
        } else {
            row["status"] = json!("Success");
            sim.timeline.upsert(done, "transactions", &row);
        }
    }

    /// A casino session from `at`: rounds of bets and wins, on the bonus
    /// wallet while it holds enough, or else on the real one. Most last
    /// minutes, some hours. Returns when it ended.
    fn play(&mut self, sim: &mut Sim, at: i64, device: usize) -> i64 {
        let game = pick(&mut sim.rng, GAMES);
        let factor = self.country.money_factor;
        let bet = (sim.rng.i64(game.bets.0..=game.bets.1) * factor / 10).max(1) * 10;
        let on_prize = self.prize.as_ref().is_some_and(|w| w.balance >= bet);
        let (rounds, length) = match sim.rng.u32(..100) {
            0..=69 => (sim.rng.i64(4..20), sim.rng.i64(3 * MINUTE..30 * MINUTE)),
            70..=94 => (sim.rng.i64(15..40), sim.rng.i64(30 * MINUTE..90 * MINUTE)),
            _ => (sim.rng.i64(30..80), sim.rng.i64(90 * MINUTE..4 * HOUR)),
        };
        let session_id = sim.ids.next();
        let action = json!({
            "session_id": session_id,
            "player_id": self.id,
            "game_code": game.code,
            "game_name": game.name,
            "game_vendor": game.vendor,
            "currency": self.country.currency,
            "balance_type": if on_prize { "Prize" } else { "Normal" },
            "ip": self.devices[device].1,
            "user_agent": self.devices[device].0.user_agent,
            "ref_code": self.user["ref_code"],
        });
        let mut now = at;
        let mut written_hour = at.div_euclid(HOUR);
        for _ in 0..rounds {
            now += sim.rng.i64(length / rounds / 2..=length / rounds * 3 / 2);
            if now >= sim.timeline.end {
                break;
            }
            if !on_prize {
                self.collect(&mut sim.timeline, now);
            }
            let wallet = if on_prize {
                self.prize.as_mut().expect("checked")
            } else {
                &mut self.normal
            };
            if wallet.balance < bet {
                break;
            }
            if now.div_euclid(HOUR) != written_hour {
                wallet.write(&mut sim.timeline, now - SECOND);
                written_hour = now.div_euclid(HOUR);
            }
            wallet.balance -= bet;
            let mut row = with(
                &action,
                json!({"id": sim.ids.next(), "action": "bet", "amount": cents_text(bet), "created_at": time(now)}),
            );
            sim.timeline.upsert(now, "game_actions", &row);
            if sim.rng.u32(..100) < game.win_percent {
                let win = bet * pick(&mut sim.rng, game.multipliers) / 10;
                wallet.balance += win;
                row["id"] = json!(sim.ids.next());
                row["action"] = json!("win");
                row["amount"] = json!(cents_text(win));
                sim.timeline.upsert(now, "game_actions", &row);
            }
        }
        let wallet = if on_prize {
            self.prize.as_ref().expect("checked")
        } else {
            &self.normal
        };
        wallet.write(&mut sim.timeline, now);
        now
    }

    /// A sports bet from the real wallet, if the player can afford it and
    /// something is open.
    fn bet(&mut self, sim: &mut Sim, at: i64, device: usize) {
        self.collect(&mut sim.timeline, at);
        let stake =
            pick(&mut sim.rng, &[2, 5, 5, 10, 10, 20, 50]) * 100 * self.country.money_factor;
        if stake > self.normal.balance {
            return;
        }
        let bet = json!({
            "player_id": self.id,
            "currency": self.country.currency,
            "kind": "Normal",
            "user_agent": self.devices[device].0.user_agent,
        });
        if let Some(placed) = self.book.place(sim, at, stake, bet) {
            self.normal.balance -= stake;
            self.normal.write(&mut sim.timeline, at);
            if let Some(payout) = placed.payout {
                self.owed.push(Reverse(payout));
            }
        }
    }
}
