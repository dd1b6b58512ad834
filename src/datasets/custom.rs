//! Custom player fields: columns an operator declares at run time
//! (`hourglass fields add users NAME TYPE`), after InTarget's "additional
//! information about your player": integer, a decimal with two places,
//! string, and date (`YYYY-MM-DD HH:MM:SS`).
//!
//! A field is a real column of the dataset's table (added with `ALTER
//! TABLE`, nullable, so adding it rewrites nothing) and a row in
//! `custom_fields`, which gives its type and declaration order. Retiring a
//! field takes it out of pulls and writes but keeps the column and its data:
//! declaring it again with the same type brings them back.

use super::column::{Column, Kind};
use super::Dataset;
use crate::db::schema::custom_fields as cf;
use crate::db::statement::quote;
use crate::db::DbConnection;
use crate::timestamp::Timestamp;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::borrow::Cow;

/// The types a custom field may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A 64-bit whole number.
    Integer,
    /// An exact decimal with at most two places, written with two.
    Decimal,
    String,
    /// A UTC timestamp, written `YYYY-MM-DD HH:MM:SS`.
    Date,
}

impl FieldType {
    pub const ALL: [FieldType; 4] = [
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::String,
        FieldType::Date,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::String => "string",
            FieldType::Date => "date",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            FieldType::Integer => Kind::Int,
            FieldType::Decimal => Kind::Cents,
            FieldType::String => Kind::Text,
            FieldType::Date => Kind::Time,
        }
    }
}

impl std::str::FromStr for FieldType {
    type Err = FieldsError;

    fn from_str(text: &str) -> Result<Self, FieldsError> {
        FieldType::ALL
            .into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| FieldsError::UnknownType(text.to_string()))
    }
}

/// A declared, active custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    pub dataset: Dataset,
    pub name: String,
    pub field_type: FieldType,
}

impl CustomField {
    pub fn column(&self) -> Column {
        Column {
            name: Cow::Owned(self.name.clone()),
            sql: None,
            kind: self.field_type.kind(),
            required: false,
            values: &[],
            doc: Cow::Owned(format!("custom field ({})", self.field_type.name())),
            custom: true,
            // A free-form string may hold anything about the player.
            personal: self.field_type == FieldType::String,
        }
    }
}

