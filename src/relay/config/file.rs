//! The configuration file as written, and the checks of its own fields
//! (name, timings, target); the rules are checked against the datasets'
//! columns in `check.rs`.

use super::{
    ConfigError, Invalid, Target, TargetKind, DEFAULT_BATCH, DEFAULT_MAX_BACKOFF, DEFAULT_RATE,
    DEFAULT_TIMEOUT,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) name: Option<String>,
    pub(super) every_seconds: Option<f64>,
    pub(super) batch: Option<u64>,
    pub(super) target: TargetFile,
    #[serde(default)]
    pub(super) players: Vec<RuleFile>,
    #[serde(default)]
    pub(super) scores: Vec<RuleFile>,
    #[serde(default)]
    pub(super) changes: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetFile {
    pub(super) kind: String,
    pub(super) url: String,
    pub(super) api_user: Option<String>,
    pub(super) api_key_env: Option<String>,
    pub(super) secret_env: Option<String>,
    pub(super) rate: Option<f64>,
    pub(super) timeout_seconds: Option<f64>,
    pub(super) max_backoff_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    pub(super) dataset: String,
    #[serde(rename = "where", default)]
    pub(super) filter: BTreeMap<String, toml::Value>,
    pub(super) points: Option<toml::Value>,
    pub(super) series: Option<String>,
    pub(super) comment: Option<String>,
    pub(super) player: Option<String>,
    pub(super) time: Option<String>,
}

impl File {
    /// The relay's name: the file's `name`, or its file name without `.toml`.
    pub(super) fn name(&self, path: &Path, invalid: Invalid) -> Result<String, ConfigError> {
        let name = match &self.name {
            Some(name) => name.clone(),
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
        Ok(name)
    }

    /// `every_seconds`, or its default.
    pub(super) fn every(
        &self,
        invalid: Invalid,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        seconds(invalid, "every_seconds", self.every_seconds, default)
    }

    /// `batch`, or its default.
    pub(super) fn batch(&self, invalid: Invalid) -> Result<u64, ConfigError> {
        let batch = self.batch.unwrap_or(DEFAULT_BATCH);
        if !(1..=100_000).contains(&batch) {
            return Err(invalid("batch", format!("({batch}) must be 1 to 100000")));
        }
        Ok(batch)
    }

    /// `[target]`, with its secret read from the variable it names in `env`.
    /// Keys of another kind of target, and rules it does not take, are refused.
    pub(super) fn target(
        &self,
        invalid: Invalid,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Target, ConfigError> {
        let t = &self.target;
        let secret = |field: &str, var: &Option<String>| {
            let var = var.as_deref().ok_or_else(|| {
                invalid(
                    &format!("target.{field}"),
                    "is missing: name the environment variable that holds the secret".into(),
                )
            })?;
            env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
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
                unused("changes", !self.changes.is_empty(), "pointagram")?;
                TargetKind::Pointagram {
                    api_user: t.api_user.clone().ok_or_else(|| {
                        invalid(
                            "target.api_user",
                            "is missing: your Pointagram login (e-mail address)".into(),
                        )
                    })?,
                    api_key: secret("api_key_env", &t.api_key_env)?,
                }
            }
            "webhook" => {
                unused("target.api_user", t.api_user.is_some(), "webhook")?;
                unused("target.api_key_env", t.api_key_env.is_some(), "webhook")?;
                unused("players", !self.players.is_empty(), "webhook")?;
                unused("scores", !self.scores.is_empty(), "webhook")?;
                TargetKind::Webhook {
                    secret: secret("secret_env", &t.secret_env)?,
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
        Ok(Target {
            url: t.url.trim_end_matches('/').to_string(),
            kind,
            rate,
            timeout: seconds(
                invalid,
                "target.timeout_seconds",
                t.timeout_seconds,
                DEFAULT_TIMEOUT,
            )?,
            max_backoff: seconds(
                invalid,
                "target.max_backoff_seconds",
                t.max_backoff_seconds,
                DEFAULT_MAX_BACKOFF,
            )?,
        })
    }
}

/// A number of seconds above 0 and at most a day, or `default`.
fn seconds(
    invalid: Invalid,
    field: &str,
    value: Option<f64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(invalid(
            field,
            format!("({s}) must be a number of seconds above 0 and at most a day"),
        )),
    }
}
