//! Hourglass: an incremental export provider for iGaming CRMs.
//!
//! The operator's platform writes rows in (`POST /api/<dataset>`); a CRM or an
//! analyst pulls half-open `[from, to)` windows of them out as streaming CSV,
//! JSON or NDJSON (`GET /api/<dataset>?from=…&to=…`), per InTarget's spec.
//!
//! Where to start reading: [`routes`] (the route table) → [`routes`]'s
//! handlers → [`stream`] (pulls) and [`ingest`] (writes) → [`datasets`]
//! (every dataset described once, in `datasets::defs`, and the generic code
//! that reads, stores and writes rows from that description) → [`db`].
//! [`relay`] is a consumer of consecutive windows run in-process: it pushes
//! every change to a points engine or a webhook that cannot pull.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod datasets;
pub mod db;
pub mod encode;
pub mod error;
pub mod export;
pub mod feeds;
pub mod ingest;
pub mod metrics;
pub mod money;
pub mod relay;
pub mod report;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod state;
pub mod stream;
pub mod timestamp;
pub mod visibility;
pub mod window;
