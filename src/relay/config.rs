//! A relay's configuration: a TOML file, read and checked once, against the
//! datasets' columns, before anything is sent.
//!
//! ```toml
//! [target]
//! kind = "pointagram"                 # or "webhook"
//! url = "https://app.pointagram.com/server/externalapi.php"
//! api_user = "ops@example.com"
//! api_key_env = "POINTAGRAM_API_KEY"
//!
//! [[players]]
//! dataset = "users"
//!
//! [[scores]]
//! dataset = "bets"
//! where = { status = "won" }
//! points = "win_amount"
//! series = "Winnings"
//! comment = "Bet {id}"
//! ```
//!
//! Secrets (Pointagram's key, a webhook's signing secret) are named by an
//! environment variable and read from it, never from the file, which can
//! then live in version control.

mod check;
mod file;
mod template;

use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use check::Check;
use file::File;
use std::path::Path;
use std::time::Duration;

pub use template::{placeholders, render, text_of};

/// Requests a second unless the file says otherwise: below Pointagram's
/// fair use.
pub const DEFAULT_RATE: f64 = 20.0;
/// How often a relay that has caught up looks for new changes.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(5);
/// The most rows a window may hold (a backlog is read in windows of this
/// size; a relay holds one window in memory).
pub const DEFAULT_BATCH: u64 = 500;
/// The longest one call may take before it is retried.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between two attempts at a call that keeps failing.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The relay's name, under which its position is kept.
    pub name: String,
    pub every: Duration,
    pub batch: u64,
    pub target: Target,
    /// What goes to the target.
    pub rules: Rules,
}

/// Where the changes go, and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub kind: TargetKind,
    /// Requests a second, at most.
    pub rate: f64,
    pub timeout: Duration,
    pub max_backoff: Duration,
}

#[derive(Debug, Clone)]
pub enum TargetKind {
    Pointagram { api_user: String, api_key: String },
    Webhook { secret: String },
}

/// What a target receives.
#[derive(Debug, Clone)]
pub enum Rules {
    /// Pointagram: players created, rows scored.
    Points {
        players: Vec<PlayerRule>,
        scores: Vec<ScoreRule>,
    },
    /// A webhook: every change of these datasets.
    Changes(Vec<Dataset>),
}

impl Rules {
    /// The datasets a window is read from, each once, in the order they
    /// are sent: players before the scores that name them.
    pub fn datasets(&self) -> Vec<Dataset> {
        match self {
            Rules::Points { players, scores } => {
                let mut datasets = Vec::new();
                for dataset in players
                    .iter()
                    .map(|p| p.dataset)
                    .chain(scores.iter().map(|s| s.dataset))
                {
                    if !datasets.contains(&dataset) {
                        datasets.push(dataset);
                    }
                }
                datasets
            }
            Rules::Changes(datasets) => datasets.clone(),
        }
    }

    /// Whether deletes matter: scores of deleted rows are revoked, and a
    /// webhook receives every delete.
    pub fn reads_deletions(&self) -> bool {
        match self {
            Rules::Points { scores, .. } => !scores.is_empty(),
            Rules::Changes(datasets) => !datasets.is_empty(),
        }
    }
}

/// `[[players]]`: rows that become players (`create_player`).
#[derive(Debug, Clone)]
pub struct PlayerRule {
    pub dataset: Dataset,
    pub filter: Filter,
}

/// `[[scores]]`: rows that score (`add_score`).
#[derive(Debug, Clone)]
pub struct ScoreRule {
    pub dataset: Dataset,
    pub filter: Filter,
    pub points: Points,
    pub series: String,
    pub comment: Option<String>,
    /// The column naming the player who scores.
    pub player: String,
    /// The column whose time is the score's `score_time`.
    pub time: String,
}

/// `where = { column = value, … }`: every column equals its value.
#[derive(Debug, Clone, Default)]
pub struct Filter(pub Vec<(String, String)>);

impl Filter {
    pub fn matches(&self, row: &serde_json::Map<String, serde_json::Value>) -> bool {
        self.0
            .iter()
            .all(|(column, value)| row.get(column).and_then(text_of).as_ref() == Some(value))
    }
}

/// `points = "win_amount"` or `points = 10`.
#[derive(Debug, Clone)]
pub enum Points {
    Column(String),
    Fixed(serde_json::Number),
}

/// Why a configuration was refused; the message names the file's field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read '{path}': {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("'{path}' is not a valid relay configuration: {cause}")]
    Parse {
        path: String,
        cause: toml::de::Error,
    },
    #[error("'{path}': {field} {reason}")]
    Invalid {
        path: String,
        field: String,
        reason: String,
    },
}

/// Makes the error for a field of the file being read.
type Invalid<'a> = &'a dyn Fn(&str, String) -> ConfigError;

