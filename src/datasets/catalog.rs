//! What every dataset looks like now: its described columns plus the custom
//! fields declared at run time, with the SQL that follows from them.
//!
//! A [`Catalog`] is immutable; a server holds the current one in a
//! [`LiveCatalog`] and swaps in a new one when the declared fields change
//! (checked every second, so a field declared with `hourglass fields add`
//! reaches every instance on the database within a few seconds, with no
//! restart). A request takes the current catalog once and uses it to the end.

use super::column::Column;
use super::custom::{self, CustomField};
use super::sql;
use super::{game_sessions, Dataset, Role};
use crate::db::statement::{quote, Statement};
use crate::db::DbConnection;
use crate::timestamp::TimeWindow;
use std::sync::{Arc, RwLock};

/// One dataset as it is now.
#[derive(Debug)]
pub struct Shape {
    pub dataset: Dataset,
    /// In output order: the described columns, then custom fields in the
    /// order they were declared.
    pub columns: Vec<Column>,
    /// Index of the key column.
    pub key: usize,
    /// Index of the stamp column (`None` for a computed dataset).
    pub stamp: Option<usize>,
    /// A stored dataset's window query, in three pieces around its binds.
    window_sql: Option<[String; 3]>,
}

impl Shape {
    fn new(dataset: Dataset, fields: &[CustomField]) -> Self {
        let def = dataset.def();
        let mut columns = def.columns.to_vec();
        columns.extend(
            fields
                .iter()
                .filter(|f| f.dataset == dataset)
                .map(CustomField::column),
        );
        let index = |name: &str| columns.iter().position(|c| c.name == name);
        let key = index(def.key).expect("a dataset's key is one of its columns");
        let stamp = def.stamp.map(|s| index(s).expect("the stamp is a column"));
        let mut shape = Shape {
            dataset,
            columns,
            key,
            stamp,
            window_sql: None,
        };
        if let (Role::Stored | Role::Feed, Some(stamp)) = (def.role, stamp) {
            shape.window_sql = Some(sql::window_sql(&shape, shape.columns[stamp].sql_name()));
        }
        shape
    }

    /// The query that reads `window`, ordered by (last-modified, key).
    pub fn window_statement(&self, window: TimeWindow) -> Statement<'_> {
        match (&self.window_sql, self.dataset.def().role) {
            (Some(pieces), _) => sql::window_statement(pieces, window),
            (None, Role::Computed { .. }) => game_sessions::window_statement(window),
            (None, _) => unreachable!("{} is not pulled by window", self.dataset.name()),
        }
    }

    /// How many rows [`Shape::window_statement`] would read, counted on
    /// the window's index (sessions: on their actions' indexes).
    pub fn count(&self, conn: &mut DbConnection, window: TimeWindow) -> diesel::QueryResult<i64> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let statement = match (self.stamp, self.dataset.def().role) {
            (Some(stamp), Role::Stored | Role::Feed) => {
                let stamp = quote(self.columns[stamp].sql_name());
                Statement::new(format!(
                    "SELECT COUNT(*) AS n FROM {} WHERE {stamp} >= ",
                    quote(self.dataset.name())
                ))
                .bind_int(window.from().as_micros())
                .sql(format!(" AND {stamp} < "))
                .bind_int(window.to().as_micros())
            }
            (None, Role::Computed { .. }) => game_sessions::count_statement(window),
            _ => unreachable!("{} is not pulled by window", self.dataset.name()),
        };
        use diesel::RunQueryDsl;
        crate::db::with_backend!(conn, c => statement.get_result::<Count>(c)).map(|c| c.n)
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The wire name of the stamp column, if any.
    pub fn stamp_name(&self) -> Option<&str> {
        self.stamp.map(|i| self.columns[i].name.as_ref())
    }
}

/// Every dataset as it is now.
#[derive(Debug)]
pub struct Catalog {
    shapes: Vec<Shape>,
    fields: Vec<CustomField>,
}

impl Catalog {
    /// The datasets with these custom fields (in declaration order).
    pub fn new(fields: Vec<CustomField>) -> Self {
        Catalog {
            shapes: Dataset::all().map(|d| Shape::new(d, &fields)).collect(),
            fields,
        }
    }

    /// The catalog of the database `conn` is on.
    pub fn load(conn: &mut DbConnection) -> diesel::QueryResult<Self> {
        Ok(Catalog::new(custom::active(conn)?))
    }

    pub fn shape(&self, dataset: Dataset) -> &Shape {
        self.shapes
            .iter()
            .find(|s| s.dataset == dataset)
            .expect("every dataset has a shape")
    }

    pub fn shapes(&self) -> impl Iterator<Item = &Shape> {
        self.shapes.iter()
    }
}

/// The current catalog of a running server.
#[derive(Debug, Clone)]
pub struct LiveCatalog(Arc<RwLock<Arc<Catalog>>>);

impl LiveCatalog {
    pub fn new(catalog: Catalog) -> Self {
        LiveCatalog(Arc::new(RwLock::new(Arc::new(catalog))))
    }

    pub fn current(&self) -> Arc<Catalog> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the declared fields; swaps in a new catalog if they changed.
    /// Returns whether they did.
    pub fn refresh(&self, conn: &mut DbConnection) -> diesel::QueryResult<bool> {
        let fields = custom::active(conn)?;
        if fields == self.current().fields {
            return Ok(false);
        }
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Catalog::new(fields));
        Ok(true)
    }
}

impl Catalog {
    /// Every dataset with its columns in output order, as `GET /api/schema`
    /// serves it: what a CRM maps its fields from.
    pub fn describe(&self) -> serde_json::Value {
        use serde_json::json;
        let datasets: Vec<_> = self
            .shapes
            .iter()
            .map(|shape| {
                let def = shape.dataset.def();
                let columns: Vec<_> = shape
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(index, column)| {
                        let mut described = json!({
                            "name": column.name,
                            "type": column.kind.name(),
                            "required": column.required,
                            "stamp": Some(index) == shape.stamp,
                            "custom": column.custom,
                            "personal": column.personal,
                            "description": column.doc,
                        });
                        if !column.values.is_empty() {
                            described["values"] = json!(column.values);
                        }
                        if let Some(places) = column.kind.places() {
                            described["places"] = json!(places);
                        }
                        described
                    })
                    .collect();
                json!({
                    "name": def.name,
                    "description": def.doc,
                    "key": def.key,
                    "stamp": def.stamp,
                    "pull": shape.dataset.is_pullable(),
                    "push": shape.dataset.is_pushable(),
                    "custom_fields": def.custom_fields,
                    "columns": columns,
                })
            })
            .collect();
        json!({ "datasets": datasets })
    }
}
