//! `hourglass import DATASET FILE`: write a file into a dataset in one
//! transaction, validated exactly as `POST /api/<dataset>` validates it.

use super::{connect_existing, CliResult};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use crate::ingest::{self, BodyFormat};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// users, contacts, transactions, logins, wallets, game_actions,
    /// tournaments, events, bets or bet_selections.
    dataset: String,
    /// A .csv, .json or .ndjson file.
    file: PathBuf,
}

pub fn run(settings: Settings, Args { dataset, file }: Args) -> CliResult {
    let dataset = Dataset::from_name(&dataset)
        .filter(|d| d.is_pushable())
        .ok_or_else(|| {
            format!(
                "unknown dataset '{dataset}': use one of {}",
                Dataset::names_where(Dataset::is_pushable)
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
    let written = ingest::ingest(
        &mut conn,
        &SystemClock,
        catalog.shape(dataset),
        format,
        &body,
    )?;
    match written.stamp {
        Some(stamp) => println!(
            "{} row(s) written to {}, stamped {stamp}",
            written.rows, written.dataset
        ),
        None => println!("0 row(s) written to {}", written.dataset),
    }
    Ok(())
}
