//! `events`: sportsbook events (matches) in a tournament. The spec's columns
//! plus a trailing `modified_at`, which hourglass stamps on every write.

use super::{stamped_table, Pull, Push};
use crate::db::schema::events;
use crate::encode::Cell;
use crate::ingest::fields::{FieldError, Fields};
use crate::timestamp::Timestamp;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = events, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Event {
    pub id: i64,
    pub tournament_id: i64,
    pub title: String,
    pub status: String,
    pub start_time: Timestamp,
    pub end_time: Option<Timestamp>,
    pub type_: String,
    pub modified_at: Timestamp,
}

stamped_table!(
    Event,
    events,
    key: id,
    stamp: modified_at,
    replace: [tournament_id, title, status, start_time, end_time, type_, modified_at]
);

impl Pull for Event {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "tournament_id",
        "title",
        "status",
        "startTime",
        "endTime",
        "type",
        "modified_at",
    ];

    fn with_cells<R>(&self, f: impl FnOnce(&[Cell<'_>]) -> R) -> R {
        f(&[
            self.id.into(),
            self.tournament_id.into(),
            (&self.title).into(),
            (&self.status).into(),
            self.start_time.into(),
            (&self.end_time).into(),
            (&self.type_).into(),
            self.modified_at.into(),
        ])
    }
}

impl Push for Event {
    const COLUMNS: &'static [&'static str] = <Self as Pull>::COLUMNS;

    fn from_fields(f: &Fields<'_>) -> Result<Self, FieldError> {
        Ok(Event {
            id: f.need("id")?,
            tournament_id: f.need("tournament_id")?,
            title: f.need("title")?,
            status: f.need("status")?,
            start_time: f.need("startTime")?,
            end_time: f.get("endTime")?,
            type_: f.need("type")?,
            modified_at: Timestamp::from_micros(0),
        })
    }
}
