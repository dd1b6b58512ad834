//! Pointagram's custom API (`../shared/reference/000_…`): players with
//! `create_player`, points with `add_score`.
//!
//! A score is keyed by `source_score_id` = `<dataset>:<id>`: sending it
//! again replaces the earlier score, which is how a changed row is scored
//! anew (its points, or its player, changed). A row that stops matching its
//! rule, or is deleted, is sent with `points: 0`, which revokes it; only
//! rows the relay may have scored are revoked (`relay_scores`), so a lost
//! bet never puts a zero in anyone's news feed.

use super::config::{render, text_of, Points, Rules, ScoreRule};
use super::send::Call;
use super::{blocking, store, Delivery, Relay, RelayError, Row, WindowRows};
use crate::datasets::Dataset;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Headers every call carries: the key and the login it belongs to.
pub fn headers(api_user: &str, api_key: &str) -> Result<reqwest::header::HeaderMap, RelayError> {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut key = reqwest::header::HeaderValue::from_str(api_key).map_err(|_| {
        RelayError::Target("the Pointagram key holds characters a header cannot carry")
    })?;
    key.set_sensitive(true);
    headers.insert("api_key", key);
    headers.insert(
        "api_user",
        reqwest::header::HeaderValue::from_str(api_user).map_err(|_| {
            RelayError::Target("target.api_user holds characters a header cannot carry")
        })?,
    );
    Ok(headers)
}

/// One thing to send.
enum Step {
    Player(Call),
    /// A score of `id` for `player` (points 0 revokes).
    Score {
        id: String,
        player: String,
        call: Call,
        revoke: bool,
    },
}

/// Sends a window: players, then each rule's deletes, then its rows.
pub(super) async fn deliver(relay: &mut Relay, read: WindowRows) -> Result<Delivery, RelayError> {
    let Rules::Points { players, scores } = relay.config.rules.clone() else {
        unreachable!("a pointagram relay has points rules")
    };
    let url = relay.config.target.url.clone();
    let mut steps = Vec::new();
    for rule in &players {
        for row in read
            .of(rule.dataset)
            .iter()
            .filter(|row| rule.filter.matches(row))
        {
            steps.push(Step::Player(create_player(&url, rule.dataset, row)));
        }
    }

    // Revokes go only to scores that may have been sent: look them up.
    let candidates: Vec<String> = scores
        .iter()
        .flat_map(|rule| {
            let deleted = read
                .deleted(rule.dataset)
                .filter_map(|d| d.get("id").and_then(text_of));
            let unmatched = read
                .of(rule.dataset)
                .iter()
                .filter(|row| !rule.filter.matches(row))
                .filter_map(|row| key_of(rule.dataset, row));
            deleted
                .chain(unmatched)
                .map(|id| score_id(rule.dataset, &id))
                .collect::<Vec<_>>()
        })
        .collect();
    let name = relay.config.name.clone();
    let mut known = if candidates.is_empty() {
        HashMap::new()
    } else {
        blocking(&relay.pools.control, move |conn| {
            Ok(store::known(conn, &name, &candidates)?)
        })
        .await?
    };

    for rule in &scores {
        for deletion in read.deleted(rule.dataset) {
            let Some(id) = deletion.get("id").and_then(text_of) else {
                continue;
            };
            let id = score_id(rule.dataset, &id);
            if let Some(player) = known.remove(&id) {
                let call = add_score(
                    &url,
                    rule,
                    &id,
                    &player,
                    json!(0),
                    None,
                    deletion.get("deleted_at"),
                );
                steps.push(Step::Score {
                    id,
                    player,
                    call,
                    revoke: true,
                });
            }
        }
        for row in read.of(rule.dataset) {
            let Some(key) = key_of(rule.dataset, row) else {
                continue;
            };
            let id = score_id(rule.dataset, &key);
            let comment = rule.comment.as_deref().map(|t| render(t, row));
            let time = row.get(&rule.time);
            if rule.filter.matches(row) {
                let Some(player) = row
                    .get(&rule.player)
                    .and_then(text_of)
                    .filter(|p| !p.is_empty())
                else {
                    log::warn!(
                        "relay {}: {id} matches but names no player in '{}': not scored",
                        relay.config.name,
                        rule.player
                    );
                    continue;
                };
                let points = points_of(rule, row);
                let call = add_score(&url, rule, &id, &player, points, comment, time);
                known.remove(&id);
                steps.push(Step::Score {
                    id,
                    player,
                    call,
                    revoke: false,
                });
            } else if let Some(player) = known.remove(&id) {
                let call = add_score(&url, rule, &id, &player, json!(0), comment, time);
                steps.push(Step::Score {
                    id,
                    player,
                    call,
                    revoke: true,
                });
            }
        }
    }

    // Before sending: every score about to go out is known, so that it can
    // be revoked later even if this process dies right after sending it.
    let scored: Vec<(String, String)> = steps
        .iter()
        .filter_map(|step| match step {
            Step::Score {
                id,
                player,
                revoke: false,
                ..
            } => Some((id.clone(), player.clone())),
            _ => None,
        })
        .collect();
    if !scored.is_empty() {
        let name = relay.config.name.clone();
        blocking(&relay.pools.control, move |conn| {
            Ok(store::remember(conn, &name, &scored)?)
        })
        .await?;
    }

    let mut delivery = Delivery::default();
    // Ids whose last step in this window was a revoke: forgotten once the
    // window is delivered.
    let mut revoked = HashSet::new();
    for step in &steps {
        let (call, revoke) = match step {
            Step::Player(call) => (call, None),
            Step::Score {
                id, call, revoke, ..
            } => (call, Some((id, *revoke))),
        };
        if relay.call(call).await? {
            delivery.delivered += 1;
        } else {
            delivery.refused += 1;
        }
        match revoke {
            Some((id, true)) => {
                revoked.insert(id.clone());
            }
            Some((id, false)) => {
                revoked.remove(id);
            }
            None => {}
        }
    }
    delivery.revoked = revoked.into_iter().collect();
    Ok(delivery)
}

