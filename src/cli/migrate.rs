//! `hourglass migrate`: apply pending migrations, then exit.

use super::CliResult;
use crate::config::Settings;
use crate::db;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(settings: Settings, _args: Args) -> CliResult {
    let applied = db::migrate(&settings.database)?;
    println!(
        "{} migration(s) applied to {}",
        applied.len(),
        settings.database.describe()
    );
    Ok(())
}
