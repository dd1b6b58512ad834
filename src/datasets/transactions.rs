//! `transactions`: deposits, withdrawals and other money movements, stamped
//! `updated_at` on every change (a status going New → Success re-emits it).

use super::{stamped_table, Pull, Push};
use crate::db::schema::transactions;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::money::Money;
use crate::timestamp::Timestamp;
use diesel::prelude::*;

pub const TYPES: &[&str] = &["Normal", "Prize", "Compensation", "Cash back", "Other"];
pub const STATUSES: &[&str] = &["New", "Process", "Success", "Fail"];
pub const DIRECTIONS: &[&str] = &["IN", "OUT"];

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = transactions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Transaction {
    pub id: i64,
    pub player_id: i64,
    pub amount: Money,
    pub currency: String,
    pub type_: Option<String>,
    pub status: Option<String>,
    pub payment_system: Option<String>,
    pub dir: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub invoice_id: Option<String>,
    pub wallet_id: Option<i64>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub requisite: Option<String>,
    pub comment: Option<String>,
}

stamped_table!(
    Transaction,
    transactions,
    key: id,
    stamp: updated_at,
    replace: [player_id, amount, currency, type_, status, payment_system, dir, created_at, updated_at, invoice_id, wallet_id, user_agent, ip, requisite, comment]
);

impl Pull for Transaction {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "player_id",
        "amount",
        "currency",
        "type",
        "status",
        "payment_system",
        "dir",
        "created_at",
        "updated_at",
        "invoice_id",
        "wallet_id",
        "user_agent",
        "ip",
        "requisite",
        "comment",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            self.player_id.into(),
            self.amount.into(),
            (&self.currency).into(),
            (&self.type_).into(),
            (&self.status).into(),
            (&self.payment_system).into(),
            (&self.dir).into(),
            self.created_at.into(),
            self.updated_at.into(),
            (&self.invoice_id).into(),
            (&self.wallet_id).into(),
            (&self.user_agent).into(),
            (&self.ip).into(),
            (&self.requisite).into(),
            (&self.comment).into(),
        ])
    }
}

impl Push for Transaction {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(Transaction {
            id: f.need("id")?,
            player_id: f.need("player_id")?,
            amount: f.need("amount")?,
            currency: f.need("currency")?,
            type_: f.choice("type", TYPES)?,
            status: f.choice("status", STATUSES)?,
            payment_system: f.get("payment_system")?,
            dir: f.need_choice("dir", DIRECTIONS)?,
            created_at: f.need("created_at")?,
            updated_at: Timestamp::from_micros(0),
            invoice_id: f.get("invoice_id")?,
            wallet_id: f.get("wallet_id")?,
            user_agent: f.get("user_agent")?,
            ip: f.get("ip")?,
            requisite: f.get("requisite")?,
            comment: f.get("comment")?,
        })
    }
}
