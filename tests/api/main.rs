//! Integration tests: the real server over real HTTP, each test on its own
//! database, on SQLite and on PostgreSQL. One binary, so it links once.
//!
//! - `helpers`: `spawn_app(backend)`, `on_both_backends!` and request helpers
//! - `pg_cluster`: the throwaway PostgreSQL cluster the PostgreSQL tests run on
//! - `pull`: every dataset round-trips through CSV, JSON and NDJSON; window edges; formats; gzip
//! - `bad_input`: 400 / 404 / 413 / 415 / 422, and nothing half-written
//! - `activity`: a player's rows across datasets in time order, paged through indexes
//! - `auth`: no key, unknown, revoked, wrong scope; Bearer and Basic
//! - `deletions`: deletes by key, the deletions feed, game sessions re-emitted, retention
//! - `erasure`: a player's personal data blanked everywhere, the money rows kept
//! - `game_sessions`: a session that straddles windows comes out whole in each
//! - `streaming`: a client that goes away frees its connection; a failure mid-stream looks broken;
//!   an exhausted pool is a 503
//! - `isolation`: writes, one key's stalled pulls and `/health` do not starve one another
//! - `strict`: empty bodies, repeated columns, unknown parameters, wrong methods, encodings; keys never logged
//! - `partition`: proptest, consecutive windows partition every dataset's rows
//! - `group_commit`: writes that arrive together share a transaction and a stamp; a bad one fails alone
//! - `no_miss`: consecutive pulls miss nothing under concurrent writes, late data, clock skew
//! - `points_engine`: a consumer of bets and deletions keeps a points ledger exact under concurrent writes
//! - `relay`: `hourglass relay` keeps a Pointagram stand-in's ledger exact through failures and SIGKILLs; dead letters; a signed webhook
//! - `postgres`: two server processes on one database, a lagging replica, flat memory
//! - `custom_fields`: custom player fields declared at run time; `/api/schema` agrees with every pull
//! - `migration`: an integer-id database migrates to text ids in place, every row kept
//! - `cli`: the `hourglass` binary's commands
//! - `demo`: the seeded demo holds together (stamps, bets, money, people, every hour filled)
//! - `feeds`: the count endpoint agrees with the pull; `/api/stats` counts writes per hour and flags a quiet feed
//! - `metrics`: `/metrics` is Prometheus text whose counters move with pulls and writes
//! - `page`: `/` asks for a read key through HTTP Basic and says what was wrong; its assets
//! - `openapi`: openapi.yaml's dataset schemas follow the datasets' description

mod activity;
mod auth;
mod bad_input;
mod cli;
mod custom_fields;
mod deletions;
mod demo;
mod erasure;
mod feeds;
mod game_sessions;
mod group_commit;
mod helpers;
mod isolation;
mod metrics;
mod migration;
mod no_miss;
mod openapi;
mod page;
mod partition;
mod pg_cluster;
mod points_engine;
mod postgres;
mod pull;
mod relay;
mod retention;
mod streaming;
mod strict;
