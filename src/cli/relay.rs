//! `hourglass relay CONFIG [--since T]`: push every change to a points
//! engine or a webhook, window after window (see `relay.rs`);
//! `hourglass relay status [NAME]`: where each relay stands.

use super::{require_existing, CliResult};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::datasets::catalog::Catalog;
use crate::db;
use crate::relay::config::Config;
use crate::relay::{lag_seconds, store, Relay};
use crate::timestamp::Timestamp;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    /// The relay's TOML configuration (see docs/relay.md).
    #[arg(required = true)]
    config: Option<PathBuf>,
    /// Where a first run starts ("YYYY-MM-DD HH:MM:SS", UTC); without it,
    /// from the oldest data. A relay that has run before resumes where it
    /// stopped.
    #[arg(long, value_parser = parse_since)]
    since: Option<Timestamp>,
    #[command(subcommand)]
    command: Option<RelayCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum RelayCommand {
    /// Show each relay's position, lag, delivered and dead-lettered counts,
    /// and its latest dead letters.
    Status {
        /// One relay, by the name in its configuration (or its file's name).
        name: Option<String>,
        /// As JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
}

fn parse_since(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|error| format!("'{text}' {error}"))
}

/// Dead letters `status` shows per relay.
const LATEST_DEAD_LETTERS: i64 = 5;

pub fn run(settings: Settings, args: Args) -> CliResult {
    match (args.command, args.config) {
        (Some(RelayCommand::Status { name, json }), _) => status(&settings, name, json),
        (None, Some(config)) => relay(settings, &config, args.since),
        (None, None) => unreachable!("clap requires CONFIG without a subcommand"),
    }
}

fn relay(mut settings: Settings, path: &std::path::Path, since: Option<Timestamp>) -> CliResult {
    require_existing(&settings)?;
    // One connection reads windows, one settles and keeps the position.
    settings.database.read_pool_size = 2;
    let pools = db::open(&settings.database)?;
    let catalog = Catalog::load(&mut *pools.control.get()?)?;
    let config = Config::load(path, &catalog, |var| std::env::var(var).ok())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut relay = Relay::start(config, pools, Arc::new(SystemClock), since).await?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = relay.run() => unreachable!("a relay runs until it is stopped"),
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        log::info!(
            "relay {}: stopped; delivered up to {}, and resumes there",
            relay.name(),
            relay.position()
        );
        Ok(())
    })
}

fn status(settings: &Settings, name: Option<String>, json: bool) -> CliResult {
    let mut conn = super::connect_existing(settings)?;
    let relays = store::status(&mut conn, name.as_deref())?;
    if let (Some(name), true) = (&name, relays.is_empty()) {
        return Err(format!(
            "there is no relay named '{name}': `hourglass relay status` lists them all"
        )
        .into());
    }
    let now = SystemClock.now();
    if json {
        let list: Vec<_> = relays
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "position": r.position,
                    "lag_seconds": lag_seconds(r.position, now),
                    "delivered": r.delivered,
                    "dead_lettered": r.dead_lettered,
                    "started_at": r.started_at,
                    "updated_at": r.updated_at,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(());
    }
    if relays.is_empty() {
        println!("no relay has run on this database yet: start one with `hourglass relay CONFIG`");
        return Ok(());
    }
    println!(
        "{:<20} {:<20} {:>10} {:>10} {:>13}  last seen",
        "relay", "position", "lag (s)", "delivered", "dead-lettered"
    );
    for r in &relays {
        println!(
            "{:<20} {:<20} {:>10} {:>10} {:>13}  {}",
            r.name,
            r.position.to_string(),
            lag_seconds(r.position, now),
            r.delivered,
            r.dead_lettered,
            r.updated_at
        );
    }
    for r in relays.iter().filter(|r| r.dead_lettered > 0) {
        println!("\nlatest dead letters of {}:", r.name);
        for letter in store::dead_letters(&mut conn, &r.name, LATEST_DEAD_LETTERS)? {
            println!(
                "  {}  {}  HTTP {}  {}\n    sent: {}",
                letter.at,
                letter.endpoint,
                letter.status,
                one_line(&letter.answer, 200),
                one_line(&letter.body, 200)
            );
        }
    }
    Ok(())
}

/// `text` on one line, cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}
