//! `hourglass serve`: the pull and write API over HTTP.

use super::{connect, CliResult};
use crate::auth::{self, Scopes};
use crate::config::Settings;
use crate::seed::SeedOptions;
use crate::startup::Application;
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = Settings::DEFAULT_BIND)]
    bind: String,
    /// On an empty database, seed a few thousand players over the last
    /// days and print a read key with a ready-to-paste curl command.
    #[arg(long)]
    demo: bool,
    /// Largest accepted write body, in bytes (larger ones get 413).
    #[arg(long, default_value_t = Settings::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Connections kept for pulls.
    #[arg(long, default_value_t = Settings::DEFAULT_READ_POOL_SIZE)]
    read_pool_size: u32,
    /// PostgreSQL: a replica that pulls read from (writes still go to
    /// --database). A pull waits until the replica has caught up with it.
    #[arg(long, env = "READ_DATABASE_URL")]
    read_database: Option<String>,
    /// A query parameter pulls accept and ignore, such as a signature your
    /// CRM adds (repeat for several). Any other unknown parameter is a 400.
    #[arg(long = "allow-param", value_name = "NAME")]
    allow_params: Vec<String>,
    /// Cut a pull whose client accepts no bytes for this many seconds, so
    /// that it frees its connection and read snapshot.
    #[arg(long, default_value_t = Settings::DEFAULT_SEND_TIMEOUT_SECS, value_name = "SECONDS")]
    send_timeout: u64,
    /// Refuse a write whose body has not arrived whole this many seconds
    /// after its headers (408), so that a client that stalls mid-upload
    /// holds its place among the uploads no longer. 64 MiB in 30 s needs
    /// about 2.2 MB/s: raise it for slower links.
    #[arg(long, default_value_t = Settings::DEFAULT_BODY_TIMEOUT_SECS, value_name = "SECONDS")]
    body_timeout: u64,
    /// Pulls one key may stream at once; past it, 429. Default: half the read pool.
    #[arg(long, value_name = "N")]
    streams_per_key: Option<usize>,
    /// A proxy (address or CIDR block) in front of Hourglass whose
    /// X-Forwarded-For names the client; repeat for several. Without it,
    /// X-Forwarded-For is ignored and the peer is the client.
    #[arg(long = "trust-proxy", value_name = "CIDR", value_parser = parse_network)]
    trust_proxies: Vec<ipnet::IpNet>,
    /// Wrong keys one client address may send in a burst before it gets 429
    /// (it earns back one attempt a second).
    #[arg(long, default_value_t = Settings::DEFAULT_WRONG_KEY_BURST, value_name = "N")]
    wrong_key_burst: u32,
    /// Write bodies received or waiting for their commit at once; past it, 503.
    #[arg(long, default_value_t = Settings::DEFAULT_MAX_UPLOADS, value_name = "N")]
    max_uploads: usize,
    /// Bytes of write bodies held at once; past it, 503. Default: twice
    /// --max-body-bytes.
    #[arg(long, value_name = "BYTES")]
    max_upload_bytes: Option<usize>,
    /// On SIGTERM or Ctrl-C, seconds that requests in flight may take to
    /// finish; pulls still streaming then are cut (and logged as such).
    #[arg(long, default_value_t = Settings::DEFAULT_SHUTDOWN_GRACE_SECS, value_name = "SECONDS")]
    shutdown_grace: u64,
    /// Days deletion records are kept. A pull of deletions reaching back
    /// further gets 410: the consumer must resync in full.
    #[arg(long, default_value_t = Settings::DEFAULT_DELETIONS_RETENTION_DAYS, value_name = "DAYS")]
    deletions_retention_days: u64,
    /// Keep a dataset's rows for AGE after their last change, then purge
    /// them (repeat for several), like game_actions=90d (AGE: 90d, 12h,
    /// 30m, 20s). A pull or count whose window starts before the horizon
    /// gets 410. Purging game_actions keeps their sessions' totals.
    #[arg(long = "retain", value_name = "DATASET=AGE", value_parser = parse_rule)]
    retain: Vec<(crate::datasets::Dataset, std::time::Duration)>,
    /// How often rows past their retention are purged (1h, 10m, 1s, …).
    #[arg(long, default_value = Settings::DEFAULT_PURGE_EVERY, value_name = "DURATION", value_parser = parse_period)]
    purge_every: std::time::Duration,
    /// PostgreSQL: the longest a pull's query may run per fetch, in seconds.
    #[arg(long, default_value_t = Settings::DEFAULT_STATEMENT_TIMEOUT_SECS)]
    statement_timeout: u64,
}

