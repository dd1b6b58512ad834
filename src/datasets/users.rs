//! `users`: one row per player, stamped `modified_at` on every change.

use super::{stamped_table, Pull, Push};
use crate::db::schema::users;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct User {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gender: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub ip: Option<String>,
    /// `YYYY-MM-DD`, validated on write.
    pub birthday: Option<String>,
    pub registered_at: Timestamp,
    pub ref_code: Option<String>,
    pub traffic_source: Option<String>,
    pub user_agent: Option<String>,
    pub modified_at: Timestamp,
    pub is_blocked: Option<bool>,
    pub self_excluded: Option<bool>,
    pub locale: Option<String>,
}

stamped_table!(
    User,
    users,
    key: id,
    stamp: modified_at,
    replace: [first_name, last_name, gender, country, city, ip, birthday, registered_at, ref_code, traffic_source, user_agent, modified_at, is_blocked, self_excluded, locale]
);

impl Pull for User {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "first_name",
        "last_name",
        "gender",
        "country",
        "city",
        "ip",
        "birthday",
        "registered_at",
        "ref_code",
        "traffic_source",
        "user_agent",
        "modified_at",
        "is_blocked",
        "self_excluded",
        "locale",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            (&self.first_name).into(),
            (&self.last_name).into(),
            (&self.gender).into(),
            (&self.country).into(),
            (&self.city).into(),
            (&self.ip).into(),
            (&self.birthday).into(),
            self.registered_at.into(),
            (&self.ref_code).into(),
            (&self.traffic_source).into(),
            (&self.user_agent).into(),
            self.modified_at.into(),
            (&self.is_blocked).into(),
            (&self.self_excluded).into(),
            (&self.locale).into(),
        ])
    }
}

impl Push for User {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(User {
            id: f.need("id")?,
            first_name: f.get("first_name")?,
            last_name: f.get("last_name")?,
            gender: f.get("gender")?,
            country: f.get("country")?,
            city: f.get("city")?,
            ip: f.get("ip")?,
            birthday: f.date("birthday")?,
            registered_at: f.need("registered_at")?,
            ref_code: f.get("ref_code")?,
            traffic_source: f.get("traffic_source")?,
            user_agent: f.get("user_agent")?,
            modified_at: Timestamp::from_micros(0),
            is_blocked: f.get("is_blocked")?,
            self_excluded: f.get("self_excluded")?,
            locale: f.get("locale")?,
        })
    }
}
