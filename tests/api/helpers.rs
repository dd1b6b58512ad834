//! `spawn_app(backend)`: the real application on port 0 with its own
//! database (a SQLite file, or a database in the test PostgreSQL cluster), a
//! read key, a write key, and a clock the test controls.
//!
//! Requests read like the API: `app.get(path)`, `app.pull(dataset, query)`,
//! `app.pull_as(dataset, &window(from, to), format)`, `app.push(…)`,
//! `app.health()`, `app.metric(name, labels)`. A test about the request
//! itself (no key, another key, a raw header, another method) builds it
//! with `app.request(method, path)`; one that talks to another server
//! process, or through a client of its own, with `ServerProcess::request`
//! or `request_to(client, method, base, path)`. A test that must wait for
//! something to have happened waits on it with `eventually`, never a sleep.

use hourglass::auth::{self, Scopes};
use hourglass::clock::{Clock, ManualClock, SystemClock};
use hourglass::config::Settings;
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::column::{Column, Kind};
use hourglass::datasets::{Dataset, Role};
use hourglass::db::{self, DbConnection, Pools};
use hourglass::ingest::{self, fields::Fields};
use hourglass::startup::Application;
use hourglass::timestamp::Timestamp;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(backend: Backend)` as two tests,
/// `sqlite::name` and `postgres::name`. The PostgreSQL ones are ignored, and
/// say so, where no PostgreSQL binaries were found at build time (build.rs).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                #[cfg_attr(not(hourglass_pg), ignore = "no PostgreSQL binaries were found at build time")]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

pub struct TestApp {
    pub address: String,
    pub read_key: String,
    pub write_key: String,
    pub client: reqwest::Client,
    /// The server's clock, unless the app runs on the system clock.
    pub clock: Option<Arc<ManualClock>>,
    pub pools: Pools,
    /// Where the app's database is, for a second process on the same one.
    pub database_url: String,
    /// The SQLite file, on SQLite.
    pub db_path: Option<std::path::PathBuf>,
    _dir: tempfile::TempDir,
}

/// A new, empty database on `backend`, kept in or under `dir`.
pub fn new_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => dir.join("hourglass.db").to_str().unwrap().to_string(),
        Backend::Postgres => crate::pg_cluster::new_database(),
    }
}

/// Parses a test timestamp.
pub fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// Where a test app's manual clock stands between writes: after every window
/// the tests pull, so that none of them ends in the server's future.
pub const PRESENT: &str = "2020-10-11 00:00:00";

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// As `spawn_app`, after `configure` has adjusted the settings.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let clock = Arc::new(ManualClock::new(ts(PRESENT)));
    spawn(backend, configure, clock.clone(), Some(clock)).await
}

/// The app on the system clock, for tests that race real time.
pub async fn spawn_app_on_system_clock(backend: Backend) -> TestApp {
    spawn_app_on_system_clock_with(backend, |_| {}).await
}

/// As `spawn_app_on_system_clock`, after `configure` has adjusted the settings.
pub async fn spawn_app_on_system_clock_with(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn(backend, configure, Arc::new(SystemClock), None).await
}

async fn spawn(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
    server_clock: Arc<dyn Clock>,
    clock: Option<Arc<ManualClock>>,
) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = tempfile::tempdir().unwrap();
    let database_url = new_database(backend, dir.path());
    let mut settings = Settings::for_database(&database_url);
    settings.bind = "127.0.0.1:0".into();
    settings.workers = 2;
    configure(&mut settings);
    let pools = db::open(&settings.database).unwrap();
    let (read_key, write_key) = {
        let mut conn = pools.write.get().unwrap();
        let now = Timestamp::now();
        (
            auth::keys::create_key(
                &mut conn,
                "reader",
                Scopes {
                    read: true,
                    write: false,
                },
                now,
            )
            .unwrap(),
            auth::keys::create_key(
                &mut conn,
                "writer",
                Scopes {
                    read: true,
                    write: true,
                },
                now,
            )
            .unwrap(),
        )
    };
    let app = Application::build_with(&settings, pools.clone(), server_clock).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        read_key,
        write_key,
        client: reqwest::Client::builder().no_gzip().build().unwrap(),
        clock,
        pools,
        db_path: (backend == Backend::Sqlite).then(|| database_url.clone().into()),
        database_url,
        _dir: dir,
    }
}

/// A request to `path` (path and query, from its leading `/`, e.g.
/// `/api/users?from=…&to=…`) on the server at `base` (`http://host:port`),
/// through `client`, with no key. For a server other than a [`TestApp`]'s
/// (another process, a list of them) or a client of the test's own; a
/// `TestApp` has [`TestApp::request`].
pub fn request_to(
    client: &reqwest::Client,
    method: Method,
    base: &str,
    path: &str,
) -> reqwest::RequestBuilder {
    assert!(path.starts_with('/'), "a path starts with '/': {path}");
    client.request(method, format!("{base}{path}"))
}

