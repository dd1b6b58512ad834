//! Every dataset, described once: the one list the rest of hourglass reads.
//!
//! Columns are in output order, exactly as InTarget's spec gives them. Each
//! entry drives parsing and validation, encoding, the upsert, the window
//! query, `/api/schema`, the openapi check and the tests' fixtures. Adding a
//! column is one line here plus a migration on each backend; adding a
//! dataset is one entry plus migrations (and regenerating openapi.yaml's
//! schemas, which a test asks for).

use super::column::{Column, Kind};
use super::{DatasetDef, Role};

/// The spec's balance kinds: wallet `type`, bet `kind`, session `balance_type`.
pub const BALANCE_KINDS: &[&str] = &["Normal", "Prize", "Other"];
pub const TRANSACTION_TYPES: &[&str] = &["Normal", "Prize", "Compensation", "Cash back", "Other"];
pub const TRANSACTION_STATUSES: &[&str] = &["New", "Process", "Success", "Fail"];
pub const DIRECTIONS: &[&str] = &["IN", "OUT"];
pub const ACTIONS: &[&str] = &["bet", "win"];

use Kind::*;

const fn col(name: &'static str, kind: Kind, doc: &'static str) -> Column {
    Column::new(name, kind, doc)
}

const STAMP: &str = "last modified; stamped by hourglass on every write, never sent by clients";

