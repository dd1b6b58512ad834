//! `tournaments`: sportsbook tournaments. The spec's columns plus a trailing
//! `modified_at`, which hourglass stamps on every write.

use super::{stamped_table, Pull, Push};
use crate::db::schema::tournaments;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tournaments, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Tournament {
    pub id: i64,
    pub name: String,
    pub sport_id: Option<String>,
    pub sport_name: Option<String>,
    pub country_code: Option<String>,
    pub date_start: Timestamp,
    pub date_end: Option<Timestamp>,
    pub modified_at: Timestamp,
}

stamped_table!(
    Tournament,
    tournaments,
    key: id,
    stamp: modified_at,
    replace: [name, sport_id, sport_name, country_code, date_start, date_end, modified_at]
);

impl Pull for Tournament {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "sport_id",
        "sport_name",
        "country_code",
        "dateStart",
        "dateEnd",
        "modified_at",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            (&self.name).into(),
            (&self.sport_id).into(),
            (&self.sport_name).into(),
            (&self.country_code).into(),
            self.date_start.into(),
            (&self.date_end).into(),
            self.modified_at.into(),
        ])
    }
}

impl Push for Tournament {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(Tournament {
            id: f.need("id")?,
            name: f.need("name")?,
            sport_id: f.get("sport_id")?,
            sport_name: f.get("sport_name")?,
            country_code: f.get("country_code")?,
            date_start: f.need("dateStart")?,
            date_end: f.get("dateEnd")?,
            modified_at: Timestamp::from_micros(0),
        })
    }
}
