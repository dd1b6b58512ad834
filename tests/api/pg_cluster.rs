//! A throwaway PostgreSQL cluster for this test binary: started on first use
//! (initdb into a temporary directory, a free port on 127.0.0.1), gone when
//! the test binary exits. Each test gets a database of its own in it. A
//! streaming replica of it is started too, the first time a test asks.

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
    dir: PathBuf,
    databases: AtomicUsize,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static REPLICA: OnceLock<u16> = OnceLock::new();

/// The URL of a new, empty database.
pub fn new_database() -> String {
    let cluster = CLUSTER.get_or_init(Cluster::start);
    let name = format!("test_{}", cluster.databases.fetch_add(1, Ordering::SeqCst));
    let mut admin =
        PgConnection::establish(&url(cluster.port, "postgres")).expect("the test cluster answers");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    url(cluster.port, &name)
}

/// The URL of the same database on a streaming replica of the cluster.
pub fn replica_url(primary_url: &str) -> String {
    let cluster = CLUSTER.get().expect("the primary runs");
    let port = REPLICA.get_or_init(|| cluster.start_replica());
    primary_url.replace(&format!(":{}/", cluster.port), &format!(":{port}/"))
}

fn url(port: u16, database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{database}")
}

/// The directory holding initdb and postgres, found when the tests were built.
fn bin(program: &str) -> PathBuf {
    match option_env!("HOURGLASS_PG_BIN_DIR") {
        Some(dir) => Path::new(dir).join(program),
        None => panic!("built without PostgreSQL binaries (see build.rs)"),
    }
}

/// Root may not run PostgreSQL: under root the cluster runs as the
/// `postgres` user, whose (uid, gid) this returns.
fn postgres_user() -> Option<(u32, u32)> {
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

fn as_postgres_user(command: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = postgres_user() {
        command.uid(uid).gid(gid);
    }
    command
}

fn run(command: &mut Command) {
    let output = as_postgres_user(command)
        .output()
        .expect("the PostgreSQL tool runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cluster {
    fn start() -> Cluster {
        remove_stale_clusters();
        let dir = std::env::temp_dir().join(format!("hourglass-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The directory must belong to whoever runs the server.
        if let Some((uid, gid)) = postgres_user() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.join("data");
        run(Command::new(bin("initdb"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data));
        Cluster {
            port: serve(&data, &dir),
            dir,
            databases: AtomicUsize::new(0),
        }
    }

    /// A hot standby streaming from this cluster; returns its port.
    fn start_replica(&self) -> u16 {
        let data = self.dir.join("replica");
        run(Command::new(bin("pg_basebackup"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args([
                "--checkpoint=fast",
                "--write-recovery-conf",
                "--no-sync",
                "-D",
            ])
            .arg(&data));
        serve(&data, &self.dir)
    }
}

/// Runs `postgres` on `data` on a free port of 127.0.0.1, its socket in
/// `dir`, until the test binary exits; returns the port once it answers.
fn serve(data: &Path, dir: &Path) -> u16 {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join(format!("postgres-{port}.log"))).unwrap();
    let mut postgres = Command::new(bin("postgres"));
    postgres
        .arg("-D")
        .arg(data)
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
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    as_postgres_user(&mut postgres);
    // SAFETY: prctl is async-signal-safe. The server is asked to shut down
    // (SIGINT, "fast") when the thread that started it ends, which is when
    // the test binary exits.
    unsafe {
        postgres.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }
    // The thread waits on the server, so it lives as long as the server (or
    // the test binary) does.
    std::thread::spawn(move || postgres.spawn().expect("postgres starts").wait());
    let started = Instant::now();
    while PgConnection::establish(&url(port, "postgres")).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "postgres did not start; see {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    port
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
