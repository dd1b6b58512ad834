//! `hourglass relay`, the real binary, against stand-ins for its targets.
//!
//! The Pointagram stand-in follows the custom API's documented behaviour
//! (`../shared/reference/000_…`): it checks the `api_key`, `api_user` and
//! `Content-Type` headers, answers 409 to a player that exists, and a
//! `source_score_id` sent again replaces the earlier score. It also fails:
//! some calls get a 500 (and do nothing), some are carried out but answered
//! too late for the relay's timeout. Writers meanwhile create bets, settle
//! them won or lost, move them to other players and delete them, while the
//! relay is killed with SIGKILL at random moments and started again. At the
//! end the stand-in's ledger must be the one the final data earns.
//!
//! The webhook stand-in checks every body's signature and replays the
//! changes; its copy must end equal to the data.

use crate::helpers::{
    bet_writer, on_both_backends, sample_row, spawn_app_on_system_clock, Backend, BetWrites,
    TestApp,
};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::Timelike;
use hmac::Mac;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

on_both_backends!(
    pointagram_ends_with_the_true_ledger_through_failures_and_kills,
    a_refused_call_is_a_dead_letter_and_delivery_carries_on,
    a_webhook_receives_every_change_signed,
    since_sets_where_a_first_run_starts_and_only_that,
);

const API_USER: &str = "ops@example.com";
const API_KEY: &str = "pg-key-0123456789";
const SECRET: &str = "webhook-secret";
const PLAYERS: u64 = 5;
const BETS: u64 = 40;

// ---------------------------------------------------------------------------
// The Pointagram stand-in.

/// What the stand-in holds and saw.
#[derive(Debug, Default)]
struct Engine {
    /// Players by external id: their name.
    players: BTreeMap<String, String>,
    /// Scores by `source_score_id`: (player, points, series).
    scores: BTreeMap<String, (String, String, String)>,
    /// Scores sent without a `source_score_id` (the relay never should).
    anonymous: usize,
    calls: usize,
    conflicts: usize,
    /// Calls that got a 500, and calls answered late.
    failed: usize,
    slow: usize,
    /// Calls with wrong or missing headers (must stay 0).
    bad_headers: Vec<String>,
    /// Fail some calls (off once the writers are done, to settle quickly).
    failing: bool,
    rng: Option<fastrand::Rng>,
}

type Shared<T> = Arc<Mutex<T>>;

/// How the stand-in answers a call: fails it, or carries it out.
async fn pointagram(
    req: HttpRequest,
    body: web::Bytes,
    engine: web::Data<Shared<Engine>>,
) -> HttpResponse {
    let endpoint = req
        .match_info()
        .get("endpoint")
        .unwrap_or_default()
        .to_string();
    let (fail, slow) = {
        let mut e = engine.lock().unwrap();
        e.calls += 1;
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if header("api_key").as_deref() != Some(API_KEY)
            || header("api_user").as_deref() != Some(API_USER)
            || header("content-type").as_deref() != Some("application/json")
        {
            e.bad_headers
                .push(format!("{endpoint}: {:?}", req.headers()));
            return HttpResponse::Unauthorized()
                .json(json!({"error": "missing or wrong api_key / api_user / Content-Type"}));
        }
        let failing = e.failing;
        let rng = e.rng.get_or_insert_with(|| fastrand::Rng::with_seed(7));
        let draw = rng.u8(0..20);
        (failing && draw < 2, failing && draw == 2)
    };
    if fail {
        engine.lock().unwrap().failed += 1;
        return HttpResponse::InternalServerError().body("try again later");
    }
    let answer = apply(&endpoint, &body, &mut engine.lock().unwrap());
    if slow {
        // Carried out, but answered after the relay gave up waiting.
        engine.lock().unwrap().slow += 1;
        actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    }
    answer
}

