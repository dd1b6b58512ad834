//! `hourglass keys create | list | revoke`: API keys.

use super::{connect_existing, CliResult};
use crate::auth::{self, Scopes};
use crate::config::Settings;
use crate::timestamp::Timestamp;
use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
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

pub fn run(settings: Settings, args: Args) -> CliResult {
    let mut conn = connect_existing(&settings)?;
    match args.command {
        KeysCommand::Create { name, scope } => {
            let key = auth::create_key(&mut conn, &name, scope, Timestamp::now())?;
            println!("{key}");
            eprintln!("key '{name}' ({scope}) created; it is shown only this once, store it now");
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
