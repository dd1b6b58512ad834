//! The key store: API keys created, listed and revoked (`hourglass keys`),
//! and looked up by the hash of a presented key.
//!
//! A key is shown once, when it is created; only its SHA-256 is stored.
//! Keys are looked up by their hash: timing can at most tell how much of a
//! hash matched, which says nothing about any key.

use crate::db::schema::api_keys;
use crate::db::DbConnection;
use crate::timestamp::Timestamp;
use diesel::prelude::*;
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
}

/// The scopes of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    pub read: bool,
    pub write: bool,
}

impl Scopes {
    pub fn allows(self, scope: Scope) -> bool {
        match scope {
            Scope::Read => self.read,
            Scope::Write => self.write,
        }
    }
}

impl std::str::FromStr for Scopes {
    type Err = String;

    /// `read`, `write` or `read,write`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut scopes = Scopes::default();
        for part in text.split(',').map(str::trim) {
            match part {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                other => {
                    return Err(format!(
                        "unknown scope '{other}': use read, write or read,write"
                    ))
                }
            }
        }
        Ok(scopes)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.read, self.write) {
            (true, true) => "read,write",
            (true, false) => "read",
            (false, true) => "write",
            (false, false) => "none",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key named '{0}' exists already (revoked keys keep their name); pick another name")]
    Exists(String),
    #[error("no key named '{0}'; see `hourglass keys list`")]
    NotFound(String),
    #[error("the key name '{0}' is not valid: use 1 to 64 letters, digits, '-', '_' or '.'")]
    BadName(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// A stored key, as `keys list` shows it (never the key itself).
#[derive(Debug, Clone, Queryable)]
pub struct KeyInfo {
    pub name: String,
    pub scopes: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// Comma-separated CIDR blocks, or `None` for anywhere.
    pub allowed_from: Option<String>,
}

/// The addresses a key may be used from: CIDR blocks or single addresses,
/// comma-separated, as `keys create --allow` takes them.
pub fn parse_networks(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("'{part}' is not an address or CIDR block (like 203.0.113.0/24)")
                })
        })
        .collect()
}

/// Creates a key and returns it: the only time it is ever visible.
pub fn create_key(
    conn: &mut DbConnection,
    name: &str,
    scopes: Scopes,
    now: Timestamp,
) -> Result<String, KeyError> {
    create_key_allowed_from(conn, name, scopes, &[], now)
}

/// Creates a key usable only from `allowed` (from anywhere if it is empty).
pub fn create_key_allowed_from(
    conn: &mut DbConnection,
    name: &str,
    scopes: Scopes,
    allowed: &[IpNet],
    now: Timestamp,
) -> Result<String, KeyError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !valid {
        return Err(KeyError::BadName(name.to_string()));
    }
    let mut secret = [0u8; 24];
    getrandom::getrandom(&mut secret).expect("the operating system's random source works");
    let key = format!("hg_{}", hex(&secret));
    let row = (
        api_keys::name.eq(name),
        api_keys::key_hash.eq(hash_of(&key)),
        api_keys::scopes.eq(scopes.to_string()),
        api_keys::created_at.eq(now),
        api_keys::allowed_from.eq((!allowed.is_empty()).then(|| {
            allowed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })),
    );
    let inserted = crate::db::with_backend!(conn, c => diesel::insert_into(api_keys::table)
        .values(row.clone())
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 0 {
        return Err(KeyError::Exists(name.to_string()));
    }
    Ok(key)
}

/// Creates the key `name`, first deleting any key of that name: the demo's
/// one key, given a new secret at every start.
pub fn replace_key(
    conn: &mut DbConnection,
    name: &str,
    scopes: Scopes,
    now: Timestamp,
) -> Result<String, KeyError> {
    conn.transaction(|conn| {
        diesel::delete(api_keys::table.find(name)).execute(conn)?;
        create_key(conn, name, scopes, now)
    })
}

pub fn list_keys(conn: &mut DbConnection) -> QueryResult<Vec<KeyInfo>> {
    api_keys::table
        .select((
            api_keys::name,
            api_keys::scopes,
            api_keys::created_at,
            api_keys::revoked_at,
            api_keys::last_used_at,
            api_keys::allowed_from,
        ))
        .order(api_keys::created_at)
        .load(conn)
}

/// Revokes a key: it stops working at once, on every instance. Revoking a
/// revoked key again is harmless.
pub fn revoke_key(conn: &mut DbConnection, name: &str, now: Timestamp) -> Result<(), KeyError> {
    diesel::update(
        api_keys::table
            .find(name)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)?;
    let exists: bool =
        diesel::select(diesel::dsl::exists(api_keys::table.find(name))).get_result(conn)?;
    if !exists {
        return Err(KeyError::NotFound(name.to_string()));
    }
    Ok(())
}

/// What the database says of a presented key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub name: String,
    pub scopes: Scopes,
    /// Empty: anywhere.
    pub allowed: Vec<IpNet>,
}

/// The record of the key whose hash ([`hash_of`]) is `hash`, or `None` if
/// it is unknown or revoked: one indexed look-up.
pub(super) fn lookup_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<KeyRecord>> {
    let found: Option<ActiveKey> = api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ActiveKey::as_select())
        .first(conn)
        .optional()?;
    Ok(found.and_then(ActiveKey::record))
}

/// Every active key's record, by the hash of the key.
pub fn active_keys(conn: &mut DbConnection) -> QueryResult<HashMap<String, KeyRecord>> {
    let active: Vec<ActiveKey> = api_keys::table
        .filter(api_keys::revoked_at.is_null())
        .select(ActiveKey::as_select())
        .load(conn)?;
    Ok(active
        .into_iter()
        .filter_map(|key| Some((key.key_hash.clone(), key.record()?)))
        .collect())
}

/// The hex SHA-256 of a key, as stored.
pub(super) fn hash_of(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct ActiveKey {
    name: String,
    key_hash: String,
    scopes: String,
    allowed_from: Option<String>,
}

impl ActiveKey {
    fn record(self) -> Option<KeyRecord> {
        Some(KeyRecord {
            name: self.name,
            scopes: self.scopes.parse().ok()?,
            // Written by `keys create`, which checked it. Should it ever not
            // parse, the key is usable from nowhere rather than from
            // anywhere: an allow list that allows nothing.
            allowed: self.allowed_from.map_or_else(Vec::new, |a| {
                parse_networks(&a).unwrap_or_else(|_| vec![NOWHERE])
            }),
        })
    }
}

/// A block no client address is in (for an allow list that cannot be read).
const NOWHERE: IpNet = IpNet::V4(
    match ipnet::Ipv4Net::new(std::net::Ipv4Addr::BROADCAST, 32) {
        Ok(net) => net,
        Err(_) => panic!("a valid block"),
    },
);

/// Records that `name` was used at `now`.
pub fn record_use(conn: &mut DbConnection, name: &str, now: Timestamp) -> QueryResult<()> {
    diesel::update(api_keys::table.find(name))
        .set(api_keys::last_used_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// Lowercase hex, in one allocation: a key's hash is taken on every request.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    text
}