/// Waits until `condition` holds, looking every few milliseconds, and
/// returns how long that took; panics, saying what it waited for, if it
/// does not hold within `within`. For tests that must wait until something
/// has happened (a write holds its lock, a pull has reached the server, a
/// stream was cut) rather than sleep and hope it has.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut condition: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if condition().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "waited {within:?} for {what}, in vain"
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
}

impl TestApp {
    /// A request to `path` (path and query, e.g. `/api/users?from=…`) on
    /// this app, with no key: for tests about the request itself (no key,
    /// another key, a raw header, another method). Add the key, headers and
    /// body, then `send()`.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        request_to(&self.client, method, &self.address, path)
    }

    /// `GET {path}` (path and query, e.g. `/health` or
    /// `/api/users/count?from=…&to=…`) with the read key.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path)
            .bearer_auth(&self.read_key)
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/{dataset}?{query}` with the read key: a pull with any
    /// query (a [`window`], maybe with more parameters).
    pub async fn pull(&self, dataset: &str, query: &str) -> reqwest::Response {
        self.get(&format!("/api/{dataset}?{query}")).await
    }

    /// Pulls `window` (a [`window`] query) of `dataset` in `format` (`csv`,
    /// `json` or `ndjson`) with the read key.
    pub async fn pull_as(&self, dataset: &str, window: &str, format: &str) -> reqwest::Response {
        self.pull(dataset, &format!("{window}&format={format}"))
            .await
    }

    /// Pulls a window and returns the body, asserting 200.
    pub async fn pull_text(&self, dataset: &str, query: &str) -> String {
        let response = self.pull(dataset, query).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Pulls a window as JSON and returns its objects, asserting 200.
    pub async fn pull_json(&self, dataset: &str, query: &str) -> Vec<Value> {
        serde_json::from_str(
            &self
                .pull_text(dataset, &format!("{query}&format=json"))
                .await,
        )
        .unwrap()
    }

    /// `GET /health`, with no key (as a load balancer asks), asserting 200:
    /// its body.
    pub async fn health(&self) -> Value {
        let response = self.request(Method::GET, "/health").send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The value of `metric` in `GET /metrics`, summed over the series
    /// whose labels include `labels` (0 if there is none): for waiting on
    /// the server's state, e.g. `hourglass_streams_in_flight`.
    pub async fn metric(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
        scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                other => panic!("{metric} is not a counter or a gauge: {other:?}"),
            })
            .sum()
    }

    /// Waits (at most 10 s) until the server counts `n` pulls in flight in
    /// `/metrics`. A pull takes its place there before it waits for
    /// anything (the end of its window, writes in flight), so this is how a
    /// test knows that a pull it sent has reached the server.
    pub async fn until_pulls_in_flight(&self, n: usize) {
        eventually(
            Duration::from_secs(10),
            &format!("{n} pulls in flight (hourglass_streams_in_flight)"),
            || async { self.metric("hourglass_streams_in_flight", &[]).await == n as f64 },
        )
        .await;
    }

    /// `POST /api/{dataset}` with the write key.
    pub async fn push(
        &self,
        dataset: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.request(Method::POST, &format!("/api/{dataset}"))
            .bearer_auth(&self.write_key)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Sets the server's (manual) clock.
    pub fn set_clock(&self, at: &str) {
        self.clock
            .as_ref()
            .expect("this app runs on the system clock")
            .set(ts(at));
    }

    /// Writes JSON rows with the clock at `at`, asserting 200, then puts the
    /// clock back to the `PRESENT`.
    pub async fn push_at(&self, at: &str, dataset: &str, rows: Value) {
        self.set_clock(at);
        let response = self
            .push(dataset, "application/json", rows.to_string())
            .await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        self.set_clock(PRESENT);
    }

    /// A direct connection, for setting up or inspecting state.
    pub fn conn(&self) -> db::PooledConn {
        self.pools.write.get().unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .unwrap()
            .n
    }
}

/// The window query for `[from, to)`, with spaces sent as `+`.
pub fn window(from: &str, to: &str) -> String {
    format!(
        "from={}&to={}",
        from.replace(' ', "+"),
        to.replace(' ', "+")
    )
}

/// A valid row of `dataset` (any pushable one) with key `id`, in JSON. The
/// fixtures follow the datasets' description: every column but the stamp is
/// filled with a value of its kind ([`fixture`]), so a new column is covered
/// by every test that writes rows.
pub fn sample_row(dataset: &str, id: impl std::fmt::Display) -> Value {
    let def = Dataset::named(dataset).def();
    let mut row = serde_json::Map::new();
    for column in def.columns {
        if Some(column.name.as_ref()) == def.stamp {
            continue;
        }
        let value = if column.name == def.key {
            Value::String(id.to_string())
        } else {
            fixture(column)
        };
        row.insert(column.name.to_string(), value);
    }
    Value::Object(row)
}

/// A value for `column` that exercises its kind: text that CSV must quote
/// (on one line, so that tests may count rows by lines),
/// an amount that JSON must keep exact, an enumeration in the wrong case.
pub fn fixture(column: &Column) -> Value {
    use serde_json::json;
    if let Some(first) = column.values.first() {
        return json!(first.to_lowercase());
    }
    match column.kind {
        Kind::Id => json!(format!("sr:{}:7", column.name)),
        Kind::Text => json!(format!("{}: O'Neil, \"Jr\"", column.name)),
        Kind::Date => json!("1990-02-03"),
        Kind::Time => json!("2020-10-10 06:59:00"),
        Kind::Money => json!(1000000.000001),
        Kind::Cents => json!("12.5"),
        Kind::Int => json!(42),
        Kind::Bool => json!(true),
        Kind::Bit => json!(0),
    }
}

/// What a pull writes, in CSV, for a `written` value of `column`.
pub fn expected_output(column: &Column, written: &Value) -> String {
    if let Some(canonical) = column.values.iter().find(|v| {
        Some(v.to_lowercase().as_str()) == written.as_str().map(str::to_lowercase).as_deref()
    }) {
        return canonical.to_string();
    }
    match (column.kind, written) {
        (_, Value::Null) => String::new(),
        (Kind::Money | Kind::Cents, value) => {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), String::from);
            hourglass::money::Money::parse(&text).unwrap().to_string()
        }
        (Kind::Bit, value) => (if value == &Value::Bool(true) || value == &serde_json::json!(1) {
            "1"
        } else {
            "0"
        })
        .into(),
        (_, Value::String(text)) => text.clone(),
        (_, other) => other.to_string(),
    }
}

/// The datasets windowed on hourglass's own write stamp, with their stamp column.
pub fn stamped() -> Vec<(&'static str, &'static str)> {
    Dataset::all()
        .filter(|d| d.def().role == Role::Stored)
        .map(|d| (d.name(), d.def().stamp.unwrap()))
        .collect()
}

/// Validated rows of `dataset` from JSON objects, as the write path reads them.
pub fn rows_of(conn: &mut DbConnection, dataset: &str, objects: &[Value]) -> Vec<ingest::Row> {
    let catalog = Catalog::load(conn).unwrap();
    let shape = catalog.shape(Dataset::named(dataset));
    objects
        .iter()
        .map(|o| ingest::parse_row(shape, &Fields::Json(o.as_object().unwrap())).unwrap())
        .collect()
}

/// `hourglass serve` as a process of its own, killed when dropped.
pub struct ServerProcess {
    pub address: String,
    /// A client of its own, with reqwest's defaults (gzip accepted).
    client: reqwest::Client,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts the binary on `database_url` (plus `args`) on a free port and
    /// waits until it answers `/health`.
    pub async fn start(database_url: &str, args: &[&str]) -> ServerProcess {
        Self::spawn(database_url, args, |command| {
            command.env("RUST_LOG", "warn");
        })
        .await
    }

    /// As [`ServerProcess::start`], logging at `info` into `log`.
    pub async fn start_logging(
        database_url: &str,
        args: &[&str],
        log: &std::path::Path,
    ) -> ServerProcess {
        let file = std::fs::File::create(log).unwrap();
        Self::spawn(database_url, args, |command| {
            command.env("RUST_LOG", "info").stderr(file);
        })
        .await
    }

    async fn spawn(
        database_url: &str,
        args: &[&str],
        configure: impl FnOnce(&mut std::process::Command),
    ) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"));
        command
            .args([
                "--database",
                database_url,
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .args(args);
        configure(&mut command);
        let child = command.spawn().expect("hourglass starts");
        let server = ServerProcess {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            child,
        };
        for _ in 0..300 {
            if server
                .request(Method::GET, "/health")
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return server;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("hourglass serve did not come up on {}", server.address);
    }

    /// A request to `path` (path and query) on this process, through its
    /// own client, with no key: as [`TestApp::request`].
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        request_to(&self.client, method, &self.address, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most 10 s) for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on the PID of a child this struct owns and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "hourglass did not stop on SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How [`bet_writer`] writes.
#[derive(Debug, Clone)]
pub struct BetWrites {
    /// Bets are `b0`… `b{bets-1}`: a small pool, so that each is created,
    /// settled, moved and deleted again and again.
    pub bets: u64,
    /// Players are `p0`… `p{players-1}`.
    pub players: u64,
    /// Milliseconds between writes (none if empty).
    pub pause_ms: std::ops::Range<u64>,
    /// Some writes rewrite a player (a new city) instead.
    pub change_players: bool,
}

/// Until `stop`, creates bets, settles them won or lost, moves them to
/// other players and deletes them (and with `change_players`, rewrites
/// players), through the HTTP API of `server`. Runs on the calling thread;
/// returns the writes made.
pub fn bet_writer(
    stop: std::time::Instant,
    seed: u64,
    server: String,
    key: String,
    how: BetWrites,
) -> usize {
    use serde_json::json;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut writes = 0;
    runtime.block_on(async {
        while std::time::Instant::now() < stop {
            let id = format!("b{}", rng.u64(0..how.bets));
            let draw = rng.u8(0..12);
            let request = if draw == 0 && how.change_players {
                let mut user = sample_row("users", format!("p{}", rng.u64(0..how.players)));
                user["city"] = json!(format!("City {}", rng.u32(..)));
                request_to(&client, Method::POST, &server, "/api/users").json(&json!([user]))
            } else if draw < 3 {
                request_to(&client, Method::DELETE, &server, &format!("/api/bets/{id}"))
            } else {
                let mut bet = sample_row("bets", &id);
                bet["player_id"] = json!(format!("p{}", rng.u64(0..how.players)));
                bet["status"] = json!(["open", "won", "lost"][rng.usize(0..3)]);
                bet["win_amount"] = json!(format!("{}.{:02}", rng.u32(1..500), rng.u32(0..100)));
                request_to(&client, Method::POST, &server, "/api/bets").json(&json!([bet]))
            };
            let response = request.bearer_auth(&key).send().await.unwrap();
            let status = response.status().as_u16();
            assert!(
                [200, 204, 404].contains(&status),
                "{status}: {}",
                response.text().await.unwrap()
            );
            writes += 1;
            if !how.pause_ms.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(
                    rng.u64(how.pause_ms.clone()),
                ))
                .await;
            }
        }
    });
    writes
}
