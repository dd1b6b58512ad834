//! `spawn_app(backend)`: the real application on port 0 with its own
//! database (a SQLite file, or a database in the test PostgreSQL cluster), a
//! read key, a write key, and a clock the test controls.

use hourglass::auth::{self, Scopes};
use hourglass::clock::{Clock, ManualClock, SystemClock};
use hourglass::config::Settings;
use hourglass::db::{self, DbConnection, Pools};
use hourglass::startup::Application;
use hourglass::timestamp::Timestamp;
use serde_json::Value;
use std::sync::Arc;

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
    spawn(backend, |_| {}, Arc::new(SystemClock), None).await
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
            auth::create_key(
                &mut conn,
                "reader",
                Scopes {
                    read: true,
                    write: false,
                },
                now,
            )
            .unwrap(),
            auth::create_key(
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

impl TestApp {
    /// `GET /api/{dataset}?{query}` with the read key.
    pub async fn pull(&self, dataset: &str, query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/api/{dataset}?{query}", self.address))
            .bearer_auth(&self.read_key)
            .send()
            .await
            .unwrap()
    }

    /// Pulls a window and returns the body, asserting 200.
    pub async fn pull_text(&self, dataset: &str, query: &str) -> String {
        let response = self.pull(dataset, query).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Pulls a window as JSON and returns its objects.
    pub async fn pull_json(&self, dataset: &str, query: &str) -> Vec<Value> {
        serde_json::from_str(
            &self
                .pull_text(dataset, &format!("{query}&format=json"))
                .await,
        )
        .unwrap()
    }

    /// `POST /api/{dataset}` with the write key.
    pub async fn push(
        &self,
        dataset: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}/api/{dataset}", self.address))
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

/// A valid row of every pushable dataset with id `id`, in JSON.
pub fn sample_row(dataset: &str, id: i64) -> Value {
    use serde_json::json;
    match dataset {
        "users" => {
            json!({"id": id, "first_name": "Ann", "last_name": "O'Neil, \"Jr\"", "gender": "f", "country": "FI",
            "city": "Espoo", "ip": "10.0.0.1", "birthday": "1990-02-03", "registered_at": "2020-10-06 11:43:43",
            "ref_code": "r1", "traffic_source": "google", "user_agent": "UA/1.0", "is_blocked": false,
            "self_excluded": true, "locale": "fi_FI"})
        }
        "contacts" => {
            json!({"player_id": id, "email": "a@example.com", "email_confirmed_at": "2020-10-06 12:00:00",
            "email_subscribe": true, "phone": "+358401234567", "phone_subscribe": false, "push_token": null,
            "created_at": "2020-10-06 11:43:43"})
        }
        "transactions" => {
            json!({"id": id, "player_id": 7, "amount": 12.5, "currency": "EUR", "type": "Cash back",
            "status": "Success", "payment_system": "Visa", "dir": "IN", "created_at": "2020-10-10 06:59:00",
            "invoice_id": "inv-1", "wallet_id": 70, "user_agent": "UA", "ip": "10.0.0.2", "requisite": "4111 **** 1111",
            "comment": "multi\nline"})
        }
        "logins" => {
            json!({"id": id, "player_id": 7, "ip": "10.0.0.3", "created_at": "2020-10-10 06:30:00",
            "ref_code": "r", "traffic_source": "t", "user_agent": "UA", "host": "m1.example.com", "is_success": 0,
            "fail_reason": "wrong password"})
        }
        "wallets" => {
            json!({"id": id, "player_id": 7, "type": "Prize", "balance": "1000000.000001", "currency": "EUR",
            "created_at": "2020-10-01 00:00:00"})
        }
        "tournaments" => json!({"id": id, "name": "Cup", "sport_id": "1", "sport_name": "Football",
            "country_code": "FI", "dateStart": "2020-10-11 00:00:00", "dateEnd": null}),
        "events" => json!({"id": id, "tournament_id": 1, "title": "A v B", "status": "live",
            "startTime": "2020-10-11 18:00:00", "endTime": "2020-10-11 20:00:00", "type": "match"}),
        "bets" => {
            json!({"id": id, "player_id": 7, "status": "won", "type": "single", "stake": "10",
            "win_amount": "18.50", "currency": "EUR", "kind": "Normal", "created_at": "2020-10-10 06:10:00",
            "user_agent": "UA"})
        }
        "bet_selections" => {
            json!({"id": id, "bet_id": 1, "event_id": 1, "ratio": 1.85, "status": "won",
            "market": "1X2", "created_at": "2020-10-10 06:10:00"})
        }
        "game_actions" => {
            json!({"id": format!("a{id}"), "session_id": "s1", "player_id": 7, "game_code": "g1",
            "game_name": "Starburst", "game_vendor": "NetEnt", "currency": "EUR", "balance_type": "Normal",
            "action": "bet", "amount": "0.10", "ip": "10.0.0.4", "user_agent": "UA", "ref_code": "r",
            "created_at": "2020-10-10 06:20:00"})
        }
        other => panic!("no sample for {other}"),
    }
}

/// The datasets windowed on hourglass's own write stamp, with their stamp column.
pub const STAMPED: &[(&str, &str)] = &[
    ("users", "modified_at"),
    ("contacts", "modified_at"),
    ("transactions", "updated_at"),
    ("logins", "modified_at"),
    ("wallets", "modified_at"),
    ("tournaments", "modified_at"),
    ("events", "modified_at"),
    ("bets", "modified_at"),
    ("bet_selections", "updated_at"),
];

/// `hourglass serve` as a process of its own, killed when dropped.
pub struct ServerProcess {
    pub address: String,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts the binary on `database_url` (plus `args`) on a free port and
    /// waits until it answers `/health`.
    pub async fn start(database_url: &str, args: &[&str]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_hourglass"))
            .args([
                "--database",
                database_url,
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .args(args)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("hourglass starts");
        let server = ServerProcess {
            address: format!("http://127.0.0.1:{port}"),
            child,
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client
                .get(format!("{}/health", server.address))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return server;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("hourglass serve did not come up on {}", server.address);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
