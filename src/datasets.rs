//! The datasets of InTarget's spec, described as data.
//!
//! [`defs::DATASETS`] is the one list of datasets and their columns; nothing
//! else spells a column out. From it:
//! - [`catalog`] builds what each dataset looks like *now*: the described
//!   columns plus the custom fields declared at run time ([`custom`]);
//! - [`column`] reads and validates a written field by its kind, and turns a
//!   stored value into an output cell;
//! - [`sql`] generates the window query and the upserts for both backends
//!   (out of `db::statement`'s pieces);
//! - [`activity`] merges a player's rows across datasets in time order;
//! - [`game_sessions`] keeps the one query that is not generic: sessions
//!   rolled up from their actions.

pub mod activity;
pub mod catalog;
pub mod column;
pub mod custom;
pub mod defs;
pub mod game_sessions;
pub mod sql;

use column::Column;

/// How a dataset is written and pulled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Written with `POST`, stored in its own table, pulled by window on its
    /// stamp column.
    Stored,
    /// Written only; its rows come out through another dataset.
    WriteOnly { pulled_as: &'static str },
    /// Pulled only, computed from another dataset by its own query.
    Computed { written_as: &'static str },
    /// Pulled only, written by hourglass itself: the `deletions` feed.
    Feed,
}

/// One dataset: its name (in URLs and as its table's name), key, stamp
/// column and columns in output order.
#[derive(Debug)]
pub struct DatasetDef {
    pub name: &'static str,
    /// One line for `/api/schema` and openapi.yaml.
    pub doc: &'static str,
    /// The wire name of the column that identifies a row.
    pub key: &'static str,
    /// The wire name of the last-modified column hourglass stamps on every
    /// write; `None` for a computed dataset.
    pub stamp: Option<&'static str>,
    pub role: Role,
    /// The column that names the row's player, for erasure and a player's
    /// activity (`None`: the rows are no player's, or are another dataset's).
    pub player: Option<&'static str>,
    /// Takes custom fields (`hourglass fields add`).
    pub custom_fields: bool,
    pub columns: &'static [Column],
}

/// A dataset: a handle on its entry in [`defs::DATASETS`].
#[derive(Debug, Clone, Copy)]
pub struct Dataset(&'static DatasetDef);

impl PartialEq for Dataset {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Dataset {}

impl Dataset {
    /// Every dataset, in the order of [`defs::DATASETS`].
    pub fn all() -> impl Iterator<Item = Dataset> {
        defs::DATASETS.iter().map(Dataset)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Dataset::all().find(|d| d.name() == name)
    }

    /// A dataset hourglass itself names; panics on a typo (a bug).
    pub fn named(name: &str) -> Self {
        Dataset::from_name(name).unwrap_or_else(|| panic!("no dataset named '{name}'"))
    }

    pub fn def(self) -> &'static DatasetDef {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Can be pulled with `GET` (game actions come out as `game_sessions`).
    pub fn is_pullable(self) -> bool {
        !matches!(self.0.role, Role::WriteOnly { .. })
    }

    /// Can be written with `POST` (game sessions are computed from actions;
    /// deletions are recorded by hourglass).
    pub fn is_pushable(self) -> bool {
        !matches!(self.0.role, Role::Computed { .. } | Role::Feed)
    }

    /// Rows can be deleted by key: the datasets that are written.
    pub fn is_deletable(self) -> bool {
        self.is_pushable()
    }

    /// Names of the datasets for which `pred` holds, for error hints.
    pub fn names_where(pred: impl Fn(Dataset) -> bool) -> String {
        Dataset::all()
            .filter(|d| pred(*d))
            .map(Dataset::name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