/// The documented semantics of each endpoint.
fn apply(endpoint: &str, body: &[u8], e: &mut Engine) -> HttpResponse {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return HttpResponse::BadRequest().json(json!({"error": "the body is not JSON"}));
    };
    let text = |name: &str| {
        body.get(name)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
    };
    match endpoint {
        "create_player" => {
            let (Some(name), Some(id)) = (text("player_name"), text("player_external_id")) else {
                return HttpResponse::BadRequest()
                    .json(json!({"error": "player_name is required"}));
            };
            if body["offline"] != json!(1) {
                return HttpResponse::BadRequest().json(json!({"error": "offline must be 1 here"}));
            }
            if e.players.contains_key(&id) {
                e.conflicts += 1;
                return HttpResponse::Conflict().json(json!({"error": "player already exists"}));
            }
            e.players.insert(id, name);
            HttpResponse::Ok().json(json!({"result": "ok"}))
        }
        "add_score" => {
            let Some(player) = text("player_external_id") else {
                return HttpResponse::BadRequest().json(json!({"error": "who scored?"}));
            };
            if !e.players.contains_key(&player) {
                return HttpResponse::BadRequest()
                    .json(json!({"error": format!("no player with external id {player}")}));
            }
            let (Some(points), Some(series)) = (body.get("points"), text("scoreseries_name"))
            else {
                return HttpResponse::BadRequest()
                    .json(json!({"error": "points and scoreseries_name are required"}));
            };
            if !points.is_number() {
                return HttpResponse::BadRequest().json(json!({"error": "points is a number"}));
            }
            match text("source_score_id") {
                // The earlier score is revoked and this one added.
                Some(source) => {
                    e.scores
                        .insert(source, (player, points.to_string(), series));
                }
                None => e.anonymous += 1,
            }
            HttpResponse::Ok().json(json!({"result": "ok"}))
        }
        _ => HttpResponse::NotFound().json(json!({"error": "no such endpoint"})),
    }
}

/// Starts a stand-in with `routes` on a free port; returns its address.
fn stand_in<T: Send + 'static>(state: Shared<T>, routes: fn(&mut web::ServiceConfig)) -> String {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(routes)
    })
    .workers(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let address = format!("http://{}", server.addrs()[0]);
    actix_web::rt::spawn(server.run());
    address
}

fn pointagram_routes(config: &mut web::ServiceConfig) {
    config.route(
        "/server/externalapi.php/{endpoint}",
        web::post().to(pointagram),
    );
}

// ---------------------------------------------------------------------------
// The relay process.

/// `hourglass relay CONFIG` as a process of its own, killed when dropped.
struct RelayProcess {
    child: std::process::Child,
}

impl RelayProcess {
    fn start(database_url: &str, config: &Path, log: &Path) -> RelayProcess {
        Self::start_with(database_url, config, log, &[])
    }

