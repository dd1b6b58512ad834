//! Integration tests: the real server over real HTTP, each test on its own
//! database, on SQLite and on PostgreSQL. One binary, so it links once.
//!
//! - `helpers`: `spawn_app(backend)`, `on_both_backends!` and request helpers
//! - `pg_cluster`: the throwaway PostgreSQL cluster the PostgreSQL tests run on
//! - `pull`: every dataset round-trips through CSV, JSON and NDJSON; window edges; formats; gzip
//! - `bad_input`: 400 / 404 / 413 / 415 / 422, and nothing half-written
//! - `auth`: no key, unknown, revoked, wrong scope; Bearer and Basic
//! - `game_sessions`: a session that straddles windows comes out whole in each
//! - `streaming`: a client that goes away frees its connection; a failure mid-stream looks broken;
//!   an exhausted pool is a 503
//! - `partition`: proptest, consecutive windows partition every dataset's rows
//! - `no_miss`: consecutive pulls miss nothing under concurrent writes, late data, clock skew
//! - `postgres`: two server processes on one database, a lagging replica, flat memory
//! - `cli`: the `hourglass` binary's commands
//! - `openapi`: openapi.yaml matches the columns served

mod auth;
mod bad_input;
mod cli;
mod game_sessions;
mod helpers;
mod no_miss;
mod openapi;
mod partition;
mod pg_cluster;
mod postgres;
mod pull;
mod streaming;
