//! `bet_selections`: the legs of a bet, each on one event, stamped
//! `updated_at` on every change.

use super::{stamped_table, Pull, Push};
use crate::db::schema::bet_selections;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::money::Money;
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = bet_selections, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct BetSelection {
    pub id: i64,
    pub bet_id: i64,
    pub event_id: i64,
    /// The odds, an exact decimal like any amount.
    pub ratio: Option<Money>,
    pub status: Option<String>,
    pub market: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

stamped_table!(
    BetSelection,
    bet_selections,
    key: id,
    stamp: updated_at,
    replace: [bet_id, event_id, ratio, status, market, created_at, updated_at]
);

impl Pull for BetSelection {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "bet_id",
        "event_id",
        "ratio",
        "status",
        "market",
        "created_at",
        "updated_at",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            self.bet_id.into(),
            self.event_id.into(),
            (&self.ratio).into(),
            (&self.status).into(),
            (&self.market).into(),
            self.created_at.into(),
            self.updated_at.into(),
        ])
    }
}

impl Push for BetSelection {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(BetSelection {
            id: f.need("id")?,
            bet_id: f.need("bet_id")?,
            event_id: f.need("event_id")?,
            ratio: f.get("ratio")?,
            status: f.get("status")?,
            market: f.need("market")?,
            created_at: f.need("created_at")?,
            updated_at: Timestamp::from_micros(0),
        })
    }
}