pub static DATASETS: &[DatasetDef] = &[
    DatasetDef {
        name: "users",
        doc: "One row per player.",
        key: "id",
        stamp: Some("modified_at"),
        role: Role::Stored,
        player: Some("id"),
        custom_fields: true,
        columns: &[
            col("id", Id, "player id").required(),
            col("first_name", Text, "").personal(),
            col("last_name", Text, "").personal(),
            col("gender", Text, ""),
            col("country", Text, ""),
            col("city", Text, "").personal(),
            col("ip", Text, "").personal(),
            col("birthday", Date, "YYYY-MM-DD").personal(),
            col("registered_at", Time, "when the player registered").required(),
            col("ref_code", Text, "custom string for traffic source detection"),
            col("traffic_source", Text, ""),
            col("user_agent", Text, "").personal(),
            col("modified_at", Time, STAMP),
            col("is_blocked", Bool, "the player was blocked and cannot log in"),
            col("self_excluded", Bool, "the player is unsubscribed from all communication"),
            col("locale", Text, ""),
        ],
    },
    DatasetDef {
        name: "contacts",
        doc: "One row per player: how to reach them.",
        key: "player_id",
        stamp: Some("modified_at"),
        role: Role::Stored,
        player: Some("player_id"),
        custom_fields: false,
        columns: &[
            col("player_id", Id, "").required(),
            col("email", Text, "").personal(),
            col("email_confirmed_at", Time, "when the email address was confirmed"),
            col("email_subscribe", Bool, "the email is subscribed to communication"),
            col("phone", Text, "").personal(),
            col("phone_subscribe", Bool, "the phone is subscribed to communication"),
            col("phone_confirmed_at", Time, "when the phone number was confirmed"),
            col("push_token", Text, "").personal(),
            col("created_at", Time, "").required(),
            col("modified_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "transactions",
        doc: "Deposits, withdrawals and other money movements.",
        key: "id",
        stamp: Some("updated_at"),
        role: Role::Stored,
        player: Some("player_id"),
        custom_fields: false,
        columns: &[
            col("id", Id, "unique transaction identifier").required(),
            col("player_id", Id, "").required(),
            col("amount", Money, "").required(),
            col("currency", Text, "original currency: USD, EUR, AUD, ...").required(),
            col("type", Text, "operation type").one_of(TRANSACTION_TYPES),
            col("status", Text, "current status").one_of(TRANSACTION_STATUSES),
            col("payment_system", Text, "payment system name"),
            col("dir", Text, "balance change direction").required().one_of(DIRECTIONS),
            col("created_at", Time, "when the transaction was created").required(),
            col("updated_at", Time, STAMP),
            col("invoice_id", Id, "invoice identifier of the external payment system"),
            col("wallet_id", Id, "the affected wallet"),
            col("user_agent", Text, "").personal(),
            col("ip", Text, "").personal(),
            col("requisite", Text, "requisite used: masked card number, email, phone, wallet").personal(),
            col("comment", Text, "").personal(),
        ],
    },
    DatasetDef {
        name: "logins",
        doc: "Login attempts. The spec gives them no last-modified column; hourglass adds a trailing modified_at.",
        key: "id",
        stamp: Some("modified_at"),
        role: Role::Stored,
        player: Some("player_id"),
        custom_fields: false,
        columns: &[
            col("id", Id, "unique login identifier").required(),
            col("player_id", Id, "").required(),
            col("ip", Text, "").personal(),
            col("created_at", Time, "").required(),
            col("ref_code", Text, "custom string for referral code detection"),
            col("traffic_source", Text, "custom string for traffic source detection"),
            col("user_agent", Text, "").personal(),
            col("host", Text, "real host name, for mirrors").personal(),
            col("is_success", Bit, "1 if the login succeeded, 0 otherwise"),
            col("fail_reason", Text, "why the login failed; empty on success"),
            col("modified_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "wallets",
        doc: "One balance per wallet.",
        key: "id",
        stamp: Some("modified_at"),
        role: Role::Stored,
        player: Some("player_id"),
        custom_fields: false,
        columns: &[
            col("id", Id, "unique wallet identifier").required(),
            col("player_id", Id, "").required(),
            col("type", Text, "balance kind").required().one_of(BALANCE_KINDS),
            col("balance", Money, "").required(),
            col("currency", Text, "").required(),
            col("created_at", Time, "").required(),
            col("modified_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "game_sessions",
        doc: "Casino game sessions, rolled up from their game actions: every session with an action that happened (or was written) in the window, aggregated over all of its actions.",
        key: "session_id",
        stamp: None,
        role: Role::Computed {
            written_as: "game_actions",
        },
        player: None,
        custom_fields: false,
        columns: &[
            col("player_id", Id, "").required(),
            col("session_id", Id, "unique session identifier").required(),
            col("game_code", Text, "unique game identifier"),
            col("game_name", Text, "").required(),
            col("currency", Text, "").required(),
            col("bet_count", Int, "count of all bets in the session").required(),
            col("win_count", Int, "count of all wins in the session").required(),
            col("bet_amount", Money, "the amount of all bets in the session").required(),
            col("win_amount", Money, "the amount of all wins in the session").required(),
            col("created_at", Time, "the session's first action").required(),
            col("updated_at", Time, "the session's last action").required(),
            col("game_vendor", Text, ""),
            col("balance_type", Text, "").one_of(BALANCE_KINDS),
            col("ip", Text, "").personal(),
            col("user_agent", Text, "").personal(),
            col("ref_code", Text, ""),
        ],
    },
    DatasetDef {
        name: "game_actions",
        doc: "The raw bets and wins of casino game sessions. Written here, pulled as game_sessions.",
        key: "id",
        stamp: Some("modified_at"),
        role: Role::WriteOnly {
            pulled_as: "game_sessions",
        },
        player: Some("player_id"),
        custom_fields: false,
        columns: &[
            col("id", Id, "unique action identifier").required(),
            col("session_id", Id, "").required(),
            col("player_id", Id, "").required(),
            col("game_code", Text, ""),
            col("game_name", Text, "").required(),
            col("game_vendor", Text, ""),
            col("currency", Text, "").required(),
            col("balance_type", Text, "").one_of(BALANCE_KINDS),
            col("action", Text, "").required().one_of(ACTIONS),
            col("amount", Money, "").required(),
            col("ip", Text, "").personal(),
            col("user_agent", Text, "").personal(),
            col("ref_code", Text, ""),
            col("created_at", Time, "when the action happened").required(),
            col("modified_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "tournaments",
        doc: "Sportsbook tournaments. The spec's columns plus a trailing modified_at.",
        key: "id",
        stamp: Some("modified_at"),
        role: Role::Stored,
        player: None,
        custom_fields: false,
        columns: &[
            col("id", Id, "").required(),
            col("name", Text, "").required(),
            col("sport_id", Id, ""),
            col("sport_name", Text, ""),
            col("country_code", Text, ""),
            col("dateStart", Time, "").required().stored_as("date_start"),
            col("dateEnd", Time, "").stored_as("date_end"),
            col("modified_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "events",
        doc: "Sportsbook events (matches) in a tournament. The spec's columns plus a trailing modified_at.",
        key: "id",
        stamp: Some("modified_at"),
        role: Role::Stored,
        player: None,
        custom_fields: false,
        columns: &[
            col("id", Id, "").required(),
            col("tournament_id", Id, "").required(),
            col("title", Text, "").required(),
            col("status", Text, "").required(),
            col("startTime", Time, "").required().stored_as("start_time"),
            col("endTime", Time, "").stored_as("end_time"),
            col("type", Text, "").required(),
            col("modified_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "bets",
        doc: "Sportsbook bets.",
        key: "id",
        stamp: Some("modified_at"),
        role: Role::Stored,
        player: Some("player_id"),
        custom_fields: false,
        columns: &[
            col("id", Id, "").required(),
            col("player_id", Id, "").required(),
            col("status", Text, ""),
            col("type", Text, "").required(),
            col("stake", Money, ""),
            col("win_amount", Money, ""),
            col("currency", Text, ""),
            col("kind", Text, "").one_of(BALANCE_KINDS),
            col("created_at", Time, "").required(),
            col("user_agent", Text, "").personal(),
            col("modified_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "bet_selections",
        doc: "The legs of a bet, each on one event.",
        key: "id",
        stamp: Some("updated_at"),
        role: Role::Stored,
        player: None,
        custom_fields: false,
        columns: &[
            col("id", Id, "").required(),
            col("bet_id", Id, "").required(),
            col("event_id", Id, "").required(),
            col("ratio", Money, "the odds"),
            col("status", Text, ""),
            col("market", Text, "").required(),
            col("created_at", Time, "").required(),
            col("updated_at", Time, STAMP),
        ],
    },
    DatasetDef {
        name: "deletions",
        doc: "Rows deleted from the other datasets, and when: apply them to your copy. A game session left without actions is listed as game_sessions.",
        key: "id",
        stamp: Some("deleted_at"),
        role: Role::Feed,
        player: None,
        custom_fields: false,
        columns: &[
            col("dataset", Text, "the dataset the row was deleted from").required(),
            col("id", Id, "the deleted row's key (a contact's player_id, a session's session_id)").required(),
            col("deleted_at", Time, "when it was deleted; stamped by hourglass"),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::Dataset;

    #[test]
    fn every_description_holds_together() {
        for def in DATASETS {
            let column = |name: &str| def.columns.iter().find(|c| c.name == name);
            let key = column(def.key).unwrap_or_else(|| panic!("{}: no key column", def.name));
            assert_eq!(key.kind, Id, "{}: the key is an id", def.name);
            if let Some(stamp) = def.stamp {
                let stamp = column(stamp).unwrap_or_else(|| panic!("{}: no stamp", def.name));
                assert_eq!(stamp.kind, Time, "{}", def.name);
                assert!(!stamp.required, "{}: the stamp is never sent", def.name);
            }
            for c in def.columns {
                assert!(
                    c.values.is_empty() || c.kind == Text,
                    "{}.{}: only text columns are enumerated",
                    def.name,
                    c.name
                );
                assert!(
                    !c.personal || (!c.required && matches!(c.kind, Text | Date)),
                    "{}.{}: personal data is optional text, so that erasure can blank it",
                    def.name,
                    c.name
                );
                let twins = def.columns.iter().filter(|o| o.name == c.name).count();
                assert_eq!(twins, 1, "{}.{} is listed twice", def.name, c.name);
            }
            if let Some(player) = def.player {
                assert_eq!(column(player).map(|c| c.kind), Some(Id), "{}", def.name);
            }
            let personal = def.columns.iter().any(|c| c.personal);
            let erasable = def.player.is_some() || matches!(def.role, Role::Computed { .. });
            assert!(
                !personal || erasable,
                "{}: personal data without a player column could not be erased",
                def.name
            );
            match def.role {
                Role::Stored | Role::Feed => assert!(def.stamp.is_some(), "{}", def.name),
                Role::WriteOnly { pulled_as } => {
                    assert!(Dataset::named(pulled_as).is_pullable())
                }
                Role::Computed { written_as } => {
                    assert!(Dataset::named(written_as).is_pushable())
                }
            }
        }
    }
}
