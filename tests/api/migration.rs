//! A database made by the migrations before text identifiers, holding
//! integer ids, migrates in place: every row kept, each id its decimal text.

use crate::helpers::{new_database, Backend};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use hourglass::config::Settings;
use hourglass::datasets::catalog::Catalog;
use hourglass::datasets::Dataset;
use hourglass::db;
use hourglass::timestamp::{TimeWindow, Timestamp};
use hourglass::window::Format;

/// The migrations that made integer-id databases, by directory order.
const INTEGER_ID_MIGRATIONS: usize = 2;

/// Rows as the integer-id version stored them (stamped 2020-10-10 07:00:00).
const OLD_ROWS: &str = "
INSERT INTO users (id, first_name, registered_at, modified_at, is_blocked)
    VALUES (51153, 'Ann', 1601983423000000, 1602313200000000, TRUE),
           (9007199254740993, NULL, 1601983423000000, 1602313200000000, NULL);
INSERT INTO contacts (player_id, email, created_at, modified_at)
    VALUES (51153, 'a@example.com', 1601983423000000, 1602313200000000);
INSERT INTO transactions (id, player_id, amount, currency, dir, created_at, updated_at, wallet_id)
    VALUES (1001, 51153, 12500000, 'EUR', 'IN', 1602313200000000, 1602313200000000, 70),
           (1002, 51153, -1, 'EUR', 'OUT', 1602313200000000, 1602313200000000, NULL);
INSERT INTO logins (id, player_id, created_at, is_success, modified_at)
    VALUES (5, 51153, 1602313200000000, FALSE, 1602313200000000);
INSERT INTO wallets (id, player_id, type, balance, currency, created_at, modified_at)
    VALUES (70, 51153, 'Normal', 1000000, 'EUR', 1602313200000000, 1602313200000000);
INSERT INTO game_actions (id, session_id, player_id, game_name, currency, action, amount, created_at, modified_at)
    VALUES ('a1', 's1', 51153, 'Starburst', 'EUR', 'bet', 100000, 1602313200000000, 1602313200000000);
INSERT INTO tournaments (id, name, date_start, modified_at)
    VALUES (17, 'Cup', 1602313200000000, 1602313200000000);
INSERT INTO events (id, tournament_id, title, status, start_time, type, modified_at)
    VALUES (12345, 17, 'A v B', 'live', 1602313200000000, 'match', 1602313200000000);
INSERT INTO bets (id, player_id, type, created_at, modified_at)
    VALUES (88, 51153, 'single', 1602313200000000, 1602313200000000);
INSERT INTO bet_selections (id, bet_id, event_id, market, created_at, updated_at)
    VALUES (881, 88, 12345, '1X2', 1602313200000000, 1602313200000000);
";

fn integer_id_database(backend: Backend, url: &str) {
    old_database(backend, url, INTEGER_ID_MIGRATIONS, OLD_ROWS);
}

/// A database made by the first `migrations` migrations, holding `rows`.
fn old_database(backend: Backend, url: &str, migrations: usize, rows: &str) {
    fn build<C: MigrationHarness<B> + SimpleConnection, B: diesel::backend::Backend>(
        conn: &mut C,
        folder: &str,
        count: usize,
        rows: &str,
    ) {
        let path = format!("{}/migrations/{folder}", env!("CARGO_MANIFEST_DIR"));
        let migrations = FileBasedMigrations::from_path(path).unwrap();
        for _ in 0..count {
            conn.run_next_migration(migrations.clone()).unwrap();
        }
        conn.batch_execute(rows).unwrap();
    }
    match backend {
        Backend::Sqlite => build(
            &mut diesel::SqliteConnection::establish(url).unwrap(),
            "sqlite",
            migrations,
            rows,
        ),
        Backend::Postgres => build(
            &mut diesel::PgConnection::establish(url).unwrap(),
            "postgres",
            migrations,
            rows,
        ),
    }
}

