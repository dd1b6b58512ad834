//! A signed webhook: each window's changes in one POST.
//!
//! The body is a JSON array of `{"dataset", "op": "upsert"|"delete", "row"}`:
//! a window's deletes first (`row` holds the deleted key and `deleted_at`),
//! then its rows as a JSON pull writes them. `X-Hourglass-Window` names the
//! window (`from/to`, half-open, UTC), and `X-Hourglass-Signature` is
//! `sha256=` and the hex HMAC-SHA256 of the body under the shared secret, so
//! the receiver can tell the body is ours and whole. A window holds at most
//! `batch` rows, unless a single write stamped more rows alike; such a
//! window goes in parts of `batch` changes, each with `X-Hourglass-Part:
//! n/total`. A window may come again after a restart: the receiver applies
//! it again, or skips a window it has seen.

use super::config::{text_of, Rules, TargetKind};
use super::send::Call;
use super::{window_text, Delivery, Relay, RelayError, WindowRows};
use crate::timestamp::TimeWindow;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={:x}", mac.finalize().into_bytes())
}

pub(super) async fn deliver(
    relay: &mut Relay,
    window: TimeWindow,
    read: WindowRows,
) -> Result<Delivery, RelayError> {
    let (Rules::Changes(datasets), TargetKind::Webhook { secret }) =
        (&relay.config.rules, &relay.config.target.kind)
    else {
        unreachable!("a webhook relay has change rules")
    };
    let mut changes = Vec::new();
    for &dataset in datasets {
        for deletion in read.deleted(dataset) {
            let mut row = serde_json::Map::new();
            row.insert(
                dataset.def().key.to_string(),
                deletion
                    .get("id")
                    .and_then(text_of)
                    .map_or(Value::Null, Value::String),
            );
            row.insert(
                "deleted_at".to_string(),
                deletion.get("deleted_at").cloned().unwrap_or(Value::Null),
            );
            changes.push(json!({"dataset": dataset.name(), "op": "delete", "row": row}));
        }
    }
    for &dataset in datasets {
        for row in read.of(dataset) {
            changes.push(json!({"dataset": dataset.name(), "op": "upsert", "row": row}));
        }
    }
    if changes.is_empty() {
        return Ok(Delivery::default());
    }
    // A window holds at most a batch of rows, unless one write stamped
    // more alike: its changes then go in parts of a batch each.
    let parts = changes.chunks(relay.config.batch as usize).count();
    let (secret, window_name) = (secret.clone(), window_text(window));
    let mut delivery = Delivery::default();
    for (n, part) in changes.chunks(relay.config.batch as usize).enumerate() {
        let body = Value::Array(part.to_vec()).to_string();
        let mut headers = vec![
            ("X-Hourglass-Signature", signature(&secret, body.as_bytes())),
            ("X-Hourglass-Window", window_name.clone()),
        ];
        if parts > 1 {
            headers.push(("X-Hourglass-Part", format!("{}/{parts}", n + 1)));
        }
        let call = Call {
            url: relay.config.target.url.clone(),
            endpoint: "webhook",
            headers,
            body,
        };
        if relay.call(&call).await? {
            delivery.delivered += part.len() as u64;
        } else {
            delivery.refused += part.len() as u64;
        }
    }
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
