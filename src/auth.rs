//! API keys: created and revoked with `hourglass keys`, checked on every
//! `/api` request.
//!
//! A key is shown once, when it is created; only its SHA-256 is stored. A
//! request presents it as `Authorization: Bearer KEY`, or as HTTP Basic with
//! the key as the password (any user name), so that a browser can download a
//! CSV. Hashes are compared in constant time, and every stored key is
//! compared, so timing says nothing about which key came close.

use crate::db::schema::api_keys;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::timestamp::Timestamp;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest};
use base64::Engine as _;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

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
}

/// Creates a key and returns it: the only time it is ever visible.
pub fn create_key(
    conn: &mut DbConnection,
    name: &str,
    scopes: Scopes,
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
        api_keys::key_hash.eq(hex(&Sha256::digest(key.as_bytes()))),
        api_keys::scopes.eq(scopes.to_string()),
        api_keys::created_at.eq(now),
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

pub fn list_keys(conn: &mut DbConnection) -> QueryResult<Vec<KeyInfo>> {
    api_keys::table
        .select((
            api_keys::name,
            api_keys::scopes,
            api_keys::created_at,
            api_keys::revoked_at,
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

/// The name and scopes of `key`, or `None` if it is unknown or revoked.
pub fn lookup(conn: &mut DbConnection, key: &str) -> QueryResult<Option<(String, Scopes)>> {
    let presented = hex(&Sha256::digest(key.as_bytes()));
    let active: Vec<(String, String, String)> = api_keys::table
        .filter(api_keys::revoked_at.is_null())
        .select((api_keys::name, api_keys::key_hash, api_keys::scopes))
        .load(conn)?;
    let mut found = None;
    for (name, hash, scopes) in active {
        if bool::from(hash.as_bytes().ct_eq(presented.as_bytes())) {
            found = scopes.parse().ok().map(|scopes| (name, scopes));
        }
    }
    Ok(found)
}

/// Checks the request's key for `scope` and returns the key's name: 401
/// without a known key, 403 with a key that lacks the scope. The database
/// lookup runs off the executor, on the primary (`pool` is the control pool,
/// which uploads cannot exhaust): a replica could still honour a key revoked
/// a moment ago.
pub async fn require(
    req: &HttpRequest,
    pool: &crate::db::DbPool,
    scope: Scope,
) -> Result<String, ApiError> {
    refuse_key_in_query(req)?;
    let key = presented_key(req).ok_or(ApiError::Unauthorized(
        "send an API key as 'Authorization: Bearer KEY' (or as the password of HTTP Basic); create one with `hourglass keys create`",
    ))?;
    let pool = pool.clone();
    let found = web::block(move || {
        let mut conn = pool.get()?;
        Ok::<_, ApiError>(lookup(&mut conn, &key)?)
    })
    .await??;
    match found {
        None => Err(ApiError::Unauthorized(
            "the API key is unknown or revoked; check `hourglass keys list`",
        )),
        Some((name, scopes)) if scopes.allows(scope) => Ok(name),
        Some((_, scopes)) => Err(ApiError::Forbidden(format!(
            "this key has scope '{scopes}'; {} needs a key with '{}' scope",
            match scope {
                Scope::Read => "pulling",
                Scope::Write => "writing",
            },
            match scope {
                Scope::Read => "read",
                Scope::Write => "write",
            }
        ))),
    }
}

/// Query parameters clients put keys in.
const KEY_PARAMETERS: &[&str] = &["key", "api_key", "apikey", "access_token", "token"];

/// Refuses a key sent in the URL: proxies, browser histories and access logs
/// keep URLs, so a key there is as good as published. The answer names the
/// parameter, never its value.
fn refuse_key_in_query(req: &HttpRequest) -> Result<(), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    for (name, _) in pairs {
        let lower = name.to_ascii_lowercase();
        if let Some(parameter) = KEY_PARAMETERS.iter().find(|p| **p == lower) {
            return Err(ApiError::InvalidParameter {
                parameter,
                reason: "looks like an API key in the URL, where proxies and logs keep it: send the key as 'Authorization: Bearer KEY' instead (and revoke this one if it was real)".into(),
            });
        }
    }
    Ok(())
}

/// The key from `Authorization: Bearer KEY` or `Basic base64(user:KEY)`.
fn presented_key(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = header.split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(credentials.to_string())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        decoded
            .split_once(':')
            .map(|(_, password)| password.to_string())
    } else {
        None
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
