//! The `hourglass` binary: migrate, keys, import, delete, erase, seed.

use crate::helpers::{new_database, Backend};
use std::process::Command;

fn hourglass(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hourglass"))
        .arg("--database")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn keys_import_delete_erase_and_seed_work_from_the_command_line_on_sqlite() {
    keys_import_delete_erase_and_seed_work_from_the_command_line(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
fn keys_import_delete_erase_and_seed_work_from_the_command_line_on_postgres() {
    keys_import_delete_erase_and_seed_work_from_the_command_line(Backend::Postgres);
}

fn keys_import_delete_erase_and_seed_work_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(backend, dir.path());
    let db = std::path::Path::new(&database);
    assert!(ok(hourglass(db, &["migrate"])).contains("migration(s) applied"));

    let key = ok(hourglass(
        db,
        &["keys", "create", "--name", "crm", "--scope", "read,write"],
    ));
    assert!(key.trim().starts_with("hg_"));
    let listed = ok(hourglass(db, &["keys", "list"]));
    assert!(
        listed.contains("crm") && listed.contains("read,write") && !listed.contains(key.trim())
    );
    let held = ok(hourglass(
        db,
        &[
            "keys",
            "create",
            "--name",
            "intarget",
            "--allow",
            "203.0.113.0/24,198.51.100.7",
        ],
    ));
    assert!(held.trim().starts_with("hg_"));
    let listed = ok(hourglass(db, &["keys", "list"]));
    assert!(
        listed.lines().next().unwrap().contains("last used"),
        "{listed}"
    );
    assert!(
        listed.contains("203.0.113.0/24,198.51.100.7/32"),
        "{listed}"
    );
    assert!(listed.contains("anywhere"), "{listed}");
    let failed = hourglass(
        db,
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--allow",
            "intarget.example",
        ],
    );
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("not an address or CIDR block"));
    ok(hourglass(db, &["keys", "revoke", "crm"]));
    let failed = hourglass(db, &["keys", "revoke", "nobody"]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("no key named 'nobody'"));

    let file = dir.path().join("wallets.csv");
    std::fs::write(
        &file,
        "id,player_id,type,balance,currency,created_at\n1,7,Normal,10.5,EUR,2020-10-10 07:00:00\n",
    )
    .unwrap();
    assert!(ok(hourglass(
        db,
        &["import", "wallets", file.to_str().unwrap()]
    ))
    .contains("1 row(s) written to wallets"));
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, "{\"id\": 2, \"player_id\": 7, \"type\": \"Gold\", \"balance\": 1, \"currency\": \"EUR\", \"created_at\": \"2020-10-10 07:00:00\"}\n").unwrap();
    let failed = hourglass(db, &["import", "wallets", bad.to_str().unwrap()]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("row 1: field 'type'"));
    // A bad row after more good ones than a chunk holds: the chunks already
    // written are rolled back with it.
    let late = dir.path().join("late.csv");
    let mut text = String::from("id,player_id,type,balance,currency,created_at\n");
    for n in 0..60_000 {
        text.push_str(&format!("w{n},7,Normal,1,EUR,2020-10-10 07:00:00\n"));
    }
    text.push_str("bad,7,Gold,1,EUR,2020-10-10 07:00:00\n");
    std::fs::write(&late, text).unwrap();
    let failed = hourglass(db, &["import", "wallets", late.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&failed.stderr).contains("row 60001: field 'type'"));
    let mut conn = hourglass::db::establish(&database).unwrap();
    let wallets: i64 = diesel::RunQueryDsl::get_result(
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM wallets)",
        )),
        &mut conn,
    )
    .unwrap();
    assert_eq!(wallets, 1, "nothing of the failed import is left");

    // `delete` takes the keys in a file, as POST /api/<dataset>/deletions does.
    let keys = dir.path().join("gone.csv");
    std::fs::write(&keys, "id\n1\nnever-written\n").unwrap();
    let deleted = ok(hourglass(
        db,
        &["delete", "wallets", keys.to_str().unwrap()],
    ));
    assert!(
        deleted.contains("1 row(s) deleted from wallets, 1 not found"),
        "{deleted}"
    );
    let failed = hourglass(db, &["delete", "game_sessions", keys.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&failed.stderr).contains("unknown dataset"));

    // `erase` blanks a player's personal data, as POST /api/players/<id>/erase does.
    let erased = ok(hourglass(db, &["erase", "7"]));
    assert!(erased.contains("player '7' erased"), "{erased}");
    let failed = hourglass(db, &["erase", "bad\u{7}id"]);
    assert!(String::from_utf8_lossy(&failed.stderr).contains("control character"));

    let seeded = hourglass(db, &["seed", "--players", "20", "--days", "1"]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(String::from_utf8_lossy(&seeded.stderr).contains("seeded"));
}