pub fn run(mut settings: Settings, args: Args) -> CliResult {
    settings.bind = args.bind;
    settings.max_body_bytes = args.max_body_bytes;
    settings.database.read_pool_size = args.read_pool_size;
    settings.database.read_url = args.read_database;
    settings.extra_params = args.allow_params;
    settings.send_timeout = std::time::Duration::from_secs(args.send_timeout);
    settings.body_timeout = std::time::Duration::from_secs(args.body_timeout);
    settings.shutdown_grace = std::time::Duration::from_secs(args.shutdown_grace);
    settings.trusted_proxies = args.trust_proxies;
    settings.wrong_key_burst = args.wrong_key_burst;
    settings.max_uploads = args.max_uploads;
    settings.deletions_retention = Settings::days(args.deletions_retention_days);
    settings.retention = args.retain;
    settings.purge_every = args.purge_every;
    settings.max_upload_bytes = args
        .max_upload_bytes
        .unwrap_or_else(|| Settings::default_max_upload_bytes(args.max_body_bytes));
    settings.database.idle_in_transaction_timeout =
        Settings::idle_in_transaction_timeout(settings.send_timeout);
    settings.streams_per_key = args
        .streams_per_key
        .unwrap_or_else(|| Settings::default_streams_per_key(args.read_pool_size));
    settings.database.statement_timeout = std::time::Duration::from_secs(args.statement_timeout);
    // Bound first: a port in use fails at once, before any seeding.
    let app = Application::build(&settings)?;
    let host = settings
        .bind
        .rsplit_once(':')
        .map_or("127.0.0.1", |(host, _)| host);
    let address = format!("{}:{}", host.replace("0.0.0.0", "127.0.0.1"), app.port());
    if args.demo {
        demo(&settings, &address)?;
    }
    log::info!(
        "hourglass listening on {address} (database {})",
        settings.database.describe()
    );
    actix_web::rt::System::new().block_on(app.run_until_stopped())?;
    Ok(())
}

/// The demo's read key: one, given a new secret at every start.
const DEMO_KEY: &str = "demo";

/// Seeds an empty database and prints a read key with a curl command for
/// the server at `address`.
fn demo(settings: &Settings, address: &str) -> CliResult {
    let mut conn = connect(settings)?;
    let empty = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "NOT EXISTS (SELECT 1 FROM users)",
    ))
    .get_result::<bool>(&mut conn)?;
    if empty {
        super::seed::seed_with_progress(
            &mut conn,
            SeedOptions {
                players: 3000,
                days: 3,
                until: Timestamp::now(),
                seed: 42,
            },
        )?;
    } else {
        eprintln!("the database already holds data: not seeding");
    }
    let now = Timestamp::now();
    // Only its hash is stored, so a restart cannot print the old key: it
    // replaces it, and `keys list` shows one demo key however many starts.
    let key = auth::keys::replace_key(
        &mut conn,
        DEMO_KEY,
        Scopes {
            read: true,
            write: false,
        },
        now,
    )?;
    let hour = now.as_micros() / 3_600_000_000 * 3_600_000_000;
    let from = Timestamp::from_micros(hour - 3_600_000_000)
        .to_string()
        .replace(' ', "+");
    let to = Timestamp::from_micros(hour).to_string().replace(' ', "+");
    println!("\nread key '{DEMO_KEY}': {key}\n\ntry:\n  curl -f -H 'Authorization: Bearer {key}' 'http://{address}/api/transactions?from={from}&to={to}'\n");
    Ok(())
}

fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let mut networks = crate::auth::keys::parse_networks(text)?;
    match (networks.pop(), networks.is_empty()) {
        (Some(network), true) => Ok(network),
        _ => Err("give one address or CIDR block per --trust-proxy".into()),
    }
}

fn parse_rule(text: &str) -> Result<(crate::datasets::Dataset, std::time::Duration), String> {
    crate::retention::parse_rule(text).map_err(|error| error.to_string())
}

fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    match crate::retention::parse_age(text) {
        Some(period) if !period.is_zero() => Ok(period),
        _ => Err(format!(
            "'{text}' is not a period: give a number and a unit, like 1h, 10m or 1s"
        )),
    }
}
