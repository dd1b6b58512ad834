//! `hourglass seed`: deterministic synthetic data for every dataset.

use super::{connect_existing, CliResult};
use crate::config::Settings;
use crate::db::DbConnection;
use crate::seed::{self, SeedOptions};
use crate::timestamp::Timestamp;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1000)]
    players: u32,
    #[arg(long, default_value_t = 3)]
    days: u32,
    /// Seed of the random generator: the same seed and --until give the same rows.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The end of the simulated days, "YYYY-MM-DD HH:MM:SS" (UTC); now if not given.
    #[arg(long, value_parser = parse_time)]
    until: Option<Timestamp>,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|e| e.to_string())
}

pub fn run(settings: Settings, args: Args) -> CliResult {
    let mut conn = connect_existing(&settings)?;
    seed_with_progress(
        &mut conn,
        SeedOptions {
            players: args.players,
            days: args.days,
            until: args.until.unwrap_or_else(Timestamp::now),
            seed: args.seed,
        },
    )
}

/// Seeds, saying so on stderr before and after.
pub(super) fn seed_with_progress(conn: &mut DbConnection, options: SeedOptions) -> CliResult {
    let plural = |n: u32, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "seeding {} over {} ...",
        plural(options.players, "player"),
        plural(options.days, "day")
    );
    let summary = seed::seed(conn, options)?;
    eprintln!(
        "seeded {} rows under {} stamps",
        summary.rows, summary.stamps
    );
    Ok(())
}
