//! `hourglass import DATASET FILE`: write a file into a dataset in one
//! transaction, validated exactly as `POST /api/<dataset>` validates it.

use super::{connect_existing, dataset_and_file, CliResult};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use crate::ingest;
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
    let (dataset, format, body) = dataset_and_file(&dataset, &file, Dataset::is_pushable)?;
    let mut conn = connect_existing(&settings)?;
    crate::db::prepare_for_bulk_write(&mut conn)?;
    let catalog = Catalog::load(&mut conn)?;
    let written = ingest::ingest(
        &mut conn,
        &SystemClock,
        catalog.shape(dataset),
        format,
        &body,
    )?;
    crate::feeds::record(&mut conn, written.dataset, written.rows, written.stamp)?;
    match written.stamp {
        Some(stamp) => println!(
            "{} row(s) written to {}, stamped {stamp}",
            written.rows, written.dataset
        ),
        None => println!("0 row(s) written to {}", written.dataset),
    }
    Ok(())
}
