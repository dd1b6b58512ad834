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

use crate::datasets::catalog::Catalog;
use crate::datasets::column::Kind;
use crate::datasets::{Dataset, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

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

/// A cell as text: a string's contents, a number's digits, `true`/`false`;
/// `None` for null.
pub fn text_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
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

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    every_seconds: Option<f64>,
    batch: Option<u64>,
    target: TargetFile,
    #[serde(default)]
    players: Vec<RuleFile>,
    #[serde(default)]
    scores: Vec<RuleFile>,
    #[serde(default)]
    changes: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    kind: String,
    url: String,
    api_user: Option<String>,
    api_key_env: Option<String>,
    secret_env: Option<String>,
    rate: Option<f64>,
    timeout_seconds: Option<f64>,
    max_backoff_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    dataset: String,
    #[serde(rename = "where", default)]
    filter: BTreeMap<String, toml::Value>,
    points: Option<toml::Value>,
    series: Option<String>,
    comment: Option<String>,
    player: Option<String>,
    time: Option<String>,
}

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
        let name = match file.name {
            Some(name) => name,
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
            return Err(invalid(
                "name",
                format!("('{name}') must be 1 to 64 printable characters"),
            ));
        }
        let seconds = |field: &str, value: Option<f64>, default: Duration| match value {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(invalid(
                field,
                format!("({s}) must be a number of seconds above 0 and at most a day"),
            )),
        };
        let every = seconds("every_seconds", file.every_seconds, DEFAULT_EVERY)?;
        let batch = file.batch.unwrap_or(DEFAULT_BATCH);
        if !(1..=100_000).contains(&batch) {
            return Err(invalid("batch", format!("({batch}) must be 1 to 100000")));
        }

        let t = file.target;
        let secret = |field: &str, var: Option<String>| {
            let var = var.ok_or_else(|| {
                invalid(
                    &format!("target.{field}"),
                    "is missing: name the environment variable that holds the secret".into(),
                )
            })?;
            env(&var).filter(|v| !v.is_empty()).ok_or_else(|| {
                invalid(
                    &format!("target.{field}"),
                    format!("names ${var}, which is not set: export it before starting the relay"),
                )
            })
        };
        let unused = |field: &str, value: bool, kind: &str| {
            if value {
                Err(invalid(field, format!("is not used by a {kind} target")))
            } else {
                Ok(())
            }
        };
        let kind = match t.kind.as_str() {
            "pointagram" => {
                unused("target.secret_env", t.secret_env.is_some(), "pointagram")?;
                unused("changes", !file.changes.is_empty(), "pointagram")?;
                TargetKind::Pointagram {
                    api_user: t.api_user.ok_or_else(|| {
                        invalid(
                            "target.api_user",
                            "is missing: your Pointagram login (e-mail address)".into(),
                        )
                    })?,
                    api_key: secret("api_key_env", t.api_key_env)?,
                }
            }
            "webhook" => {
                unused("target.api_user", t.api_user.is_some(), "webhook")?;
                unused("target.api_key_env", t.api_key_env.is_some(), "webhook")?;
                unused("players", !file.players.is_empty(), "webhook")?;
                unused("scores", !file.scores.is_empty(), "webhook")?;
                TargetKind::Webhook {
                    secret: secret("secret_env", t.secret_env)?,
                }
            }
            other => {
                return Err(invalid(
                    "target.kind",
                    format!("('{other}') must be \"pointagram\" or \"webhook\""),
                ))
            }
        };
        if !(t.url.starts_with("https://") || t.url.starts_with("http://")) {
            return Err(invalid(
                "target.url",
                format!("('{}') must be an http:// or https:// URL", t.url),
            ));
        }
        let rate = t.rate.unwrap_or(DEFAULT_RATE);
        if !(rate.is_finite() && rate > 0.0 && rate <= 10_000.0) {
            return Err(invalid(
                "target.rate",
                format!("({rate}) must be requests a second, above 0 and at most 10000"),
            ));
        }
        let target = Target {
            url: t.url.trim_end_matches('/').to_string(),
            kind,
            rate,
            timeout: seconds("target.timeout_seconds", t.timeout_seconds, DEFAULT_TIMEOUT)?,
            max_backoff: seconds(
                "target.max_backoff_seconds",
                t.max_backoff_seconds,
                DEFAULT_MAX_BACKOFF,
            )?,
        };

        let check = Check {
            catalog,
            invalid: &invalid,
        };
        let rules = match target.kind {
            TargetKind::Pointagram { .. } => {
                let players = file
                    .players
                    .iter()
                    .enumerate()
                    .map(|(n, rule)| check.player_rule(&format!("players[{}]", n + 1), rule))
                    .collect::<Result<Vec<_>, _>>()?;
                let scores = file
                    .scores
                    .iter()
                    .enumerate()
                    .map(|(n, rule)| check.score_rule(&format!("scores[{}]", n + 1), rule))
                    .collect::<Result<Vec<_>, _>>()?;
                if players.is_empty() && scores.is_empty() {
                    return Err(invalid(
                        "players",
                        "and scores are both missing: give at least one [[players]] or [[scores]]"
                            .into(),
                    ));
                }
                // `source_score_id` is `<dataset>:<id>`: two rules on one
                // dataset would replace each other's scores.
                for (n, rule) in scores.iter().enumerate() {
                    if scores[..n].iter().any(|r| r.dataset == rule.dataset) {
                        return Err(invalid(
                            &format!("scores[{}].dataset", n + 1),
                            format!(
                                "('{}') is scored by an earlier rule: a row's score is keyed by its dataset and id, so one rule per dataset",
                                rule.dataset.name()
                            ),
                        ));
                    }
                }
                Rules::Points { players, scores }
            }
            TargetKind::Webhook { .. } => {
                if file.changes.is_empty() {
                    return Err(invalid(
                        "changes",
                        "is missing: give one [[changes]] with a dataset for each dataset to send"
                            .into(),
                    ));
                }
                let mut datasets = Vec::new();
                for (n, rule) in file.changes.iter().enumerate() {
                    let field = format!("changes[{}]", n + 1);
                    check.refuse_extra(&field, rule, false)?;
                    let dataset = check.dataset(&field, &rule.dataset)?;
                    if datasets.contains(&dataset) {
                        return Err(invalid(
                            &format!("{field}.dataset"),
                            format!("('{}') is listed twice", dataset.name()),
                        ));
                    }
                    datasets.push(dataset);
                }
                Rules::Changes(datasets)
            }
        };
        Ok(Config {
            name,
            every,
            batch,
            target,
            rules,
        })
    }
}

