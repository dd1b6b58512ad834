//! A consumer that plays a points engine (Pointagram's integration steps):
//! it pulls consecutive windows of `bets` and of `deletions`, awards each
//! won bet's `win_amount` to its player, keyed by bet id, and revokes the
//! award when the bet changes player or status, or is deleted. Writers
//! meanwhile create, settle, move and delete bets. At the end its ledger
//! must equal the ledger computed from the final state.

use crate::helpers::{
    bet_writer, on_both_backends, spawn_app_on_system_clock_with, Backend, BetWrites,
};
use crate::no_miss::Windows;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

on_both_backends!(a_points_engine_fed_by_bets_and_deletions_ends_with_the_true_ledger);

/// Bet ids are drawn from a small pool, so that bets are created, settled,
/// moved and deleted again and again.
const BETS: u64 = 60;
const PLAYERS: u64 = 5;

/// What the engine has awarded, by bet: the player and the points.
type Awards = BTreeMap<String, (String, String)>;

/// The award a bet earns, if any: won bets earn their win amount.
fn award_of(bet: &Value) -> Option<(String, String)> {
    (bet["status"] == "won").then(|| {
        (
            bet["player_id"].as_str().unwrap().to_string(),
            bet["win_amount"].to_string(),
        )
    })
}

/// The engine's step for one bet row: revoke what the bet had, award what
/// it earns now. Returns (awards, revokes) made.
fn apply_bet(awards: &mut Awards, bet: &Value) -> (usize, usize) {
    let id = bet["id"].as_str().unwrap().to_string();
    let earned = award_of(bet);
    if awards.get(&id) == earned.as_ref() {
        return (0, 0);
    }
    let revoked = usize::from(awards.remove(&id).is_some());
    let awarded = match earned {
        Some(award) => {
            awards.insert(id, award);
            1
        }
        None => 0,
    };
    (awarded, revoked)
}

/// Each player's points.
fn ledger(awards: &Awards) -> BTreeMap<String, Vec<String>> {
    let mut ledger: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (bet, (player, points)) in awards {
        ledger
            .entry(player.clone())
            .or_default()
            .push(format!("{bet}={points}"));
    }
    ledger
}

async fn a_points_engine_fed_by_bets_and_deletions_ends_with_the_true_ledger(backend: Backend) {
    let app = spawn_app_on_system_clock_with(backend, |settings| {
        settings.streams_per_key = 2;
    })
    .await;
    const WINDOW: Duration = Duration::from_millis(150);
    const WRITING: Duration = Duration::from_secs(6);
    let stop = Instant::now() + WRITING;
    let writers: Vec<_> = (0..4)
        .map(|n| {
            let (server, key) = (app.address.clone(), app.write_key.clone());
            std::thread::spawn(move || {
                let how = BetWrites {
                    bets: BETS,
                    players: PLAYERS,
                    pause_ms: 0..0,
                    change_players: false,
                };
                bet_writer(stop, n, server, key, how)
            })
        })
        .collect();

    let mut awards = Awards::new();
    let (mut awarded, mut revoked) = (0, 0);
    let started = chrono::Utc::now().naive_utc();
    // Until a window has ended after every writer had finished, so that
    // the last writes, however late they commit, are in some window.
    let mut windows = Windows::new(
        started - chrono::Duration::seconds(1),
        WINDOW,
        WRITING + Duration::from_secs(60),
    );
    while let Some(query) = windows.next(&writers).await {
        let (bets, deletions) = futures_util::future::join(
            app.pull_json("bets", &query),
            app.pull_json("deletions", &query),
        )
        .await;
        // A window's deletions first, then its rows: a row in the window
        // exists (it was written again after any delete in the window).
        for deletion in deletions.iter().filter(|d| d["dataset"] == "bets") {
            revoked += usize::from(awards.remove(deletion["id"].as_str().unwrap()).is_some());
        }
        for bet in &bets {
            let (a, r) = apply_bet(&mut awards, bet);
            awarded += a;
            revoked += r;
        }
    }
    let writes: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();

    // The truth: every bet there is now, in one window over all time the
    // consumer covered.
    let everything = windows.everything();
    let mut truth = Awards::new();
    for bet in app.pull_json("bets", &everything).await {
        apply_bet(&mut truth, &bet);
    }
    assert!(
        revoked > 10 && truth.len() > 5,
        "too little happened to test: {awarded} awards, {revoked} revokes"
    );
    assert_eq!(ledger(&awards), ledger(&truth));
    eprintln!("points engine: {writes} writes; {awarded} awards, {revoked} revokes; {} bets awarded at the end", truth.len());
}
