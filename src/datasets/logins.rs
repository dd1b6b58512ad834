//! `logins`: login attempts. The spec gives them no last-modified column;
//! hourglass adds a trailing `modified_at` so every row carries its stamp.

use super::{stamped_table, Pull, Push};
use crate::db::schema::logins;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = logins, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Login {
    pub id: i64,
    pub player_id: i64,
    pub ip: Option<String>,
    pub created_at: Timestamp,
    pub ref_code: Option<String>,
    pub traffic_source: Option<String>,
    pub user_agent: Option<String>,
    pub host: Option<String>,
    /// Written `1` / `0`, as the spec asks.
    pub is_success: Option<bool>,
    pub fail_reason: Option<String>,
    pub modified_at: Timestamp,
}

stamped_table!(
    Login,
    logins,
    key: id,
    stamp: modified_at,
    replace: [player_id, ip, created_at, ref_code, traffic_source, user_agent, host, is_success, fail_reason, modified_at]
);

impl Pull for Login {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "player_id",
        "ip",
        "created_at",
        "ref_code",
        "traffic_source",
        "user_agent",
        "host",
        "is_success",
        "fail_reason",
        "modified_at",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            self.player_id.into(),
            (&self.ip).into(),
            self.created_at.into(),
            (&self.ref_code).into(),
            (&self.traffic_source).into(),
            (&self.user_agent).into(),
            (&self.host).into(),
            self.is_success.map_or(Cell::Null, Cell::Bit),
            (&self.fail_reason).into(),
            self.modified_at.into(),
        ])
    }
}

impl Push for Login {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(Login {
            id: f.need("id")?,
            player_id: f.need("player_id")?,
            ip: f.get("ip")?,
            created_at: f.need("created_at")?,
            ref_code: f.get("ref_code")?,
            traffic_source: f.get("traffic_source")?,
            user_agent: f.get("user_agent")?,
            host: f.get("host")?,
            is_success: f.get("is_success")?,
            fail_reason: f.get("fail_reason")?,
            modified_at: Timestamp::from_micros(0),
        })
    }
}