/// Checks rules against the datasets' columns.
struct Check<'a> {
    catalog: &'a Catalog,
    invalid: &'a dyn Fn(&str, String) -> ConfigError,
}

impl Check<'_> {
    fn dataset(&self, field: &str, name: &str) -> Result<Dataset, ConfigError> {
        Dataset::from_name(name)
            .filter(|d| d.is_pullable() && d.def().role != Role::Feed)
            .ok_or_else(|| {
                (self.invalid)(
                    &format!("{field}.dataset"),
                    format!(
                        "('{name}') is not a dataset: use one of {}",
                        Dataset::names_where(|d| d.is_pullable() && d.def().role != Role::Feed)
                    ),
                )
            })
    }

    /// The column `name` of `dataset`, if it has it.
    fn column(&self, field: &str, dataset: Dataset, name: &str) -> Result<Kind, ConfigError> {
        let shape = self.catalog.shape(dataset);
        shape
            .columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.kind)
            .ok_or_else(|| {
                let names: Vec<&str> = shape.columns.iter().map(|c| c.name.as_ref()).collect();
                (self.invalid)(
                    field,
                    format!(
                        "names '{name}', which {} does not have: use one of {}",
                        dataset.name(),
                        names.join(", ")
                    ),
                )
            })
    }

    fn filter(
        &self,
        field: &str,
        dataset: Dataset,
        filter: &BTreeMap<String, toml::Value>,
    ) -> Result<Filter, ConfigError> {
        let mut checked = Vec::new();
        for (column, value) in filter {
            let field = format!("{field}.where.{column}");
            self.column(&field, dataset, column)?;
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err((self.invalid)(
                        &field,
                        "must be a string, a whole number or true/false".into(),
                    ))
                }
            };
            checked.push((column.clone(), text));
        }
        Ok(Filter(checked))
    }

    /// Refuses the keys of a `[[scores]]` entry in an entry that takes a
    /// dataset (and, for players, a filter) only.
    fn refuse_extra(
        &self,
        field: &str,
        rule: &RuleFile,
        takes_where: bool,
    ) -> Result<(), ConfigError> {
        let extra = [
            ("where", !takes_where && !rule.filter.is_empty()),
            ("points", rule.points.is_some()),
            ("series", rule.series.is_some()),
            ("comment", rule.comment.is_some()),
            ("player", rule.player.is_some()),
            ("time", rule.time.is_some()),
        ];
        match extra.iter().find(|(_, given)| *given) {
            Some((key, _)) => Err((self.invalid)(
                &format!("{field}.{key}"),
                if takes_where {
                    "is not taken by [[players]], which takes a dataset and a where".into()
                } else {
                    "is not taken by [[changes]], which takes a dataset only".into()
                },
            )),
            None => Ok(()),
        }
    }

    fn player_rule(&self, field: &str, rule: &RuleFile) -> Result<PlayerRule, ConfigError> {
        let dataset = self.dataset(field, &rule.dataset)?;
        if dataset.def().player != Some(dataset.def().key) {
            return Err((self.invalid)(
                &format!("{field}.dataset"),
                format!(
                    "('{}') is not one row per player: use {}",
                    dataset.name(),
                    Dataset::names_where(|d| d.def().player == Some(d.def().key))
                ),
            ));
        }
        let filter = self.filter(field, dataset, &rule.filter)?;
        self.refuse_extra(field, rule, true)?;
        Ok(PlayerRule { dataset, filter })
    }

    fn score_rule(&self, field: &str, rule: &RuleFile) -> Result<ScoreRule, ConfigError> {
        let dataset = self.dataset(field, &rule.dataset)?;
        let filter = self.filter(field, dataset, &rule.filter)?;
        let points = match &rule.points {
            None => {
                return Err((self.invalid)(
                    &format!("{field}.points"),
                    "is missing: name a numeric column, or give a number".into(),
                ))
            }
            Some(toml::Value::String(column)) => {
                let kind = self.column(&format!("{field}.points"), dataset, column)?;
                if !matches!(kind, Kind::Money | Kind::Cents | Kind::Int) {
                    return Err((self.invalid)(
                        &format!("{field}.points"),
                        format!(
                            "names '{column}', which holds {} values, not numbers",
                            kind.name()
                        ),
                    ));
                }
                Points::Column(column.clone())
            }
            Some(toml::Value::Integer(n)) => Points::Fixed((*n).into()),
            Some(toml::Value::Float(x)) if x.is_finite() => Points::Fixed(
                x.to_string()
                    .parse()
                    .expect("a finite float's text is a JSON number"),
            ),
            Some(_) => {
                return Err((self.invalid)(
                    &format!("{field}.points"),
                    "must be a column's name or a number".into(),
                ))
            }
        };
        let series = rule
            .series
            .clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                (self.invalid)(
                    &format!("{field}.series"),
                    "is missing: the name of the score series to add points to".into(),
                )
            })?;
        let player = match (&rule.player, dataset.def().player) {
            (Some(column), _) => column.clone(),
            (None, Some(column)) => column.to_string(),
            (None, None) => {
                return Err((self.invalid)(
                    &format!("{field}.player"),
                    format!("is missing: {} rows name no player by themselves, so name the column that does", dataset.name()),
                ))
            }
        };
        self.column(&format!("{field}.player"), dataset, &player)?;
        let time = match (&rule.time, dataset.def().stamp) {
            (Some(column), _) => column.clone(),
            (None, Some(stamp)) => stamp.to_string(),
            (None, None) => {
                return Err((self.invalid)(
                    &format!("{field}.time"),
                    format!("is missing: {} has no last-modified column, so name the time column a score is dated by", dataset.name()),
                ))
            }
        };
        if self.column(&format!("{field}.time"), dataset, &time)? != Kind::Time {
            return Err((self.invalid)(
                &format!("{field}.time"),
                format!("names '{time}', which is not a time"),
            ));
        }
        if let Some(comment) = &rule.comment {
            for column in placeholders(comment) {
                self.column(&format!("{field}.comment"), dataset, column)?;
            }
        }
        Ok(ScoreRule {
            dataset,
            filter,
            points,
            series,
            comment: rule.comment.clone(),
            player,
            time,
        })
    }
}

/// The `{column}` names in a comment template.
pub fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|piece| piece.split_once('}').map(|(name, _)| name))
}

/// A comment template with each `{column}` replaced by the row's value
/// (empty for null).
pub fn render(template: &str, row: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open + 1..].split_once('}') {
            Some((name, after)) => {
                out.push_str(&row.get(name).and_then(text_of).unwrap_or_default());
                rest = after;
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
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
