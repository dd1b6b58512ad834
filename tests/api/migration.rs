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
    fn build<C: MigrationHarness<B> + SimpleConnection, B: diesel::backend::Backend>(
        conn: &mut C,
        folder: &str,
    ) {
        let path = format!("{}/migrations/{folder}", env!("CARGO_MANIFEST_DIR"));
        let migrations = FileBasedMigrations::from_path(path).unwrap();
        for _ in 0..INTEGER_ID_MIGRATIONS {
            conn.run_next_migration(migrations.clone()).unwrap();
        }
        conn.batch_execute(OLD_ROWS).unwrap();
    }
    match backend {
        Backend::Sqlite => build(
            &mut diesel::SqliteConnection::establish(url).unwrap(),
            "sqlite",
        ),
        Backend::Postgres => build(
            &mut diesel::PgConnection::establish(url).unwrap(),
            "postgres",
        ),
    }
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
