//! Looks for PostgreSQL's server binaries (initdb, postgres) for the test
//! suite, which starts a throwaway cluster with them. Found: the tests get
//! `cfg(hourglass_pg)` and `HOURGLASS_PG_BIN_DIR`. Not found: a build warning
//! says so, and the PostgreSQL tests are marked ignored; with
//! HOURGLASS_REQUIRE_PG=1 (as CI sets) the build fails instead.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rustc-check-cfg=cfg(hourglass_pg)");
    println!("cargo:rerun-if-env-changed=HOURGLASS_PG_BIN");
    println!("cargo:rerun-if-env-changed=HOURGLASS_REQUIRE_PG");
    println!("cargo:rerun-if-changed=build.rs");
    // embed_migrations! reads these at compile time.
    println!("cargo:rerun-if-changed=migrations");
    match find_pg_bin() {
        Some(dir) => {
            println!("cargo:rustc-cfg=hourglass_pg");
            println!("cargo:rustc-env=HOURGLASS_PG_BIN_DIR={}", dir.display());
        }
        None if std::env::var("HOURGLASS_REQUIRE_PG").is_ok_and(|v| v == "1") => {
            panic!("HOURGLASS_REQUIRE_PG=1 but no PostgreSQL server binaries were found: install postgresql or set HOURGLASS_PG_BIN to the directory holding initdb and postgres");
        }
        None => println!(
            "cargo:warning=no PostgreSQL server binaries (initdb, postgres) found: the PostgreSQL tests will be IGNORED. Install postgresql, or set HOURGLASS_PG_BIN to their directory."
        ),
    }
}

fn find_pg_bin() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Ok(dir) = std::env::var("HOURGLASS_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| has_server(d));
    }
    // Debian and Ubuntu keep each major version apart; take the newest.
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|dir| has_server(dir))
        .collect();
    versions.sort_by_key(|dir| {
        let version = dir
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        version.parse::<u32>().unwrap_or(0)
    });
    versions.pop().or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find(|dir| has_server(dir))
    })
}