/// `<dataset>:<id>`.
fn score_id(dataset: Dataset, id: &str) -> String {
    format!("{}:{id}", dataset.name())
}

/// The row's key, as text.
fn key_of(dataset: Dataset, row: &Row) -> Option<String> {
    row.get(dataset.def().key).and_then(text_of)
}

/// The points a matching row earns: its column's exact value (0 when it is
/// empty), or the rule's number.
fn points_of(rule: &ScoreRule, row: &Row) -> Value {
    match &rule.points {
        Points::Fixed(n) => Value::Number(n.clone()),
        Points::Column(column) => match row.get(column) {
            Some(Value::Number(n)) => Value::Number(n.clone()),
            _ => json!(0),
        },
    }
}

/// `create_player`: the row's id, its first and last name (or the id when
/// both are empty), offline.
fn create_player(url: &str, dataset: Dataset, row: &Row) -> Call {
    let id = key_of(dataset, row).unwrap_or_default();
    let name = ["first_name", "last_name"]
        .iter()
        .filter_map(|c| row.get(*c).and_then(text_of))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let body = json!({
        "player_name": if name.is_empty() { id.clone() } else { name },
        "player_external_id": id,
        "offline": 1,
    });
    Call {
        url: format!("{url}/create_player"),
        endpoint: "create_player",
        body: body.to_string(),
        headers: Vec::new(),
    }
}

/// `add_score` of `points` for `player`, keyed by `id`.
fn add_score(
    url: &str,
    rule: &ScoreRule,
    id: &str,
    player: &str,
    points: Value,
    comment: Option<String>,
    time: Option<&Value>,
) -> Call {
    let mut body = json!({
        "player_external_id": player,
        "points": points,
        "scoreseries_name": rule.series,
        "source_score_id": id,
    });
    if let Some(comment) = comment {
        body["comment"] = json!(comment);
    }
    if let Some(time) = time.filter(|t| !t.is_null()) {
        body["score_time"] = time.clone();
    }
    Call {
        url: format!("{url}/add_score"),
        endpoint: "add_score",
        body: body.to_string(),
        headers: Vec::new(),
    }
}