#[test]
fn fields_are_declared_listed_and_retired_from_the_command_line_on_sqlite() {
    fields_from_the_command_line(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
fn fields_are_declared_listed_and_retired_from_the_command_line_on_postgres() {
    fields_from_the_command_line(Backend::Postgres);
}

fn fields_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(backend, dir.path());
    let db = std::path::Path::new(&database);
    ok(hourglass(db, &["migrate"]));
    assert!(ok(hourglass(
        db,
        &["fields", "add", "users", "vip_level", "integer"]
    ))
    .contains("field 'vip_level' (integer) added to users"));
    ok(hourglass(
        db,
        &["fields", "add", "users", "last_bonus_at", "date"],
    ));
    for (args, says) in [
        (
            ["fields", "add", "users", "vip_level", "integer"],
            "already has a field 'vip_level'",
        ),
        (
            ["fields", "add", "users", "Vip", "integer"],
            "cannot be a field name",
        ),
        (
            ["fields", "add", "users", "registered_at", "date"],
            "is a column of users in the spec",
        ),
        (
            ["fields", "add", "users", "ltv", "money"],
            "unknown field type 'money': use integer, decimal, string or date",
        ),
        (
            ["fields", "add", "bets", "ltv", "decimal"],
            "bets takes no custom fields",
        ),
        (
            ["fields", "add", "players", "ltv", "decimal"],
            "unknown dataset 'players'",
        ),
    ] {
        let failed = hourglass(db, &args);
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(!failed.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        "id,registered_at,vip_level\n11ecc708-32d5-423b-bd59-7d114c26c979,2020-10-10 07:00:00,3\n",
    )
    .unwrap();
    assert!(
        ok(hourglass(db, &["import", "users", file.to_str().unwrap()]))
            .contains("1 row(s) written to users")
    );

    ok(hourglass(db, &["fields", "retire", "users", "vip_level"]));
    let listed = ok(hourglass(db, &["fields", "list"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(
        lines[1].starts_with("users")
            && lines[1].contains("vip_level")
            && lines[1].contains("integer")
    );
    assert!(!lines[1].trim_end().ends_with('-'), "retired: {listed}");
    assert!(
        lines[2].contains("last_bonus_at") && lines[2].trim_end().ends_with('-'),
        "{listed}"
    );
    let failed = hourglass(db, &["import", "users", file.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("field 'vip_level' is not a column here")
    );
}

#[test]
fn commands_other_than_migrate_and_serve_refuse_a_missing_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("hourglas.db");
    let file = dir.path().join("users.csv");
    std::fs::write(&file, "id,registered_at\nu1,2020-10-10 07:00:00\n").unwrap();
    for args in [
        vec!["keys", "list"],
        vec!["keys", "create", "--name", "crm"],
        vec!["import", "users", file.to_str().unwrap()],
        vec!["fields", "list"],
        vec!["seed", "--players", "1", "--days", "1"],
    ] {
        let output = hourglass(&missing, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr.contains("there is no database at") && stderr.contains("hourglass migrate"),
            "{args:?}: {stderr}"
        );
        assert!(!missing.exists(), "{args:?} created the file");
    }
    ok(hourglass(&missing, &["migrate"]));
    assert!(missing.exists());
}

/// `serve --demo` on a port in use fails at once, before seeding, printing
/// the error and nothing else.
#[test]
fn serve_demo_on_a_busy_port_fails_at_once_with_the_error_alone() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_hourglass"))
        .arg("--database")
        .arg(dir.path().join("demo.db"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "nothing on stdout"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("hourglass: cannot listen on 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    assert!(
        lines[0].contains("another program is using that port"),
        "{stderr}"
    );
    // The cause once.
    assert_eq!(lines[0].matches("in use").count(), 1, "{stderr}");
    drop(busy);
}

/// `--bind` without a host is not a busy port: the hint says what --bind takes.
#[test]
fn a_bind_without_a_host_says_what_bind_takes() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hourglass"))
        .arg("--database")
        .arg(dir.path().join("x.db"))
        .args(["serve", "--bind", "9000"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--bind takes HOST:PORT"), "{stderr}");
}
