//! `bets`: sportsbook bets, stamped `modified_at` on every change (a bet
//! settling re-emits it with its win amount).

use super::{stamped_table, Pull, Push, BALANCE_KINDS};
use crate::db::schema::bets;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::money::Money;
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = bets, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Bet {
    pub id: i64,
    pub player_id: i64,
    pub status: Option<String>,
    pub type_: String,
    pub stake: Option<Money>,
    pub win_amount: Option<Money>,
    pub currency: Option<String>,
    pub kind: Option<String>,
    pub created_at: Timestamp,
    pub user_agent: Option<String>,
    pub modified_at: Timestamp,
}

stamped_table!(
    Bet,
    bets,
    key: id,
    stamp: modified_at,
    replace: [player_id, status, type_, stake, win_amount, currency, kind, created_at, user_agent, modified_at]
);

impl Pull for Bet {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "player_id",
        "status",
        "type",
        "stake",
        "win_amount",
        "currency",
        "kind",
        "created_at",
        "user_agent",
        "modified_at",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            self.player_id.into(),
            (&self.status).into(),
            (&self.type_).into(),
            (&self.stake).into(),
            (&self.win_amount).into(),
            (&self.currency).into(),
            (&self.kind).into(),
            self.created_at.into(),
            (&self.user_agent).into(),
            self.modified_at.into(),
        ])
    }
}

impl Push for Bet {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(Bet {
            id: f.need("id")?,
            player_id: f.need("player_id")?,
            status: f.get("status")?,
            type_: f.need("type")?,
            stake: f.get("stake")?,
            win_amount: f.get("win_amount")?,
            currency: f.get("currency")?,
            kind: f.choice("kind", BALANCE_KINDS)?,
            created_at: f.need("created_at")?,
            user_agent: f.get("user_agent")?,
            modified_at: Timestamp::from_micros(0),
        })
    }
}