impl Config {
    /// Reads and checks `path`; secrets come from `env`. The relay's name is
    /// the file's `name`, or its file name without `.toml`.
    pub fn load(
        path: &Path,
        catalog: &Catalog,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: shown.clone(),
            cause,
        })?;
        let file: File = toml::from_str(&text).map_err(|cause| ConfigError::Parse {
            path: shown.clone(),
            cause,
        })?;
        let invalid = |field: &str, reason: String| ConfigError::Invalid {
            path: shown.clone(),
            field: field.to_string(),
            reason,
        };
        let name = file.name(path, &invalid)?;
        let every = file.every(&invalid, DEFAULT_EVERY)?;
        let batch = file.batch(&invalid)?;
        let target = file.target(&invalid, &env)?;
        let check = Check {
            catalog,
            invalid: &invalid,
        };
        let rules = check.rules(&file, &target.kind)?;
        Ok(Config {
            name,
            every,
            batch,
            target,
            rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.toml");
        std::fs::write(&path, text).unwrap();
        let catalog = Catalog::new(Vec::new());
        Config::load(&path, &catalog, |var| {
            (var == "POINTAGRAM_API_KEY" || var == "SECRET").then(|| "s3cret".to_string())
        })
    }

    const MINIMAL: &str = r#"
        [target]
        kind = "pointagram"
        url = "https://app.pointagram.com/server/externalapi.php"
        api_user = "ops@example.com"
        api_key_env = "POINTAGRAM_API_KEY"

        [[players]]
        dataset = "users"

        [[scores]]
        dataset = "bets"
        where = { status = "won" }
        points = "win_amount"
        series = "Winnings"
        comment = "Bet {id}"
    "#;

    #[test]
    fn the_minimal_form_of_the_issue_loads_with_its_defaults() {
        let config = load(MINIMAL).unwrap();
        assert_eq!(config.name, "engine");
        assert_eq!(config.every, DEFAULT_EVERY);
        assert_eq!(config.target.rate, DEFAULT_RATE);
        let Rules::Points { players, scores } = &config.rules else {
            panic!("pointagram rules")
        };
        assert_eq!(players[0].dataset.name(), "users");
        assert_eq!(scores[0].player, "player_id");
        assert_eq!(scores[0].time, "modified_at");
        let bet = json!({"id": "b1", "status": "won"});
        assert!(scores[0].filter.matches(bet.as_object().unwrap()));
        assert_eq!(render("Bet {id}!", bet.as_object().unwrap()), "Bet b1!");
    }

    #[test]
    fn mistakes_name_the_field_and_what_it_takes() {
        let cases = [
            (
                MINIMAL.replace("status = ", "stauts = "),
                "scores[1].where.stauts names 'stauts', which bets does not have",
            ),
            (
                MINIMAL.replace("\"win_amount\"", "\"currency\""),
                "scores[1].points names 'currency', which holds string values",
            ),
            (
                MINIMAL.replace("POINTAGRAM_API_KEY", "NOT_SET"),
                "target.api_key_env names $NOT_SET, which is not set",
            ),
            (
                MINIMAL.replace("\"users\"", "\"bets\""),
                "players[1].dataset ('bets') is not one row per player",
            ),
            (
                MINIMAL.replace("Bet {id}", "Bet {nope}"),
                "scores[1].comment names 'nope'",
            ),
            (
                MINIMAL.replace("\"pointagram\"", "\"zapier\""),
                "target.kind ('zapier') must be",
            ),
            (
                MINIMAL.replace("series = ", "seris = "),
                "unknown field `seris`",
            ),
            (
                format!(
                    "{MINIMAL}\n[[scores]]\ndataset = \"bets\"\npoints = 1\nseries = \"Bets\"\n"
                ),
                "scores[2].dataset ('bets') is scored by an earlier rule",
            ),
        ];
        for (text, expected) in cases {
            let error = load(&text).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error}\n  should say: {expected}"
            );
        }
    }

    #[test]
    fn the_examples_in_docs_load() {
        let catalog = Catalog::new(Vec::new());
        for file in ["pointagram.toml", "webhook.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs/examples")
                .join(file);
            Config::load(&path, &catalog, |_| Some("s3cret".to_string()))
                .unwrap_or_else(|error| panic!("{error}"));
        }
    }

    #[test]
    fn a_webhook_takes_datasets_and_a_secret() {
        let config = load(
            r#"
            name = "warehouse"
            every_seconds = 0.5
            [target]
            kind = "webhook"
            url = "http://127.0.0.1:9/hook"
            secret_env = "SECRET"
            [[changes]]
            dataset = "bets"
            [[changes]]
            dataset = "users"
            "#,
        )
        .unwrap();
        assert_eq!(config.name, "warehouse");
        assert_eq!(config.every, Duration::from_millis(500));
        assert_eq!(
            config
                .rules
                .datasets()
                .iter()
                .map(|d| d.name())
                .collect::<Vec<_>>(),
            ["bets", "users"]
        );
    }
}
