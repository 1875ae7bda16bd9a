//! Fleet-wide rate limits: every call to a provider takes budget from Redis first, so all
//! worker processes together never exceed a provider's limit in its own terms.
//!
//! - [`budget`]: a provider's limits as configured (rolling window, safety margin, reserve for
//!   interactive work, per-call cost, calendar quota, circuit breaker), and whose budget it is.
//! - [`window`]: the sliding-log arithmetic, in Rust, for the per-process "naive" mode and as the
//!   executable specification of the Redis script.
//! - [`calendar`]: quota periods that reset at local midnight in the provider's zone.
//! - [`limiter`]: the atomic Redis scripts and what callers use.
//! - [`durable`]: what survives in Postgres when Redis forgets.

pub mod budget;
pub mod calendar;
pub mod durable;
mod limiter;
pub mod window;

pub use budget::ProviderBudget;
pub use limiter::{
    Accounting, CircuitState, Decision, Grant, LimiterError, LimiterMode, Outcome, Priority,
    ProviderStatus, QuotaStatus, RateLimiter, WaitReason,
};
