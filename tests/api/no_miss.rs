//! The no-miss guarantee (src/visibility.rs): consecutive pulls stay complete
//! under concurrent writes, late data and clock skew.

use crate::helpers::{
    on_both_backends, request_to, rows_of, sample_row, spawn_app, spawn_app_on_system_clock_with,
    ts, window, Backend, TestApp,
};
use hourglass::clock::ManualClock;
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::{sql, Dataset};
use hourglass::db;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

on_both_backends!(
    a_window_ending_in_the_next_seconds_is_waited_for_then_served,
    a_window_ending_further_ahead_is_425_too_early,
    stamps_keep_increasing_when_the_clock_steps_back,
    a_late_action_re_emits_its_session_with_the_new_totals,
    a_pull_waits_for_the_write_in_flight_and_sees_it,
    a_pull_that_cannot_settle_in_time_is_503_not_an_incomplete_window,
    consecutive_pulls_miss_nothing_under_concurrent_writes,
    consecutive_pulls_miss_nothing_under_many_single_row_writers,
);

async fn a_window_ending_in_the_next_seconds_is_waited_for_then_served(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_clock("2020-10-10 07:59:58");
    let started = Instant::now();
    let pull = async {
        let response = app
            .pull(
                "users",
                &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
            )
            .await;
        (response, Instant::now())
    };
    // Once the pull waits at the server, the clock stays short of `to` for
    // 300 ms, then reaches it. The 300 ms is not synchronisation: it is the
    // time the pull must be seen to wait.
    let clock = async {
        app.until_pulls_in_flight(1).await;
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        app.set_clock("2020-10-10 08:00:00");
        Instant::now()
    };
    let ((response, answered), reached) = futures_util::future::join(pull, clock).await;
    assert_eq!(response.status(), 200);
    assert!(
        answered >= reached && started.elapsed() >= Duration::from_millis(300),
        "served before `to` had passed"
    );
}

async fn a_window_ending_further_ahead_is_425_too_early(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_clock("2020-10-10 07:59:50");
    let response = app
        .pull(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(response.status(), 425);
    assert_eq!(response.headers()["retry-after"], "10");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("pull it again after it has passed"),
        "{body}"
    );
}

async fn stamps_keep_increasing_when_the_clock_steps_back(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_at(
        "2020-10-10 09:00:00",
        "users",
        json!([sample_row("users", 1)]),
    )
    .await;
    // The system clock steps back an hour.
    app.push_at(
        "2020-10-10 08:00:00",
        "users",
        json!([sample_row("users", 2)]),
    )
    .await;
    app.push_at(
        "2020-10-10 08:30:00",
        "users",
        json!([sample_row("users", 3)]),
    )
    .await;
    let stamps = {
        let mut conn = app.conn();
        db::last_stamp(&mut conn).unwrap()
    };
    assert_eq!(
        stamps.as_micros(),
        ts("2020-10-10 09:00:00").as_micros() + 2,
        "each write one µs after the last"
    );

    let earlier = app
        .pull_json(
            "users",
            &window("2020-10-10 08:00:00", "2020-10-10 09:00:00"),
        )
        .await;
    assert!(
        earlier.is_empty(),
        "nothing was stamped back in time: {earlier:?}"
    );
    let rows = app
        .pull_json(
            "users",
            &window("2020-10-10 09:00:00", "2020-10-10 10:00:00"),
        )
        .await;
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3"], "in write order");
}

fn action(id: &str, amount: &str, at: &str) -> Value {
    let mut row = sample_row("game_actions", 0);
    row["id"] = json!(id);
    row["amount"] = json!(amount);
    row["created_at"] = json!(at);
    row
}

