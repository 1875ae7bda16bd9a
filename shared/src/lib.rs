//! `muze-shared`: what the Muze binaries have in common.
//!
//! - [`config`]: the one typed configuration tree (defaults → `MUZE_CONFIG` → `MUZE__*`).
//! - [`domain`]: validated types that travel from the API through the queue to the worker.
//! - [`db`]: Postgres, the source of truth for jobs and the catalog.
//! - [`queue`]: RabbitMQ transport with confirmed publishing.
//! - [`crawl`]: starting new-release crawls and publishing their pages.
//! - [`rate_limit`]: fleet-wide provider budgets in Redis.
//! - [`cron`]: cron schedules with seconds in a time zone, DST-correct.
//! - [`redis_conn`], [`telemetry`], [`shutdown`]: process plumbing; [`metric_families`]: every
//!   metric's name and HELP text; [`stage`]: the moments a search passes, for the latency
//!   benchmark.
//!
//! Errors: each module has its own `thiserror` enum; binaries wrap them with `anyhow` context.

// Provider specs are compiled here from the worker's modules, which name this crate.
extern crate self as muze_shared;

pub mod config;
pub mod crawl;
pub mod cron;
pub mod db;
pub mod domain;
pub mod metric_families;
pub mod queue;
pub mod rate_limit;
pub mod redis_conn;
pub mod shutdown;
pub mod stage;
pub mod telemetry;

pub use config::Settings;
