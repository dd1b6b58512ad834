//! `hourglass delete DATASET FILE`: delete the rows a file names by key, in
//! one transaction, recorded in the deletions feed exactly as
//! `POST /api/<dataset>/deletions` records them.

use super::{connect_existing, dataset_and_file, CliResult};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use crate::ingest::delete;
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
    let (dataset, format, body) = dataset_and_file(&dataset, &file, Dataset::is_deletable)?;
    let mut conn = connect_existing(&settings)?;
    let catalog = Catalog::load(&mut conn)?;
    let shape = catalog.shape(dataset);
    let keys = delete::parse_keys(shape, format, &body)?;
    let deleted = delete::delete(&mut conn, &SystemClock, shape, &keys)?;
    crate::feeds::record(&mut conn, "deletions", deleted.deleted, deleted.stamp)?;
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
