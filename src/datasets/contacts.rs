//! `contacts`: one row per player (keyed by `player_id`), stamped `modified_at`.

use super::{stamped_table, Pull, Push};
use crate::db::schema::contacts;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contacts, primary_key(player_id), treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Contact {
    pub player_id: i64,
    pub email: Option<String>,
    pub email_confirmed_at: Option<Timestamp>,
    pub email_subscribe: Option<bool>,
    pub phone: Option<String>,
    pub phone_subscribe: Option<bool>,
    pub phone_confirmed_at: Option<Timestamp>,
    pub push_token: Option<String>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

stamped_table!(
    Contact,
    contacts,
    key: player_id,
    stamp: modified_at,
    replace: [email, email_confirmed_at, email_subscribe, phone, phone_subscribe, phone_confirmed_at, push_token, created_at, modified_at]
);

impl Pull for Contact {
    const COLUMNS: &'static [&'static str] = &[
        "player_id",
        "email",
        "email_confirmed_at",
        "email_subscribe",
        "phone",
        "phone_subscribe",
        "phone_confirmed_at",
        "push_token",
        "created_at",
        "modified_at",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.player_id.into(),
            (&self.email).into(),
            (&self.email_confirmed_at).into(),
            (&self.email_subscribe).into(),
            (&self.phone).into(),
            (&self.phone_subscribe).into(),
            (&self.phone_confirmed_at).into(),
            (&self.push_token).into(),
            self.created_at.into(),
            self.modified_at.into(),
        ])
    }
}

impl Push for Contact {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(Contact {
            player_id: f.need("player_id")?,
            email: f.get("email")?,
            email_confirmed_at: f.get("email_confirmed_at")?,
            email_subscribe: f.get("email_subscribe")?,
            phone: f.get("phone")?,
            phone_subscribe: f.get("phone_subscribe")?,
            phone_confirmed_at: f.get("phone_confirmed_at")?,
            push_token: f.get("push_token")?,
            created_at: f.need("created_at")?,
            modified_at: Timestamp::from_micros(0),
        })
    }
}
