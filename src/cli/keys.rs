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
        /// Addresses or CIDR blocks the key may be used from (comma-separated,
        /// or repeat the flag), such as the ones your CRM publishes. Without
        /// it, anywhere.
        #[arg(long, value_name = "CIDR", value_delimiter = ',')]
        allow: Vec<String>,
    },
    /// List keys (names, scopes, dates; never the keys).
    List,
    /// Revoke a key by name; it stops working at once.
    Revoke { name: String },
}

pub fn run(settings: Settings, args: Args) -> CliResult {
    let mut conn = connect_existing(&settings)?;
    match args.command {
        KeysCommand::Create { name, scope, allow } => {
            let allowed = auth::keys::parse_networks(&allow.join(","))?;
            let key = auth::keys::create_key_allowed_from(
                &mut conn,
                &name,
                scope,
                &allowed,
                Timestamp::now(),
            )?;
            println!("{key}");
            eprintln!("key '{name}' ({scope}) created; it is shown only this once, store it now");
        }
        KeysCommand::List => {
            let when = |t: Option<Timestamp>| t.map_or("-".to_string(), |t| t.to_string());
            println!(
                "{:<24} {:<11} {:<20} {:<20} {:<20} allowed from",
                "name", "scope", "created", "last used", "revoked"
            );
            for key in auth::keys::list_keys(&mut conn)? {
                println!(
                    "{:<24} {:<11} {:<20} {:<20} {:<20} {}",
                    key.name,
                    key.scopes,
                    key.created_at.to_string(),
                    when(key.last_used_at),
                    when(key.revoked_at),
                    key.allowed_from.as_deref().unwrap_or("anywhere")
                );
            }
        }
        KeysCommand::Revoke { name } => {
            auth::keys::revoke_key(&mut conn, &name, Timestamp::now())?;
            println!("key '{name}' revoked");
        }
    }
    Ok(())
}