    /// As [`RelayProcess::start`], with more arguments.
    fn start_with(database_url: &str, config: &Path, log: &Path, args: &[&str]) -> RelayProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"))
            .args(["--database", database_url, "relay"])
            .arg(config)
            .args(args)
            .env("RUST_LOG", "info")
            .env("POINTAGRAM_API_KEY", API_KEY)
            .env("HOOK_SECRET", SECRET)
            .stderr(log)
            .spawn()
            .expect("hourglass relay starts");
        RelayProcess { child }
    }

    fn kill(&mut self) {
        // SIGKILL: no chance to finish anything.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and the exit status (within 10 s).
    fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on the PID of a child this struct owns and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the relay did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hourglass relay status --json` for the relay `name`.
fn relay_status(database_url: &str, name: &str) -> Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"))
        .args([
            "--database",
            database_url,
            "relay",
            "status",
            name,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    list.into_iter().next().unwrap()
}

/// A Pointagram relay's configuration: the issue's minimal form, plus what
/// makes a test quick (a short poll, small windows, short timeouts).
fn pointagram_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("engine.toml");
    std::fs::write(
        &path,
        format!(
            r#"
            every_seconds = 0.2
            batch = 25

            [target]
            kind = "pointagram"
            url = "{url}/server/externalapi.php"
            api_user = "{API_USER}"
            api_key_env = "POINTAGRAM_API_KEY"
            rate = 400
            timeout_seconds = 0.5
            max_backoff_seconds = 0.4

            [[players]]
            dataset = "users"

            [[scores]]
            dataset = "bets"
            where = {{ status = "won" }}
            points = "win_amount"
            series = "Winnings"
            comment = "Bet {{id}}"
            "#
        ),
    )
    .unwrap();
    path
}

// ---------------------------------------------------------------------------
// Writers and the truth.

/// Creates the players p0… with names.
async fn create_players(app: &TestApp) {
    let users: Vec<Value> = (0..PLAYERS)
        .map(|n| {
            let mut user = sample_row("users", format!("p{n}"));
            user["first_name"] = json!(format!("Ada{n}"));
            user["last_name"] = json!("Lovelace");
            user
        })
        .collect();
    let response = app
        .push("users", "application/json", Value::Array(users).to_string())
        .await;
    assert_eq!(response.status(), 200);
}

/// A writer of bets and players, a few dozen writes a second.
fn writer(stop: Instant, seed: u64, server: String, key: String) -> usize {
    let how = BetWrites {
        bets: BETS,
        players: PLAYERS,
        pause_ms: 10..40,
        change_players: true,
    };
    bet_writer(stop, seed, server, key, how)
}

/// Every row of `dataset` there is now.
async fn everything(app: &TestApp, dataset: &str) -> Vec<Value> {
    let to = chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.6f");
    app.pull_json(dataset, &format!("from=2000-01-01T00:00:00&to={to}"))
        .await
}

/// The ledger the bets earn: each won bet's win amount, for its player.
async fn true_ledger(app: &TestApp) -> BTreeMap<String, (String, String)> {
    everything(app, "bets")
        .await
        .into_iter()
        .filter(|bet| bet["status"] == "won")
        .map(|bet| {
            (
                format!("bets:{}", bet["id"].as_str().unwrap()),
                (
                    bet["player_id"].as_str().unwrap().to_string(),
                    bet["win_amount"].to_string(),
                ),
            )
        })
        .collect()
}

/// The stand-in's scores that count (a revoked score has 0 points).
fn scored(engine: &Engine) -> BTreeMap<String, (String, String)> {
    engine
        .scores
        .iter()
        .filter(|(_, (_, points, _))| points != "0")
        .map(|(id, (player, points, _))| (id.clone(), (player.clone(), points.clone())))
        .collect()
}

/// Waits (at most `limit`) until `done` holds.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

// ---------------------------------------------------------------------------
// The tests.

async fn pointagram_ends_with_the_true_ledger_through_failures_and_kills(backend: Backend) {
    let app = spawn_app_on_system_clock(backend).await;
    let engine: Shared<Engine> = Arc::new(Mutex::new(Engine {
        failing: true,
        ..Engine::default()
    }));
    let url = stand_in(engine.clone(), pointagram_routes);
    let dir = tempfile::tempdir().unwrap();
    let config = pointagram_config(dir.path(), &url);
    let log = dir.path().join("relay.log");
    create_players(&app).await;

    const WRITING: Duration = Duration::from_secs(8);
    let stop = Instant::now() + WRITING;
    let writers: Vec<_> = (0..2)
        .map(|n| {
            let (server, key) = (app.address.clone(), app.write_key.clone());
            std::thread::spawn(move || writer(stop, n, server, key))
        })
        .collect();

    // Kill the relay at random moments while the writers write.
    let mut rng = fastrand::Rng::with_seed(11);
    let mut relay = RelayProcess::start(&app.database_url, &config, &log);
    let mut kills = 0;
    while Instant::now() < stop {
        actix_web::rt::time::sleep(Duration::from_millis(rng.u64(300..1500))).await;
        relay.kill();
        kills += 1;
        relay = RelayProcess::start(&app.database_url, &config, &log);
    }
    let writes: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let written_by = chrono::Utc::now().naive_utc();

    // The stand-in stops failing, so that the relay catches up at once.
    engine.lock().unwrap().failing = false;
    let truth = true_ledger(&app).await;
    let settled = eventually(Duration::from_secs(60), || {
        scored(&engine.lock().unwrap()) == truth
    })
    .await;
    let e = engine.lock().unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        settled,
        "the ledger differs from the data:\n  engine: {:?}\n  truth:  {:?}\n--- relay log (tail) ---\n{}",
        scored(&e),
        truth,
        tail(&log_text, 40)
    );
    assert!(
        e.bad_headers.is_empty(),
        "calls without the documented headers: {:?}",
        e.bad_headers
    );
    assert_eq!(e.anonymous, 0, "every score carries a source_score_id");
    // Every player, named by their first and last name: as first written,
    // or as a writer rewrote them before the relay first read them.
    let rewritten = sample_row("users", "p");
    let rewritten = format!(
        "{} {}",
        rewritten["first_name"].as_str().unwrap(),
        rewritten["last_name"].as_str().unwrap()
    );
    assert_eq!(e.players.len() as u64, PLAYERS, "{:?}", e.players);
    for (n, name) in e.players.values().enumerate() {
        assert!(
            *name == format!("Ada{n} Lovelace") || *name == rewritten,
            "{:?}",
            e.players
        );
    }
    // Something worth testing happened.
    assert!(truth.len() >= 3, "too few won bets at the end: {truth:?}");
    assert!(
        e.failed > 3 && e.slow > 0,
        "the stand-in failed too little: {e:?}"
    );
    assert!(
        e.conflicts > 0,
        "a changed player is created again, and its 409 is fine"
    );
    assert!(kills >= 4, "{kills} kills");
    let revoked = e
        .scores
        .values()
        .filter(|(_, points, _)| points == "0")
        .count();
    assert!(revoked > 0, "no score was ever revoked: {e:?}");
    eprintln!(
        "relay: {writes} writes, {kills} kills; stand-in: {} calls, {} failed, {} slow, {} conflicts; {} won bets, {revoked} revoked",
        e.calls, e.failed, e.slow, e.conflicts, truth.len()
    );
    drop(e);

    // The position passed the last write; nothing was refused.
    let status = relay_status(&app.database_url, "engine");
    let position = chrono::NaiveDateTime::parse_from_str(
        status["position"].as_str().unwrap(),
        "%Y-%m-%d %H:%M:%S",
    )
    .unwrap();
    assert!(
        position + chrono::Duration::seconds(1) >= written_by.with_nanosecond(0).unwrap(),
        "{status}"
    );
    assert_eq!(status["dead_lettered"], 0, "{status}");
    assert!(status["delivered"].as_i64().unwrap() > 0, "{status}");
    // SIGTERM ends it cleanly.
    assert!(relay.terminate().success());
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("stopped; delivered up to"));
}

async fn a_refused_call_is_a_dead_letter_and_delivery_carries_on(backend: Backend) {
    let app = spawn_app_on_system_clock(backend).await;
    let engine: Shared<Engine> = Arc::new(Mutex::new(Engine::default()));
    let url = stand_in(engine.clone(), pointagram_routes);
    let dir = tempfile::tempdir().unwrap();
    let config = pointagram_config(dir.path(), &url);
    let log = dir.path().join("relay.log");
    create_players(&app).await;

    // A won bet of a player the engine does not know: refused with a 400.
    let mut ghost = sample_row("bets", "ghost-bet");
    ghost["player_id"] = json!("nobody");
    ghost["status"] = json!("won");
    let response = app
        .push("bets", "application/json", json!([ghost]).to_string())
        .await;
    assert_eq!(response.status(), 200);
    let mut relay = RelayProcess::start(&app.database_url, &config, &log);
    // Written after: still scored.
    let mut bet = sample_row("bets", "b1");
    bet["player_id"] = json!("p1");
    bet["status"] = json!("won");
    bet["win_amount"] = json!("12.34");
    let response = app
        .push("bets", "application/json", json!([bet]).to_string())
        .await;
    assert_eq!(response.status(), 200);

    let delivered = eventually(Duration::from_secs(20), || {
        engine.lock().unwrap().scores.contains_key("bets:b1")
    })
    .await;
    assert!(
        delivered,
        "{}",
        tail(&std::fs::read_to_string(&log).unwrap(), 30)
    );
    // The amount exactly as a pull writes it.
    assert_eq!(engine.lock().unwrap().scores["bets:b1"].1, "12.340000");
    assert!(!engine.lock().unwrap().scores.contains_key("bets:ghost-bet"));
    relay.terminate();

    let status = relay_status(&app.database_url, "engine");
    assert_eq!(status["dead_lettered"], 1, "{status}");
    // The dead letter, with the engine's answer, is shown by `relay status`.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"))
        .args(["--database", &app.database_url, "relay", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("add_score  HTTP 400  {\"error\":\"no player with external id nobody\"}"),
        "{text}"
    );
    assert!(
        text.contains("\"source_score_id\":\"bets:ghost-bet\""),
        "{text}"
    );
}

async fn since_sets_where_a_first_run_starts_and_only_that(backend: Backend) {
    let app = spawn_app_on_system_clock(backend).await;
    // The engine has its players already (a relay started --since usually
    // joins an engine that does).
    let engine: Shared<Engine> = Arc::new(Mutex::new(Engine::default()));
    engine
        .lock()
        .unwrap()
        .players
        .insert("p2".into(), "Known".into());
    let url = stand_in(engine.clone(), pointagram_routes);
    let dir = tempfile::tempdir().unwrap();
    let config = pointagram_config(dir.path(), &url);
    let log = dir.path().join("relay.log");
    create_players(&app).await;
    let won = |id: &str| {
        let mut bet = sample_row("bets", id);
        bet["player_id"] = json!("p2");
        bet["status"] = json!("won");
        json!([bet]).to_string()
    };
    assert_eq!(
        app.push("bets", "application/json", won("before"))
            .await
            .status(),
        200
    );
    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    let since = chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string();
    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        app.push("bets", "application/json", won("after"))
            .await
            .status(),
        200
    );

    let mut relay =
        RelayProcess::start_with(&app.database_url, &config, &log, &["--since", &since]);
    let scored = eventually(Duration::from_secs(20), || {
        engine.lock().unwrap().scores.contains_key("bets:after")
    })
    .await;
    assert!(
        scored,
        "{}",
        tail(&std::fs::read_to_string(&log).unwrap(), 30)
    );
    assert!(relay.terminate().success());
    let e = engine.lock().unwrap();
    assert!(!e.scores.contains_key("bets:before"), "{:?}", e.scores);
    // The players were written before --since too: not sent.
    assert_eq!(e.players.len(), 1, "{:?}", e.players);
    drop(e);

    // Once the relay has a position, --since is refused, and says why.
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"));
        command
            .args(["--database", &app.database_url, "relay"])
            .arg(&config)
            .args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let again = run(&["--since", &since], &[("POINTAGRAM_API_KEY", API_KEY)]);
    assert!(!again.status.success());
    let error = String::from_utf8_lossy(&again.stderr);
    assert!(
        error.contains("relay 'engine' has delivered up to")
            && error.contains("--since only sets where a first run starts"),
        "{error}"
    );
    // Without its key, nothing starts: the error names the variable.
    let keyless = run(&[], &[]);
    assert!(!keyless.status.success());
    let error = String::from_utf8_lossy(&keyless.stderr);
    assert!(
        error.contains("target.api_key_env names $POINTAGRAM_API_KEY, which is not set"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// The webhook.

#[derive(Debug, Default)]
struct Hook {
    /// Windows received, in order, with their changes.
    windows: Vec<(String, Vec<Value>)>,
    bad_signatures: usize,
    /// Fail the first call, to see it retried.
    failed_first: bool,
}

async fn webhook(
    req: HttpRequest,
    body: web::Bytes,
    hook: web::Data<Shared<Hook>>,
) -> HttpResponse {
    let mut h = hook.lock().unwrap();
    if !h.failed_first {
        h.failed_first = true;
        return HttpResponse::ServiceUnavailable().finish();
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let expected = format!("sha256={:x}", mac.finalize().into_bytes());
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    if header("x-hourglass-signature") != expected {
        h.bad_signatures += 1;
        return HttpResponse::Unauthorized().finish();
    }
    let changes: Vec<Value> = serde_json::from_slice(&body).unwrap();
    h.windows.push((header("x-hourglass-window"), changes));
    HttpResponse::NoContent().finish()
}

async fn a_webhook_receives_every_change_signed(backend: Backend) {
    let app = spawn_app_on_system_clock(backend).await;
    let hook: Shared<Hook> = Arc::new(Mutex::new(Hook::default()));
    let url = stand_in(hook.clone(), |config| {
        config.route("/hook", web::post().to(webhook));
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("warehouse.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            every_seconds = 0.2
            batch = 30
            [target]
            kind = "webhook"
            url = "{url}/hook"
            secret_env = "HOOK_SECRET"
            max_backoff_seconds = 0.2
            [[changes]]
            dataset = "users"
            [[changes]]
            dataset = "bets"
            "#
        ),
    )
    .unwrap();
    let log = dir.path().join("relay.log");
    create_players(&app).await;
    let mut relay = RelayProcess::start(&app.database_url, &config, &log);
    let stop = Instant::now() + Duration::from_secs(4);
    let (server, key) = (app.address.clone(), app.write_key.clone());
    let writes = std::thread::spawn(move || writer(stop, 3, server, key))
        .join()
        .unwrap();

    // The receiver's copy, replayed window by window.
    let replay = |h: &Hook| {
        let mut copy: BTreeMap<(String, String), Value> = BTreeMap::new();
        for (_, changes) in &h.windows {
            for change in changes {
                let dataset = change["dataset"].as_str().unwrap().to_string();
                let id = change["row"]["id"].as_str().unwrap().to_string();
                match change["op"].as_str().unwrap() {
                    "upsert" => {
                        copy.insert((dataset, id), change["row"].clone());
                    }
                    "delete" => {
                        assert!(change["row"]["deleted_at"].is_string(), "{change}");
                        copy.remove(&(dataset, id));
                    }
                    op => panic!("unknown op {op}"),
                }
            }
        }
        copy
    };
    let mut truth = BTreeMap::new();
    for dataset in ["users", "bets"] {
        for row in everything(&app, dataset).await {
            truth.insert(
                (dataset.to_string(), row["id"].as_str().unwrap().to_string()),
                row,
            );
        }
    }
    let arrived = eventually(Duration::from_secs(30), || {
        replay(&hook.lock().unwrap()) == truth
    })
    .await;
    assert!(
        arrived,
        "the webhook's copy differs from the data\n{}",
        tail(&std::fs::read_to_string(&log).unwrap(), 30)
    );
    relay.terminate();

    let h = hook.lock().unwrap();
    assert_eq!(h.bad_signatures, 0);
    assert!(h.failed_first);
    // The windows never overlap nor go back (empty ones are not sent).
    let bounds: Vec<(String, String)> = h
        .windows
        .iter()
        .map(|(w, _)| {
            let (from, to) = w
                .split_once('/')
                .unwrap_or_else(|| panic!("window header {w:?}"));
            (from.to_string(), to.to_string())
        })
        .collect();
    for pair in bounds.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "windows overlap or go back: {pair:?}"
        );
    }
    let deletes = h
        .windows
        .iter()
        .flat_map(|(_, c)| c)
        .filter(|c| c["op"] == "delete")
        .count();
    assert!(deletes > 0, "no delete arrived");
    eprintln!(
        "webhook: {writes} writes, {} windows, {deletes} deletes",
        h.windows.len()
    );
}

/// The last `lines` lines of a log.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