/// How many migrations come before `name`, by directory order (the same on
/// both backends).
fn migrations_before(name: &str) -> usize {
    let folder = format!("{}/migrations/sqlite", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names.iter().position(|n| n == name).expect("the migration")
}

fn migrates_in_place_keeping_every_row(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = new_database(backend, dir.path());
    integer_id_database(backend, &url);

    let settings = Settings::for_database(&url);
    let pools = db::open(&settings.database).unwrap();
    let mut conn = pools.write.get().unwrap();
    let catalog = Catalog::load(&mut conn).unwrap();
    let window = TimeWindow::new(
        Timestamp::parse("2020-10-10 07:00:00").unwrap(),
        Timestamp::parse("2020-10-10 08:00:00").unwrap(),
    )
    .unwrap();
    let pull = |conn: &mut db::DbConnection, dataset: &str| {
        let mut rows = 0;
        let csv = hourglass::export::window(
            conn,
            catalog.shape(Dataset::named(dataset)),
            window,
            Format::Csv,
            Vec::new(),
            &mut rows,
        )
        .unwrap();
        String::from_utf8(csv).unwrap()
    };
    for (dataset, expected) in [
        (
            "users",
            "51153,Ann,,,,,,,2020-10-06 11:23:43,,,,2020-10-10 07:00:00,true,,\n\
             9007199254740993,,,,,,,,2020-10-06 11:23:43,,,,2020-10-10 07:00:00,,,\n",
        ),
        (
            "contacts",
            "51153,a@example.com,,,,,,,2020-10-06 11:23:43,2020-10-10 07:00:00\n",
        ),
        (
            "transactions",
            "1001,51153,12.500000,EUR,,,,IN,2020-10-10 07:00:00,2020-10-10 07:00:00,,70,,,,\n\
             1002,51153,-0.000001,EUR,,,,OUT,2020-10-10 07:00:00,2020-10-10 07:00:00,,,,,,\n",
        ),
        (
            "logins",
            "5,51153,,2020-10-10 07:00:00,,,,,0,,2020-10-10 07:00:00\n",
        ),
        (
            "wallets",
            "70,51153,Normal,1.000000,EUR,2020-10-10 07:00:00,2020-10-10 07:00:00\n",
        ),
        (
            "game_sessions",
            "51153,s1,,Starburst,EUR,1,0,0.100000,0.000000,2020-10-10 07:00:00,2020-10-10 07:00:00,,,,,\n",
        ),
        (
            "tournaments",
            "17,Cup,,,,2020-10-10 07:00:00,,2020-10-10 07:00:00\n",
        ),
        (
            "events",
            "12345,17,A v B,live,2020-10-10 07:00:00,,match,2020-10-10 07:00:00\n",
        ),
        (
            "bets",
            "88,51153,,single,,,,,2020-10-10 07:00:00,,2020-10-10 07:00:00\n",
        ),
        (
            "bet_selections",
            "881,88,12345,,,1X2,2020-10-10 07:00:00,2020-10-10 07:00:00\n",
        ),
    ] {
        let csv = pull(&mut conn, dataset);
        let body = csv.split_once('\n').unwrap().1;
        assert_eq!(body, expected, "{dataset}");
    }
}

#[test]
fn an_integer_id_database_migrates_in_place_on_sqlite() {
    migrates_in_place_keeping_every_row(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
fn an_integer_id_database_migrates_in_place_on_postgres() {
    migrates_in_place_keeping_every_row(Backend::Postgres);
}

/// Game actions as the version before kept sessions stored them: three
/// sessions, one with a late action written an hour after the others, one
/// whose actions carry two IPs, amounts with six decimals.
const ACTIONS_BEFORE_KEPT_SESSIONS: &str = "
INSERT INTO game_actions (id, session_id, player_id, game_name, currency, action, amount, ip, created_at, modified_at)
    VALUES ('a1', 's1', 'p1', 'Starburst', 'EUR', 'bet', 1100000, '10.0.0.2', 1602313800000000, 1602313800000000),
           ('a2', 's1', 'p1', 'Starburst', 'EUR', 'win', 250000, '10.0.0.1', 1602315000000000, 1602315000000000),
           ('a3', 's1', 'p1', 'Starburst', 'EUR', 'bet', 2000001, NULL, 1602316800000000, 1602320400000000),
           ('b1', 's2', 'p2', 'Book', 'USD', 'bet', 5000000, NULL, 1602314000000000, 1602314000000000),
           ('c1', 's3', 'p1', 'Starburst', 'EUR', 'win', 1, NULL, 1602306000000000, 1602306000000000);
";

fn migrates_sessions_from_their_actions(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = new_database(backend, dir.path());
    old_database(
        backend,
        &url,
        migrations_before("2026-12-04-000000_game_sessions_kept"),
        ACTIONS_BEFORE_KEPT_SESSIONS,
    );
    let settings = Settings::for_database(&url);
    let pools = db::open(&settings.database).unwrap();
    let mut conn = pools.write.get().unwrap();
    let catalog = Catalog::load(&mut conn).unwrap();
    let sessions = catalog.shape(Dataset::named("game_sessions"));
    let pull = |conn: &mut db::DbConnection, from: &str, to: &str| {
        let window = TimeWindow::new(
            Timestamp::parse(from).unwrap(),
            Timestamp::parse(to).unwrap(),
        )
        .unwrap();
        let mut rows = 0;
        let csv =
            hourglass::export::window(conn, sessions, window, Format::Csv, Vec::new(), &mut rows)
                .unwrap();
        let mut lines: Vec<String> = String::from_utf8(csv)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect();
        lines.sort();
        assert_eq!(sessions.count(conn, window).unwrap(), lines.len() as i64);
        lines
    };
    let s1 = "p1,s1,,Starburst,EUR,2,1,3.100001,0.250000,2020-10-10 07:10:00,2020-10-10 08:00:00,,,10.0.0.1,,";
    let s2 = "p2,s2,,Book,USD,1,0,5.000000,0.000000,2020-10-10 07:13:20,2020-10-10 07:13:20,,,,,";
    let s3 =
        "p1,s3,,Starburst,EUR,0,1,0.000000,0.000001,2020-10-10 05:00:00,2020-10-10 05:00:00,,,,,";
    // Each window finds the sessions the actions' rule found before.
    assert_eq!(
        pull(&mut conn, "2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        [s1, s2]
    );
    assert_eq!(
        pull(&mut conn, "2020-10-10 08:00:00", "2020-10-10 09:00:00"),
        [s1]
    );
    assert_eq!(
        pull(&mut conn, "2020-10-10 09:00:00", "2020-10-10 10:00:00"),
        [s1]
    );
    assert_eq!(
        pull(&mut conn, "2020-10-10 05:00:00", "2020-10-10 06:00:00"),
        [s3]
    );
    assert!(pull(&mut conn, "2020-10-10 06:00:00", "2020-10-10 07:00:00").is_empty());
    // Whole hours are found on the sessions' hours, computed from the
    // actions there were.
    assert_eq!(
        pull(&mut conn, "2020-10-10 04:00:00", "2020-10-10 10:00:00"),
        [s1, s3, s2]
    );
    assert_eq!(
        pull(&mut conn, "2020-10-10 06:00:00", "2020-10-10 09:00:00"),
        [s1, s2]
    );

    // And the kept totals go on from there.
    let clock =
        hourglass::clock::ManualClock::new(Timestamp::parse("2020-10-10 11:00:00").unwrap());
    let mut action = crate::game_sessions::action("a4", "s1", "win", "1", "2020-10-10 10:30:00");
    action["player_id"] = "p1".into();
    let body = serde_json::json!([action]);
    hourglass::ingest::ingest(
        &mut conn,
        &clock,
        catalog.shape(Dataset::named("game_actions")),
        hourglass::ingest::BodyFormat::Json,
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        pull(&mut conn, "2020-10-10 10:00:00", "2020-10-10 11:00:00"),
        ["p1,s1,sb,Starburst,EUR,2,2,3.100001,1.250000,2020-10-10 07:10:00,2020-10-10 10:30:00,NetEnt,Normal,10.0.0.1,UA,r"]
    );
}

#[test]
fn kept_sessions_are_computed_from_the_actions_there_are_on_sqlite() {
    migrates_sessions_from_their_actions(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
fn kept_sessions_are_computed_from_the_actions_there_are_on_postgres() {
    migrates_sessions_from_their_actions(Backend::Postgres);
}
