//! `wallets`: one balance per wallet, stamped `modified_at` on every change.

use super::{stamped_table, Pull, Push, BALANCE_KINDS};
use crate::db::schema::wallets;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::money::Money;
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = wallets, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Wallet {
    pub id: i64,
    pub player_id: i64,
    pub type_: String,
    pub balance: Money,
    pub currency: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

stamped_table!(
    Wallet,
    wallets,
    key: id,
    stamp: modified_at,
    replace: [player_id, type_, balance, currency, created_at, modified_at]
);

impl Pull for Wallet {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "player_id",
        "type",
        "balance",
        "currency",
        "created_at",
        "modified_at",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            self.player_id.into(),
            (&self.type_).into(),
            self.balance.into(),
            (&self.currency).into(),
            self.created_at.into(),
            self.modified_at.into(),
        ])
    }
}

impl Push for Wallet {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(Wallet {
            id: f.need("id")?,
            player_id: f.need("player_id")?,
            type_: f.need_choice("type", BALANCE_KINDS)?,
            balance: f.need("balance")?,
            currency: f.need("currency")?,
            created_at: f.need("created_at")?,
            modified_at: Timestamp::from_micros(0),
        })
    }
}
