//! The command line: `hourglass serve | migrate | import | keys | seed`.

use crate::auth::{self, Scopes};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::datasets::catalog::Catalog;
use crate::datasets::custom::{self, FieldType};
use crate::datasets::Dataset;
use crate::db::{self, DbConnection, PooledConn};
use crate::ingest::{self, BodyFormat};
use crate::seed::{self, SeedOptions};
use crate::startup::Application;
use crate::timestamp::Timestamp;
use clap::{Parser, Subcommand};
use diesel::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "hourglass",
    version,
    about = "Incremental export provider: [from, to) windows of iGaming data as streaming CSV/JSON"
)]
pub struct Cli {
    /// The database: a SQLite file (created if missing; sqlite://PATH works
    /// too) or a PostgreSQL URL (postgres://USER:PASSWORD@HOST/DB).
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
    Serve {
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
        #[arg(long, default_value_t = 8)]
        read_pool_size: u32,
        /// Connections kept for writes.
        #[arg(long, default_value_t = 4)]
        write_pool_size: u32,
        /// PostgreSQL: a replica that pulls read from (writes still go to
        /// --database). A pull waits until the replica has caught up with it.
        #[arg(long, env = "READ_DATABASE_URL")]
        read_database: Option<String>,
        /// PostgreSQL: the longest a pull's query may run per fetch, in seconds.
        #[arg(long, default_value_t = 60)]
        statement_timeout: u64,
    },
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Write a CSV, JSON or NDJSON file (by extension) into a dataset, atomically.
    Import {
        /// users, contacts, transactions, logins, wallets, game_actions,
        /// tournaments, events, bets or bet_selections.
        dataset: String,
        file: PathBuf,
    },
    /// Declare, list and retire custom player fields.
    Fields {
        #[command(subcommand)]
        command: FieldsCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write deterministic synthetic data for every dataset.
    Seed {
        #[arg(long, default_value_t = 1000)]
        players: u32,
        #[arg(long, default_value_t = 3)]
        days: u32,
        /// Seed of the random generator: the same seed gives the same rows.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (the only time it is shown).
    Create {
        #[arg(long)]
        name: String,
        /// read, write or read,write.
        #[arg(long, default_value = "read")]
        scope: Scopes,
    },
    /// List keys (names, scopes, dates; never the keys).
    List,
    /// Revoke a key by name; it stops working at once.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum FieldsCommand {
    /// Declare a custom field: a trailing column in pulls, accepted on writes.
    /// Running servers pick it up within a few seconds.
    Add {
        /// The dataset: users.
        dataset: String,
        /// Lowercase letters, digits and underscores, starting with a letter.
        name: String,
        /// integer, decimal (two places), string or date (YYYY-MM-DD HH:MM:SS).
        #[arg(value_name = "TYPE")]
        field_type: String,
    },
    /// List declared fields, retired ones included.
    List,
    /// Retire a field: it leaves pulls and writes; its stored values are kept,
    /// and declaring it again with the same type brings them back.
    Retire { dataset: String, name: String },
}

/// Runs the command line; errors are printed with their causes and a hint.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hourglass: {}", crate::error::cause_chain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn run(cli: Cli) -> CliResult {
    let mut settings = Settings::for_database(cli.database);
    match cli.command {
        Command::Serve {
            bind,
            demo,
            max_body_bytes,
            read_pool_size,
            write_pool_size,
            read_database,
            statement_timeout,
        } => {
            settings.bind = bind;
            settings.max_body_bytes = max_body_bytes;
            settings.database.read_pool_size = read_pool_size;
            settings.database.write_pool_size = write_pool_size;
            settings.database.read_url = read_database;
            settings.database.statement_timeout = std::time::Duration::from_secs(statement_timeout);
            serve(settings, demo)
        }
        Command::Migrate => {
            let applied = db::migrate(&settings.database)?;
            println!(
                "{} migration(s) applied to {}",
                applied.len(),
                settings.database.describe()
            );
            Ok(())
        }
        Command::Import { dataset, file } => {
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
            let mut conn = connect(&settings)?;
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
        Command::Fields { command } => {
            let mut conn = connect(&settings)?;
            let dataset_named = |name: &str| {
                Dataset::from_name(name).ok_or_else(|| {
                    format!(
                        "unknown dataset '{name}': use one of {}",
                        Dataset::names_where(|d| d.def().custom_fields)
                    )
                })
            };
            match command {
                FieldsCommand::Add {
                    dataset,
                    name,
                    field_type,
                } => {
                    let dataset = dataset_named(&dataset)?;
                    let field_type: FieldType = field_type.parse()?;
                    custom::add(&mut conn, dataset, &name, field_type, Timestamp::now())?;
                    println!(
                        "field '{name}' ({}) added to {}; running servers use it within a few seconds",
                        field_type.name(),
                        dataset.name()
                    );
                }
                FieldsCommand::List => {
                    println!(
                        "{:<14} {:<32} {:<8} {:<20} retired",
                        "dataset", "name", "type", "added"
                    );
                    for field in custom::list(&mut conn)? {
                        let retired = field.retired_at.map_or("-".to_string(), |t| t.to_string());
                        println!(
                            "{:<14} {:<32} {:<8} {:<20} {retired}",
                            field.dataset,
                            field.name,
                            field.field_type,
                            field.added_at.to_string()
                        );
                    }
                }
                FieldsCommand::Retire { dataset, name } => {
                    let dataset = dataset_named(&dataset)?;
                    custom::retire(&mut conn, dataset, &name, Timestamp::now())?;
                    println!(
                        "field '{name}' retired from {}; its stored values are kept",
                        dataset.name()
                    );
                }
            }
            Ok(())
        }
        Command::Keys { command } => {
            let mut conn = connect(&settings)?;
            match command {
                KeysCommand::Create { name, scope } => {
                    let key = auth::create_key(&mut conn, &name, scope, Timestamp::now())?;
                    println!("{key}");
                    eprintln!(
                        "key '{name}' ({scope}) created; it is shown only this once, store it now"
                    );
                }
                KeysCommand::List => {
                    println!("{:<24} {:<11} {:<20} revoked", "name", "scope", "created");
                    for key in auth::list_keys(&mut conn)? {
                        let revoked = key.revoked_at.map_or("-".to_string(), |t| t.to_string());
                        println!(
                            "{:<24} {:<11} {:<20} {revoked}",
                            key.name,
                            key.scopes,
                            key.created_at.to_string()
                        );
                    }
                }
                KeysCommand::Revoke { name } => {
                    auth::revoke_key(&mut conn, &name, Timestamp::now())?;
                    println!("key '{name}' revoked");
                }
            }
            Ok(())
        }
        Command::Seed {
            players,
            days,
            seed,
        } => {
            let mut conn = connect(&settings)?;
            run_seed(
                &mut conn,
                SeedOptions {
                    players,
                    days,
                    until: Timestamp::now(),
                    seed,
                },
            )
        }
    }
}

/// A write connection to the migrated database, for one-off commands.
fn connect(settings: &Settings) -> Result<PooledConn, Box<dyn std::error::Error + Send + Sync>> {
    let mut database = settings.database.clone();
    database.read_pool_size = 1;
    database.write_pool_size = 1;
    Ok(db::open(&database)?.write.get()?)
}

fn run_seed(conn: &mut DbConnection, options: SeedOptions) -> CliResult {
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

fn serve(settings: Settings, demo: bool) -> CliResult {
    if demo {
        let mut conn = connect(&settings)?;
        let empty = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "NOT EXISTS (SELECT 1 FROM users)",
        ))
        .get_result::<bool>(&mut conn)?;
        if empty {
            run_seed(
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
        let name = format!("demo-{}", now.to_string().replace(['-', ':', ' '], ""));
        let key = auth::create_key(
            &mut conn,
            &name,
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
        let host = settings.bind.replace("0.0.0.0", "127.0.0.1");
        println!("\nread key '{name}': {key}\n\ntry:\n  curl -H 'Authorization: Bearer {key}' 'http://{host}/api/transactions?from={from}&to={to}'\n");
    }
    let app = Application::build(&settings)?;
    log::info!(
        "hourglass listening on {} (database {})",
        settings.bind,
        settings.database.describe()
    );
    actix_web::rt::System::new().block_on(app.run_until_stopped())?;
    Ok(())
}
