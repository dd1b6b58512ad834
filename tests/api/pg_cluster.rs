//! A throwaway PostgreSQL cluster for this test binary: started on first use
//! (initdb into a temporary directory, a free port on 127.0.0.1), gone when
//! the test binary exits. Each test gets a database of its own in it.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Cluster {
    port: u16,
    databases: AtomicUsize,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The URL of a new, empty database.
pub fn new_database() -> String {
    let cluster = CLUSTER.get_or_init(Cluster::start);
    let name = format!("test_{}", cluster.databases.fetch_add(1, Ordering::SeqCst));
    let mut admin =
        PgConnection::establish(&cluster.url("postgres")).expect("the test cluster answers");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    cluster.url(&name)
}

/// The directory holding initdb and postgres, found when the tests were built.
fn bin_dir() -> PathBuf {
    PathBuf::from(
        option_env!("HOURGLASS_PG_BIN_DIR")
            .expect("built without PostgreSQL binaries (see build.rs)"),
    )
}

/// Root may not run PostgreSQL: the cluster then runs as the `postgres` user.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid and getpwnam have no preconditions; the passwd entry
    // is read at once, before any other call could overwrite it.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let entry = libc::getpwnam(c"postgres".as_ptr());
        assert!(
            !entry.is_null(),
            "running as root and there is no 'postgres' user to run PostgreSQL as"
        );
        Some(((*entry).pw_uid, (*entry).pw_gid))
    }
}

impl Cluster {
    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn start() -> Cluster {
        remove_stale_clusters();
        let dir = std::env::temp_dir().join(format!("hourglass-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let user = run_as();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let as_user = |command: &mut Command| {
            if let Some((uid, gid)) = user {
                command.uid(uid).gid(gid);
            }
        };
        let data = dir.join("data");
        let mut initdb = Command::new(bin_dir().join("initdb"));
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data);
        as_user(&mut initdb);
        let output = initdb.output().expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join("postgres.log")).unwrap();
        let mut postgres = Command::new(bin_dir().join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=400",
            ])
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .arg("-k")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        as_user(&mut postgres);
        // SAFETY: prctl is async-signal-safe. The server is asked to shut
        // down (SIGINT, "fast") when the thread that started it ends, and
        // that thread lives as long as the test binary.
        unsafe {
            postgres.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                Ok(())
            });
        }
        std::thread::spawn(move || {
            let _server = postgres.spawn().expect("postgres starts");
            loop {
                std::thread::park();
            }
        });

        let cluster = Cluster {
            port,
            databases: AtomicUsize::new(0),
        };
        let started = Instant::now();
        while PgConnection::establish(&cluster.url("postgres")).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the test cluster did not start; see {}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }
}

/// Removes the directories of earlier test runs whose process is gone.
fn remove_stale_clusters() {
    for entry in std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("hourglass-pg-")) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
