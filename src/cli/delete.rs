//! `hourglass delete DATASET FILE`: delete the rows a file names by key, in
//! one transaction, recorded in the deletions feed exactly as
//! `POST /api/<dataset>/deletions` records them.

use super::{connect_existing, CliResult};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use crate::ingest::{delete, BodyFormat};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// users, contacts, transactions, logins, wallets, game_actions,
    /// tournaments, events, bets or bet_selections.
    dataset: String,
    /// The keys: a .csv whose header is the key column, or a .json / .ndjson
    /// of keys (or of objects holding only the key).
    file: PathBuf,
}

pub fn run(settings: Settings, Args { dataset, file }: Args) -> CliResult {
    let dataset = Dataset::from_name(&dataset)
        .filter(|d| d.is_deletable())
        .ok_or_else(|| {
            format!(
                "unknown dataset '{dataset}': use one of {}",
                Dataset::names_where(Dataset::is_deletable)
            )
        })?;
    let format = BodyFormat::from_path(&file).ok_or_else(|| {
        format!(
            "cannot tell the format of '{}': name it .csv, .json or .ndjson",
            file.display()
        )
    })?;
    let body = std::fs::read(&file)
        .map_err(|error| format!("cannot read '{}': {error}", file.display()))?;
    let mut conn = connect_existing(&settings)?;
    let catalog = Catalog::load(&mut conn)?;
    let shape = catalog.shape(dataset);
    let keys = delete::parse_keys(shape, format, &body)?;
    let deleted = delete::delete(&mut conn, &SystemClock, shape, &keys)?;
    println!(
        "{} row(s) deleted from {}, {} not found{}",
        deleted.deleted,
        deleted.dataset,
        deleted.not_found,
        deleted
            .stamp
            .map(|stamp| format!(", stamped {stamp}"))
            .unwrap_or_default()
    );
    Ok(())
}