/// A field as `hourglass fields list` shows it, retired ones included.
#[derive(Debug, Clone)]
pub struct FieldRecord {
    pub dataset: String,
    pub name: String,
    pub field_type: String,
    pub added_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

#[derive(Debug, thiserror::Error)]
pub enum FieldsError {
    #[error("unknown field type '{0}': use integer, decimal, string or date")]
    UnknownType(String),
    #[error("'{0}' cannot be a field name: use a lowercase letter, then up to 62 lowercase letters, digits or underscores")]
    BadName(String),
    #[error("'{name}' is a column of {dataset} in the spec: choose another name")]
    SpecColumn { dataset: &'static str, name: String },
    #[error("{0} takes no custom fields: only users does")]
    NotCustomizable(&'static str),
    #[error("{dataset} already has a field '{name}'")]
    Exists { dataset: &'static str, name: String },
    #[error("{dataset} has a retired field '{name}' of type {was}: declare it again as {was} to bring its data back, or choose another name")]
    RetiredAs {
        dataset: &'static str,
        name: String,
        was: String,
    },
    #[error("{dataset} has no field '{name}'; `hourglass fields list` shows them")]
    NotFound { dataset: &'static str, name: String },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// `[a-z][a-z0-9_]{0,62}`: safe to put in SQL and in a PostgreSQL identifier.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The active fields, in declaration order. A field whose dataset or type
/// this version does not know is left out.
pub fn active(conn: &mut DbConnection) -> QueryResult<Vec<CustomField>> {
    let rows: Vec<(String, String, String)> = cf::table
        .filter(cf::retired_at.is_null())
        .order((cf::position, cf::name))
        .select((cf::dataset, cf::name, cf::field_type))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(dataset, name, field_type)| {
            Some(CustomField {
                dataset: Dataset::from_name(&dataset)?,
                name,
                field_type: field_type.parse().ok()?,
            })
        })
        .collect())
}

/// Every field ever declared, retired ones included, in declaration order.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<FieldRecord>> {
    let rows: Vec<(String, String, String, Timestamp, Option<Timestamp>)> = cf::table
        .order((cf::dataset, cf::position, cf::name))
        .select((
            cf::dataset,
            cf::name,
            cf::field_type,
            cf::added_at,
            cf::retired_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(dataset, name, field_type, added_at, retired_at)| FieldRecord {
                dataset,
                name,
                field_type,
                added_at,
                retired_at,
            },
        )
        .collect())
}

/// Declares a field, adding its column unless a retired field of that name
/// and type left it behind.
pub fn add(
    conn: &mut DbConnection,
    dataset: Dataset,
    name: &str,
    field_type: FieldType,
    now: Timestamp,
) -> Result<(), FieldsError> {
    let def = dataset.def();
    if !def.custom_fields {
        return Err(FieldsError::NotCustomizable(def.name));
    }
    if !valid_name(name) {
        return Err(FieldsError::BadName(name.to_string()));
    }
    if def
        .columns
        .iter()
        .any(|c| c.name == name || c.sql_name() == name)
    {
        return Err(FieldsError::SpecColumn {
            dataset: def.name,
            name: name.to_string(),
        });
    }
    conn.transaction(|conn| {
        // Writers' lock first: on SQLite a transaction that read before it
        // wrote fails at once ("database is locked") if another write
        // committed in between, however long the busy timeout.
        diesel::update(cf::table.filter(cf::position.lt(0)))
            .set(cf::position.eq(cf::position))
            .execute(conn)?;
        let this = cf::table.filter(cf::dataset.eq(def.name).and(cf::name.eq(name)));
        let existing: Option<(String, Option<Timestamp>)> = this
            .select((cf::field_type, cf::retired_at))
            .first(conn)
            .optional()?;
        let position: i64 = cf::table
            .select(diesel::dsl::max(cf::position))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0)
            + 1;
        match existing {
            Some((_, None)) => Err(FieldsError::Exists {
                dataset: def.name,
                name: name.to_string(),
            }),
            Some((was, Some(_))) if was != field_type.name() => Err(FieldsError::RetiredAs {
                dataset: def.name,
                name: name.to_string(),
                was,
            }),
            Some((_, Some(_))) => {
                diesel::update(this)
                    .set((
                        cf::retired_at.eq(None::<Timestamp>),
                        cf::position.eq(position),
                        cf::added_at.eq(now),
                    ))
                    .execute(conn)?;
                Ok(())
            }
            None => {
                diesel::insert_into(cf::table)
                    .values((
                        cf::dataset.eq(def.name),
                        cf::name.eq(name),
                        cf::field_type.eq(field_type.name()),
                        cf::position.eq(position),
                        cf::added_at.eq(now),
                    ))
                    .execute(conn)?;
                conn.batch_execute(&format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    quote(def.name),
                    quote(name),
                    field_type.kind().sql_type()
                ))?;
                Ok(())
            }
        }
    })
}

/// Retires a field: it leaves pulls and writes; its column and data stay.
pub fn retire(
    conn: &mut DbConnection,
    dataset: Dataset,
    name: &str,
    now: Timestamp,
) -> Result<(), FieldsError> {
    let retired = diesel::update(
        cf::table.filter(
            cf::dataset
                .eq(dataset.name())
                .and(cf::name.eq(name))
                .and(cf::retired_at.is_null()),
        ),
    )
    .set(cf::retired_at.eq(now))
    .execute(conn)?;
    if retired == 0 {
        return Err(FieldsError::NotFound {
            dataset: dataset.name(),
            name: name.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_identifiers_of_at_most_63_characters() {
        for good in ["vip", "a", "loyalty_tier_2", &"x".repeat(63)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "Vip",
            "2fa",
            "_x",
            "a-b",
            "a b",
            "é",
            "x\"",
            &"x".repeat(64),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
