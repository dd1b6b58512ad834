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
    /// Seed of the random generator: the same seed gives the same rows.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(settings: Settings, args: Args) -> CliResult {
    let mut conn = connect_existing(&settings)?;
    seed_with_progress(
        &mut conn,
        SeedOptions {
            players: args.players,
            days: args.days,
            until: Timestamp::now(),
            seed: args.seed,
        },
    )
}

/// Seeds, saying so on stderr before and after.
pub(super) fn seed_with_progress(conn: &mut DbConnection, options: SeedOptions) -> CliResult {
    eprintln!(
        "seeding {} players over {} days ...",
        options.players, options.days
    );
    let summary = seed::seed(conn, options)?;
    eprintln!(
        "seeded {} rows in {} batches",
        summary.rows, summary.batches
    );
    Ok(())
}
