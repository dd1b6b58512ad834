//! `hourglass fields add | list | retire`: custom player fields.

use super::{connect_existing, CliResult};
use crate::config::Settings;
use crate::datasets::custom::{self, FieldType};
use crate::datasets::Dataset;
use crate::timestamp::Timestamp;
use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: FieldsCommand,
}

#[derive(Debug, Subcommand)]
enum FieldsCommand {
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

fn dataset_named(name: &str) -> Result<Dataset, String> {
    Dataset::from_name(name).ok_or_else(|| {
        format!(
            "unknown dataset '{name}': use one of {}",
            Dataset::names_where(|d| d.def().custom_fields)
        )
    })
}

pub fn run(settings: Settings, args: Args) -> CliResult {
    let mut conn = connect_existing(&settings)?;
    match args.command {
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
