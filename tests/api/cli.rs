//! The `hourglass` binary: migrate, keys, import, seed.

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
fn keys_import_and_seed_work_from_the_command_line_on_sqlite() {
    keys_import_and_seed_work_from_the_command_line(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(hourglass_pg),
    ignore = "no PostgreSQL binaries were found at build time"
)]
fn keys_import_and_seed_work_from_the_command_line_on_postgres() {
    keys_import_and_seed_work_from_the_command_line(Backend::Postgres);
}

fn keys_import_and_seed_work_from_the_command_line(backend: Backend) {
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

    let seeded = hourglass(db, &["seed", "--players", "20", "--days", "1"]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(String::from_utf8_lossy(&seeded.stderr).contains("seeded"));
}
