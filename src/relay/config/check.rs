//! The rules of a relay's file checked against the datasets' columns:
//! every dataset, column and placeholder they name must exist, and hold
//! what the rule needs (numbers for points, a time for a score's date).

use super::file::{File, RuleFile};
use super::template::placeholders;
use super::{ConfigError, Filter, Invalid, PlayerRule, Points, Rules, ScoreRule, TargetKind};
use crate::datasets::catalog::Catalog;
use crate::datasets::column::Kind;
use crate::datasets::{Dataset, Role};
use std::collections::BTreeMap;

/// Checks rules against the datasets' columns.
pub(super) struct Check<'a> {
    pub(super) catalog: &'a Catalog,
    pub(super) invalid: Invalid<'a>,
}

impl Check<'_> {
    /// The rules of `file` for a target of `kind`.
    pub(super) fn rules(&self, file: &File, kind: &TargetKind) -> Result<Rules, ConfigError> {
        let invalid = self.invalid;
        Ok(match kind {
            TargetKind::Pointagram { .. } => {
                let players = file
                    .players
                    .iter()
                    .enumerate()
                    .map(|(n, rule)| self.player_rule(&format!("players[{}]", n + 1), rule))
                    .collect::<Result<Vec<_>, _>>()?;
                let scores = file
                    .scores
                    .iter()
                    .enumerate()
                    .map(|(n, rule)| self.score_rule(&format!("scores[{}]", n + 1), rule))
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
                    self.refuse_extra(&field, rule, false)?;
                    let dataset = self.dataset(&field, &rule.dataset)?;
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
        })
    }

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
