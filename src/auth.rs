//! API keys: created and revoked with `hourglass keys`, checked on every
//! `/api` request.
//!
//! A key is shown once, when it is created; only its SHA-256 is stored. A
//! request presents it as `Authorization: Bearer KEY`, or as HTTP Basic with
//! the key as the password (any user name), so that a browser can download a
//! CSV. Keys are looked up by their hash: timing can at most tell how much of
//! a hash matched, which says nothing about any key.
//!
//! [`KeyGuard`] checks a known key without a database round trip: it keeps
//! the active keys in memory and reloads them every [`KEY_REFRESH`], so a
//! key revoked on any instance is refused by every other within a second.
//! A key it does not know (created since the last reload, or wrong) is
//! looked up in the database by its hash, and so is every key when reloads
//! have stalled: a set older than [`KEY_MAX_AGE`] is not trusted. The guard also refuses keys sent in the URL,
//! throttles addresses that keep presenting wrong keys (429 after a burst),
//! holds a key to the addresses it was created for (`keys create --allow`),
//! and records when each key was last used (at most once a minute, so that
//! checking a key is not a write).

use crate::db::schema::api_keys;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::timestamp::Timestamp;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest};
use base64::Engine as _;
use diesel::prelude::*;
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// The record of `key`, or `None` if it is unknown or revoked: one indexed
/// look-up by the key's hash.
pub fn lookup(conn: &mut DbConnection, key: &str) -> QueryResult<Option<KeyRecord>> {
    lookup_hash(conn, &hash_of(key))
}

fn lookup_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<KeyRecord>> {
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
fn hash_of(key: &str) -> String {
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

/// How often a server reloads the active keys.
pub const KEY_REFRESH: Duration = Duration::from_millis(250);

/// The oldest set of keys a server trusts, counted from when its reload
/// began: a key revoked anywhere is refused everywhere within this (and so
/// within a second), even when reloads stall.
pub const KEY_MAX_AGE: Duration = Duration::from_millis(750);

/// The active keys by hash, as the database had them at `loaded` (`None`:
/// not loaded yet).
#[derive(Debug)]
struct KeySet {
    by_hash: HashMap<String, KeyRecord>,
    loaded: Option<Instant>,
}

impl KeySet {
    /// The record of the key with this hash, if the set knows it and is
    /// recent enough to be trusted.
    fn get(&self, hash: &str) -> Option<KeyRecord> {
        let fresh = self.loaded.is_some_and(|at| at.elapsed() <= KEY_MAX_AGE);
        fresh.then(|| self.by_hash.get(hash).cloned()).flatten()
    }
}

/// Checks keys on `/api` requests (see the module doc).
#[derive(Debug)]
pub struct KeyGuard {
    /// Key reloads and look-ups, and last-use records: the control pool, on
    /// the primary, which uploads cannot exhaust (a replica could still
    /// honour a key revoked a moment ago).
    pool: crate::db::DbPool,
    /// The active keys, reloaded every [`KEY_REFRESH`].
    keys: std::sync::RwLock<Arc<KeySet>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    trusted_proxies: Vec<IpNet>,
    /// Wrong keys an address may present in a burst before it is throttled.
    burst: f64,
    failures: Mutex<HashMap<IpAddr, Bucket>>,
    /// When each key's use was last written, in this process.
    recorded: Mutex<HashMap<String, Instant>>,
}

/// How fast an address earns back the right to try, per second.
const FAILURE_REFILL_PER_SECOND: f64 = 1.0;
/// Addresses remembered at most; those that earned everything back go first.
const FAILURE_ADDRESSES: usize = 10_000;
/// How often a key's last use is written, at most.
const RECORD_USE_EVERY: Duration = Duration::from_secs(60);

/// A token bucket of wrong-key attempts.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, now: Instant, burst: f64) -> f64 {
        let earned = now.duration_since(self.at).as_secs_f64() * FAILURE_REFILL_PER_SECOND;
        (self.tokens + earned).min(burst)
    }
}

