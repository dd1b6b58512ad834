//! The command line: `hourglass serve | migrate | import | delete | erase | fields | keys | seed | relay`.
//!
//! One module and one clap `Args` struct per subcommand; each module's `run`
//! does the work on plain settings. Errors end the process with their cause
//! chain on one line and a non-zero exit.

mod delete;
mod erase;
mod fields;
mod import;
mod keys;
mod migrate;
mod relay;
mod seed;
mod serve;

use crate::config::Settings;
use crate::db::{self, PooledConn};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "hourglass",
    version,
    about = "Incremental export provider: [from, to) windows of iGaming data as streaming CSV/JSON"
)]
pub struct Cli {
    /// The database: a SQLite file (sqlite://PATH works too) or a PostgreSQL
    /// URL (postgres://USER:PASSWORD@HOST/DB). `serve` and `migrate` create a
    /// SQLite file that is missing; the other commands refuse it.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "hourglass.db"
    )]
    pub database: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the pull and write API over HTTP.
    Serve(serve::Args),
    /// Apply pending database migrations, then exit.
    Migrate(migrate::Args),
    /// Write a CSV, JSON or NDJSON file (by extension) into a dataset, atomically.
    Import(import::Args),
    /// Delete the rows a CSV, JSON or NDJSON file names by key, atomically.
    Delete(delete::Args),
    /// Blank a player's personal data in every dataset (GDPR erasure).
    Erase(erase::Args),
    /// Declare, list and retire custom player fields.
    Fields(fields::Args),
    /// Manage API keys.
    Keys(keys::Args),
    /// Write deterministic synthetic data for every dataset.
    Seed(seed::Args),
    /// Push every change to a points engine (Pointagram) or a signed webhook.
    Relay(relay::Args),
}

type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Runs the command line; errors are printed with their causes and a hint.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let settings = Settings::for_database(cli.database);
    let done = match cli.command {
        Command::Serve(args) => serve::run(settings, args),
        Command::Migrate(args) => migrate::run(settings, args),
        Command::Import(args) => import::run(settings, args),
        Command::Delete(args) => delete::run(settings, args),
        Command::Erase(args) => erase::run(settings, args),
        Command::Fields(args) => fields::run(settings, args),
        Command::Keys(args) => keys::run(settings, args),
        Command::Seed(args) => seed::run(settings, args),
        Command::Relay(args) => relay::run(settings, args),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hourglass: {}", crate::report::cause_chain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// The dataset a file command names, if `usable` says it may be used, the
/// file's format (by its extension) and its bytes.
fn dataset_and_file(
    dataset: &str,
    file: &std::path::Path,
    usable: fn(crate::datasets::Dataset) -> bool,
) -> Result<(crate::datasets::Dataset, crate::ingest::BodyFormat, Vec<u8>), String> {
    use crate::datasets::Dataset;
    let found = Dataset::from_name(dataset)
        .filter(|d| usable(*d))
        .ok_or_else(|| {
            format!(
                "unknown dataset '{dataset}': use one of {}",
                Dataset::names_where(usable)
            )
        })?;
    let format = crate::ingest::BodyFormat::from_path(file).ok_or_else(|| {
        format!(
            "cannot tell the format of '{}': name it .csv, .json or .ndjson",
            file.display()
        )
    })?;
    let body = std::fs::read(file)
        .map_err(|error| format!("cannot read '{}': {error}", file.display()))?;
    Ok((found, format, body))
}

/// A write connection to an existing database, migrated: a mistyped SQLite
/// path is an error, never a new empty database that keys or imports go to.
fn connect_existing(
    settings: &Settings,
) -> Result<PooledConn, Box<dyn std::error::Error + Send + Sync>> {
    require_existing(settings)?;
    connect(settings)
}

/// Refuses a SQLite path with no database at it.
fn require_existing(settings: &Settings) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if let Some(path) = settings.database.sqlite_path() {
        if !std::path::Path::new(path).exists() {
            return Err(format!(
                "there is no database at '{path}': check --database (or DATABASE_URL), or create it with `hourglass migrate`"
            )
            .into());
        }
    }
    Ok(())
}

/// A write connection to the migrated database, which is created if it is a
/// SQLite file that does not exist yet.
fn connect(settings: &Settings) -> Result<PooledConn, Box<dyn std::error::Error + Send + Sync>> {
    let mut database = settings.database.clone();
    database.read_pool_size = 1;
    Ok(db::open(&database)?.write.get()?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
