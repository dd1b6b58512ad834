//! `hourglass erase PLAYER_ID`: blank a player's personal data everywhere,
//! as `POST /api/players/<id>/erase` does.

use super::{connect_existing, CliResult};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::datasets::catalog::Catalog;
use crate::datasets::column::check_id;
use crate::ingest::erase;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The player's id, as the platform sends it.
    player_id: String,
}

pub fn run(settings: Settings, Args { player_id }: Args) -> CliResult {
    check_id(&player_id).map_err(|reason| format!("the player id {reason}"))?;
    let mut conn = connect_existing(&settings)?;
    let catalog = Catalog::load(&mut conn)?;
    let erased = erase::erase(&mut conn, &SystemClock, &catalog, &player_id)?;
    println!(
        "player '{}' erased: {} row(s) blanked{}",
        erased.player_id,
        erased.rows,
        erased
            .erased_at
            .map(|at| format!(", stamped {at}"))
            .unwrap_or_default()
    );
    Ok(())
}