impl KeyGuard {
    /// `burst`: wrong keys an address may present before it is throttled.
    pub fn new(pool: crate::db::DbPool, trusted_proxies: Vec<IpNet>, burst: u32) -> Self {
        KeyGuard {
            pool,
            trusted_proxies,
            burst: f64::from(burst.max(1)),
            keys: std::sync::RwLock::new(Arc::new(KeySet {
                by_hash: HashMap::new(),
                loaded: None,
            })),
            failures: Mutex::new(HashMap::new()),
            recorded: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the request's key for `scope` and returns the key's name: 401
    /// without a known key, 403 with a key that lacks the scope or is used
    /// from an address it does not allow, 429 for an address that presented
    /// too many wrong keys. The database lookup runs off the executor.
    pub async fn require(&self, req: &HttpRequest, scope: Scope) -> Result<String, ApiError> {
        refuse_key_in_query(req)?;
        let address = self.client_address(req);
        if let Some(address) = address {
            self.refuse_if_throttled(address)?;
        }
        let key = presented_key(req).ok_or(ApiError::KeyMissing)?;
        let hash = hash_of(&key);
        let cached = self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash);
        let found = match cached {
            Some(record) => Some(record),
            // A key created since the last reload, a wrong key (throttled
            // per address), or reloads that have stalled: ask the database
            // about this key alone.
            None => {
                let pool = self.pool.clone();
                web::block(move || {
                    let mut conn = pool.get()?;
                    Ok::<_, ApiError>(lookup_hash(&mut conn, &hash)?)
                })
                .await??
            }
        };
        let Some(record) = found else {
            if let Some(address) = address {
                self.record_failure(address);
            }
            return Err(ApiError::KeyUnknown);
        };
        let allowed_here = record.allowed.is_empty()
            || address.is_some_and(|a| record.allowed.iter().any(|net| net.contains(&a)));
        if !allowed_here {
            return Err(ApiError::AddressNotAllowed(format!(
                "key '{}' may not be used from this address; `hourglass keys list` shows where it may",
                record.name
            )));
        }
        if !record.scopes.allows(scope) {
            let (doing, needed) = match scope {
                Scope::Read => ("pulling", "read"),
                Scope::Write => ("writing", "write"),
            };
            return Err(ApiError::ScopeMissing(format!(
                "this key has scope '{}'; {doing} needs a key with '{needed}' scope",
                record.scopes
            )));
        }
        self.record_use(&record.name);
        Ok(record.name)
    }

    /// Reloads the active keys from the database. Blocks: call it off the
    /// executor, every [`KEY_REFRESH`].
    pub fn reload(&self) -> Result<(), ApiError> {
        let loaded = Instant::now();
        let mut conn = self.pool.get()?;
        let by_hash = active_keys(&mut conn)?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(KeySet {
            by_hash,
            loaded: Some(loaded),
        });
        Ok(())
    }

    /// The client's address: the peer's, or, when the peer is a trusted
    /// proxy, the last address in `X-Forwarded-For` that is not one (the
    /// addresses before it were written by the client and prove nothing).
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !trusted(ip))
                .unwrap_or(peer),
        )
    }

    fn refuse_if_throttled(&self, address: IpAddr) -> Result<(), ApiError> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let Some(bucket) = failures.get(&address) else {
            return Ok(());
        };
        let tokens = bucket.refilled(Instant::now(), self.burst);
        if tokens >= 1.0 {
            return Ok(());
        }
        let wait = ((1.0 - tokens) / FAILURE_REFILL_PER_SECOND).ceil() as u64;
        Err(ApiError::TooManyWrongKeys {
            retry_after: wait.max(1),
        })
    }

    fn record_failure(&self, address: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= FAILURE_ADDRESSES && !failures.contains_key(&address) {
            failures.retain(|_, bucket| bucket.refilled(now, self.burst) < self.burst);
            if failures.len() >= FAILURE_ADDRESSES {
                failures.clear();
            }
        }
        let bucket = failures.entry(address).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = bucket.refilled(now, self.burst) - 1.0;
        *bucket = Bucket { tokens, at: now };
        if (0.0..1.0).contains(&tokens) {
            // Once per burst, not once per request: a flood of wrong keys
            // must not become a flood of log lines.
            log::warn!(
                "{address} presented {} wrong API keys in a burst: throttled",
                self.burst
            );
        }
    }

    /// Writes the key's last use, in the background, at most once every
    /// [`RECORD_USE_EVERY`] per key and process.
    fn record_use(&self, name: &str) {
        let now = Instant::now();
        {
            let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
            if recorded
                .get(name)
                .is_some_and(|at| now.duration_since(*at) < RECORD_USE_EVERY)
            {
                return;
            }
            recorded.insert(name.to_string(), now);
        }
        let (pool, name) = (self.pool.clone(), name.to_string());
        actix_web::rt::spawn(async move {
            let written = web::block(move || -> Result<(), ApiError> {
                let mut conn = pool.get()?;
                Ok(record_use(&mut conn, &name, Timestamp::now())?)
            })
            .await;
            if let Ok(Err(error)) = written {
                log::warn!("cannot record a key's last use: {error}");
            }
        });
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

/// Lowercase hex, in one allocation: a key's hash is taken on every request.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    text
}
