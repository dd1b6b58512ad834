//! The request guard: checks the API key of every `/api` request.
//!
//! A request presents its key as `Authorization: Bearer KEY`, or as HTTP
//! Basic with the key as the password (any user name), so that a browser
//! can download a CSV. Keys themselves live in the key store ([`keys`]).
//!
//! [`KeyGuard`] checks a known key without a database round trip: it keeps
//! the active keys in memory and reloads them every [`KEY_REFRESH`], so a
//! key revoked on any instance is refused by every other within a second.
//! A key it does not know (created since the last reload, or wrong) is
//! looked up in the database by its hash, and so is every key when reloads
//! have stalled: a set older than [`KEY_MAX_AGE`] is not trusted. The guard
//! also refuses keys sent in the URL, throttles addresses that keep
//! presenting wrong keys (429 after a burst), holds a key to the addresses
//! it was created for (`keys create --allow`), and records when each key
//! was last used (at most once a minute, so that checking a key is not a
//! write).

pub mod keys;

use crate::db::StorageError;
use crate::error::ApiError;
use crate::timestamp::Timestamp;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine as _;
use futures_util::future::{LocalBoxFuture, TryFutureExt};
use ipnet::IpNet;
use keys::{active_keys, hash_of, lookup_hash, KeyRecord};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use keys::{Scope, Scopes};

/// The name of a request's key, checked for read scope: a handler that
/// takes one runs only for a key that may read (see [`KeyGuard::require`]).
#[derive(Debug)]
pub struct ReadKey(pub String);

/// The name of a request's key, checked for write scope.
#[derive(Debug)]
pub struct WriteKey(pub String);

impl FromRequest for ReadKey {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(checked(req.clone(), Scope::Read).map_ok(ReadKey))
    }
}

impl FromRequest for WriteKey {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(checked(req.clone(), Scope::Write).map_ok(WriteKey))
    }
}

/// The request's key, checked for `scope` by the server's guard.
async fn checked(req: HttpRequest, scope: Scope) -> Result<String, ApiError> {
    let guard = req
        .app_data::<web::Data<KeyGuard>>()
        .ok_or_else(|| ApiError::Internal("no key guard is registered".into()))?;
    guard.require(&req, scope).await
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
    pub fn reload(&self) -> Result<(), StorageError> {
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
            let written = web::block(move || -> Result<(), StorageError> {
                let mut conn = pool.get()?;
                Ok(keys::record_use(&mut conn, &name, Timestamp::now())?)
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