async fn a_late_action_re_emits_its_session_with_the_new_totals(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_at(
        "2020-10-10 07:15:00",
        "game_actions",
        json!([action("a1", "1.00", "2020-10-10 07:10:00")]),
    )
    .await;
    let first = app
        .pull_json(
            "game_sessions",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(first[0]["bet_count"], 1);

    // An action that happened at 07:50 arrives at 08:03, after [07:00, 08:00) was pulled.
    app.push_at(
        "2020-10-10 08:03:00",
        "game_actions",
        json!([action("a2", "2.50", "2020-10-10 07:50:00")]),
    )
    .await;
    let next = app
        .pull_json(
            "game_sessions",
            &window("2020-10-10 08:00:00", "2020-10-10 09:00:00"),
        )
        .await;
    assert_eq!(next.len(), 1, "the late action re-emits its session");
    assert_eq!(
        (
            next[0]["bet_count"].clone(),
            next[0]["bet_amount"].to_string()
        ),
        (json!(2), "3.500000".to_string())
    );
    assert_eq!(
        next[0]["updated_at"], "2020-10-10 07:50:00",
        "updated_at is still the last action's time"
    );
    // The spec's own rule still holds: the session is in the window of its actions.
    let again = app
        .pull_json(
            "game_sessions",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(again[0]["bet_count"], 2);
}

/// A write of a user on its own thread, inside its transaction: stamped,
/// holding the writers' lock, not committed until [`SlowWrite::commit`].
struct SlowWrite {
    commit: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// Starts a write on its own thread that stamps a user at `at`, and
/// returns once it is inside its transaction (the row written, the lock
/// held). It commits when told to ([`SlowWrite::commit`]), when joined, or
/// when the `SlowWrite` is dropped.
fn slow_write(app: &TestApp, id: i64, at: &str) -> SlowWrite {
    let pool = app.pools.write.clone();
    let clock = ManualClock::new(ts(at));
    let row = sample_row("users", id);
    let (started, in_transaction) = mpsc::channel();
    let (commit, committing) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        let rows = rows_of(&mut conn, "users", &[row]);
        let catalog = Catalog::load(&mut conn).unwrap();
        db::write_transaction(&mut conn, &clock, |conn, stamp| {
            sql::upsert(conn, catalog.shape(Dataset::named("users")), &rows, stamp)?;
            started.send(()).unwrap();
            // Held until the test says so (or is gone: the sender dropped).
            let _ = committing.recv();
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    });
    in_transaction
        .recv_timeout(Duration::from_secs(10))
        .expect("the slow write never got inside its transaction");
    SlowWrite { commit, thread }
}

impl SlowWrite {
    /// Lets the write commit, without waiting for it.
    fn commit(&self) {
        self.commit.send(()).unwrap();
    }

    /// Lets the write commit, and waits until it has.
    fn join(self) {
        drop(self.commit);
        self.thread.join().unwrap();
    }
}

async fn a_pull_waits_for_the_write_in_flight_and_sees_it(backend: Backend) {
    let app = spawn_app(backend).await;
    // Stamped 07:59:59 and in flight when the pull arrives; committed 400 ms
    // after it has (a write in flight for a while is the case under test,
    // not synchronisation).
    let writer = slow_write(&app, 1, "2020-10-10 07:59:59");
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    let pull = app.pull("users", &query);
    let commit = async {
        app.until_pulls_in_flight(1).await;
        actix_web::rt::time::sleep(Duration::from_millis(400)).await;
        writer.commit();
    };
    let (response, ()) = futures_util::future::join(pull, commit).await;
    writer.join();
    let waited = response.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_string();
    let body = response.text().await.unwrap();
    assert_eq!(
        body.lines().count(),
        2,
        "the row stamped inside the window is in it (waited: {waited})\n{body}"
    );
    assert!(waited.starts_with("settle;dur="), "{waited}");
}

async fn a_pull_that_cannot_settle_in_time_is_503_not_an_incomplete_window(backend: Backend) {
    let app = spawn_app(backend).await;
    // Holds the writers' lock until the pull has been answered: longer than
    // a pull may wait for it (5 s), however long that is.
    let writer = slow_write(&app, 1, "2020-10-10 07:59:59");
    let started = Instant::now();
    let response = app
        .pull(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    // The bound holds however long the write: the pull gives up at 5 s, it
    // does not wait out the transaction, which is still open.
    assert!(
        waited >= Duration::from_millis(4900) && waited < Duration::from_millis(6000),
        "waited {waited:?}"
    );
    writer.join();
    let rows = app
        .pull_json(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(
        rows.len(),
        1,
        "once the write has committed the window is served, with it"
    );
}

/// What the concurrency test's consumer keeps of a dataset: its key column
/// and its rows by key, each the latest version pulled.
struct Copy {
    dataset: &'static str,
    key: usize,
    rows: BTreeMap<String, Vec<String>>,
}

impl Copy {
    fn new(dataset: &'static str) -> Self {
        // game_sessions are keyed by session_id, the second column.
        let key = usize::from(dataset == "game_sessions");
        Copy {
            dataset,
            key,
            rows: BTreeMap::new(),
        }
    }

    /// Upserts every row of a CSV window, in order.
    fn apply(&mut self, csv: &str) -> usize {
        let mut count = 0;
        for record in csv::Reader::from_reader(csv.as_bytes()).records() {
            let record: Vec<String> = record.unwrap().iter().map(String::from).collect();
            self.rows.insert(record[self.key].clone(), record);
            count += 1;
        }
        count
    }
}

/// Several writers upsert as fast as they can (the same ids again and again,
/// late game actions among them) while a consumer pulls consecutive windows
/// of 150 ms as soon as each has ended. The consumer's copy must equal the
/// final state: no row missing, no version stale. Remove the settling of
/// step 1 in visibility.rs and this fails within seconds.
async fn consecutive_pulls_miss_nothing_under_concurrent_writes(backend: Backend) {
    // The consumer pulls its five datasets at once with one key.
    let app = spawn_app_on_system_clock_with(backend, |settings| {
        settings.streams_per_key = CONSUMER_STREAMS;
    })
    .await;
    let servers = [app.address.clone()];
    check_no_miss(&servers, &servers, &app.read_key, &app.write_key, BATCHES).await;
}

/// The same with writes as platforms send events: forty writers, eight per
/// dataset, each posting one or two rows at a time, so that the server
/// writes them in groups that share a transaction and a stamp.
async fn consecutive_pulls_miss_nothing_under_many_single_row_writers(backend: Backend) {
    let app = spawn_app_on_system_clock_with(backend, |settings| {
        settings.streams_per_key = CONSUMER_STREAMS;
    })
    .await;
    let servers = [app.address.clone()];
    check_no_miss(&servers, &servers, &app.read_key, &app.write_key, EVENTS).await;
}

/// How the writers of [`check_no_miss`] write.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Writers per dataset, each on its own thread.
    pub writers: usize,
    /// Rows per request, at least and at most (exclusive).
    pub rows: (usize, usize),
}

/// Batches of hundreds of rows, one writer per dataset.
pub const BATCHES: Load = Load {
    writers: 1,
    rows: (100, 600),
};

/// One or two rows a request, eight writers per dataset.
pub const EVENTS: Load = Load {
    writers: 8,
    rows: (1, 3),
};

/// The window of `length` from `from`, once it has ended by our clock (the
/// server's is the same): its end, and its query string to the microsecond.
pub async fn next_window(
    from: chrono::NaiveDateTime,
    length: Duration,
) -> (chrono::NaiveDateTime, String) {
    let to = from + chrono::Duration::from_std(length).unwrap();
    let ahead = (to - chrono::Utc::now().naive_utc())
        .to_std()
        .unwrap_or_default();
    // Not synchronisation: a consumer pulls a window once its end has come,
    // and the clock must get there.
    actix_web::rt::time::sleep(ahead).await;
    (to, format!("from={}&to={}", micros(from), micros(to)))
}

/// A time as a window's bound, to the microsecond.
fn micros(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// A consumer's consecutive windows of one length, each handed out once it
/// has ended, for as long as writers are writing and one window more: the
/// last ends after every writer had finished, so that every write they made
/// (stamped before it committed, and committed before its writer went on)
/// is in a window handed out. Writers that stop at a time of their own may
/// still be waiting for their last write then; the windows wait for them.
pub struct Windows {
    /// Where the next window starts: the end of the last one handed out.
    from: chrono::NaiveDateTime,
    length: Duration,
    /// When every writer had been seen finished.
    writers_done: Option<chrono::NaiveDateTime>,
    /// How long the writers may take to finish, from `started`.
    within: Duration,
    started: Instant,
}

impl Windows {
    /// Windows of `length` from `from`; the writers must finish within
    /// `within` from now.
    pub fn new(from: chrono::NaiveDateTime, length: Duration, within: Duration) -> Windows {
        Windows {
            from,
            length,
            writers_done: None,
            within,
            started: Instant::now(),
        }
    }

    /// The next window to pull, once it has ended (its query string), or
    /// `None` once the last one handed out ends after `writers` had all
    /// finished.
    pub async fn next<T>(&mut self, writers: &[std::thread::JoinHandle<T>]) -> Option<String> {
        if self.writers_done.is_none() && writers.iter().all(|w| w.is_finished()) {
            self.writers_done = Some(chrono::Utc::now().naive_utc());
        }
        match self.writers_done {
            Some(done) if self.from > done => return None,
            Some(_) => {}
            None => assert!(
                self.started.elapsed() < self.within,
                "the writers had not finished within {:?}",
                self.within
            ),
        }
        let (to, query) = next_window(self.from, self.length).await;
        self.from = to;
        Some(query)
    }

    /// The end of the last window handed out.
    pub fn end(&self) -> chrono::NaiveDateTime {
        self.from
    }

    /// The query for everything before the end of the last window handed
    /// out: what the windows covered, and all that came before.
    pub fn everything(&self) -> String {
        format!("from=2000-01-01T00:00:00&to={}", micros(self.from))
    }
}

/// Pulls the consumer of [`check_no_miss`] runs at once with one key: one per
/// dataset it copies.
pub const CONSUMER_STREAMS: usize = 5;

/// The no-miss check: writers spread over `write_to`, the consumer's
/// windows spread over `pull_from` (one server per window, in turn).
pub async fn check_no_miss(
    write_to: &[String],
    pull_from: &[String],
    read_key: &str,
    write_key: &str,
    load: Load,
) {
    const WINDOW: Duration = Duration::from_millis(150);
    const WRITING: Duration = Duration::from_secs(8);
    let stop = Instant::now() + WRITING;

    let datasets = ["users", "transactions", "wallets", "game_actions", "bets"];
    let writers: Vec<_> = (0..datasets.len() * load.writers)
        .map(|n| {
            let dataset = datasets[n % datasets.len()];
            let targets = write_to.to_vec();
            let key = write_key.to_string();
            std::thread::spawn(move || {
                write_until(stop, n as u64, dataset, load.rows, &targets, &key)
            })
        })
        .collect();

    // Servers given by address (this app, or other processes), through a
    // client of the consumer's own.
    let client = reqwest::Client::new();
    let pull = |server: &str, dataset: &str, query: &str| {
        request_to(
            &client,
            Method::GET,
            server,
            &format!("/api/{dataset}?{query}"),
        )
        .bearer_auth(read_key)
        .send()
    };
    let mut copies: Vec<Copy> = ["users", "transactions", "wallets", "game_sessions", "bets"]
        .into_iter()
        .map(Copy::new)
        .collect();
    let started = chrono::Utc::now().naive_utc();
    // Until every write has committed: a write sent just before `stop` may
    // commit well after it, under load.
    let mut windows = Windows::new(
        started - chrono::Duration::seconds(1),
        WINDOW,
        WRITING + Duration::from_secs(60),
    );
    let mut waits = Vec::new();
    let (mut pulled, mut pulls) = (0, 0);
    while let Some(query) = windows.next(&writers).await {
        let server = &pull_from[pulls % pull_from.len()];
        pulls += 1;
        // All datasets at once, the moment the window has ended: that is
        // when writes in flight are most likely to straddle `to`.
        let responses = futures_util::future::join_all(copies.iter().map(|copy| async {
            let response = pull(server, copy.dataset, &query).await.unwrap();
            let status = response.status();
            if status != 200 {
                let body = response.text().await.unwrap();
                panic!("{server} {} {query}: {status} {body}", copy.dataset);
            }
            let timing = response.headers()["server-timing"]
                .to_str()
                .unwrap()
                .to_string();
            (timing, response.text().await.unwrap())
        }))
        .await;
        for (copy, (timing, body)) in copies.iter_mut().zip(responses) {
            waits.push(
                timing
                    .trim_start_matches("settle;dur=")
                    .parse::<f64>()
                    .unwrap(),
            );
            pulled += copy.apply(&body);
        }
    }
    let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let covered = windows.end() - started;

    // The final state, from one window over everything the consumer's
    // windows covered (and all before).
    let everything = windows.everything();
    for copy in &copies {
        let mut truth = Copy::new(copy.dataset);
        let response = pull(&pull_from[0], copy.dataset, &everything)
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{} {everything}: {body}", copy.dataset);
        truth.apply(&body);
        let missing = truth
            .rows
            .keys()
            .filter(|k| !copy.rows.contains_key(*k))
            .count();
        let stale = truth
            .rows
            .iter()
            .filter(|(k, v)| copy.rows.get(*k).is_some_and(|c| c != *v))
            .count();
        assert!(
            truth.rows.len() > 10,
            "{}: the writers wrote too little to test",
            copy.dataset
        );
        assert_eq!(
            (missing, stale, copy.rows.len()),
            (0, 0, truth.rows.len()),
            "{}: (missing, stale, copied) rows in the consumer's copy, of {}",
            copy.dataset,
            truth.rows.len()
        );
    }
    waits.sort_by(f64::total_cmp);
    eprintln!(
        "no-miss: {written} rows written in {} ms, {pulled} pulled in {} pulls of windows up to {} ms after the start; settle wait median {:.3} ms, max {:.3} ms",
        WRITING.as_millis(),
        waits.len(),
        covered.num_milliseconds(),
        waits[waits.len() / 2],
        waits[waits.len() - 1]
    );
}

/// One writer: requests of `rows` rows (ids from a small range, so rows are
/// rewritten often) until `stop`, to each of `servers` in turn. Game actions
/// arrive up to 3 s late. Every write must succeed. Returns rows written.
fn write_until(
    stop: Instant,
    seed: u64,
    dataset: &'static str,
    rows: (usize, usize),
    servers: &[String],
    key: &str,
) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut written = 0;
    let mut version = 0u64;
    runtime.block_on(async {
        while Instant::now() < stop {
            version += 1;
            let rows: Vec<Value> = (0..rng.usize(rows.0..rows.1))
                .map(|_| {
                    let id = rng.i64(1..400);
                    let mut row = sample_row(dataset, id);
                    match dataset {
                        "game_actions" => {
                            let late = chrono::Duration::milliseconds(rng.i64(0..3000));
                            let at = chrono::Utc::now().naive_utc() - late;
                            row["id"] = json!(format!("a{seed}-{version}-{id}"));
                            row["session_id"] = json!(format!("s{}", id % 40));
                            row["amount"] =
                                json!(format!("{}.{:02}", rng.u32(0..100), rng.u32(0..100)));
                            row["created_at"] =
                                json!(at.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
                        }
                        "users" => row["city"] = json!(format!("v{version}")),
                        "transactions" => row["comment"] = json!(format!("v{version}")),
                        "wallets" => row["balance"] = json!(format!("{version}.{id:02}")),
                        _ => row["status"] = json!(format!("v{version}")),
                    }
                    row
                })
                .collect();
            let server = &servers[version as usize % servers.len()];
            let response = request_to(&client, Method::POST, server, &format!("/api/{dataset}"))
                .bearer_auth(key)
                .json(&rows)
                .send()
                .await
                .unwrap();
            let status = response.status();
            assert_eq!(status, 200, "{}", response.text().await.unwrap());
            written += rows.len();
        }
    });
    written
}
