//! The per-key request limit: at most `MUZE__API__REQUESTS_PER_MINUTE` requests per API key
//! per calendar minute, counted in Redis so that every API process shares one count.
//!
//! One counter per key and minute, `{namespace}:client:{key_id}:{unix minute}`, incremented
//! and given an expiry in one atomic pipeline. Over the limit → 429 `rate_limited` with
//! `Retry-After` set to the seconds left in the minute.
//!
//! This limit protects the API from a runaway client; it does not protect a provider (the
//! workers' limiter does that). So when Redis is unreachable or slow the request goes through,
//! and a warning is logged at most once every [`WARN_INTERVAL_SECS`].

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use muze_shared::redis_conn::Redis;

use crate::{auth::Caller, error::ApiError, state::AppState};

/// How long a request waits for Redis before going through uncounted. Counting must never
/// make the API slow: a healthy Redis answers in well under a millisecond.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Counters outlive their minute a little so a clock skew between API hosts cannot reset one.
const COUNTER_TTL_SECS: i64 = 120;
/// Minimum time between two "Redis unreachable" warnings: one per outage is enough to notice,
/// one per request would drown the logs.
pub const WARN_INTERVAL_SECS: u64 = 10;

/// The fleet-wide per-key request counter.
#[derive(Debug)]
pub struct ClientLimit {
    namespace: String,
    per_minute: u32,
    /// Unix second of the last "Redis unreachable" warning.
    last_warning: AtomicU64,
}

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit until the minute ends, in this many seconds.
    Refused {
        retry_after_secs: u64,
    },
}

impl ClientLimit {
    pub fn new(namespace: &str, per_minute: u32) -> ClientLimit {
        ClientLimit {
            namespace: namespace.to_string(),
            per_minute,
            last_warning: AtomicU64::new(0),
        }
    }

    /// Counts one request of `key_id` now and tells whether it is within the limit.
    pub async fn check(&self, redis: &Redis, key_id: &str) -> Verdict {
        let now = unix_secs();
        let minute = now / 60;
        let key = format!("{}:client:{key_id}:{minute}", self.namespace);
        let counted = tokio::time::timeout(
            REDIS_TIMEOUT,
            redis.run(|mut conn| async move {
                redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, COUNTER_TTL_SECS)
                    .ignore()
                    .query_async::<(u64,)>(&mut conn)
                    .await
            }),
        )
        .await;
        match counted {
            Ok(Ok((count,))) if count > u64::from(self.per_minute) => Verdict::Refused {
                retry_after_secs: 60 - now % 60,
            },
            Ok(Ok(_)) => Verdict::Allowed,
            Ok(Err(e)) => {
                self.warn_unreachable(now, &e.to_string());
                Verdict::Allowed
            }
            Err(_) => {
                self.warn_unreachable(now, "timed out");
                Verdict::Allowed
            }
        }
    }

    fn warn_unreachable(&self, now: u64, reason: &str) {
        let last = self.last_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_INTERVAL_SECS
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                redis.error = reason,
                "Redis unreachable; letting requests through without the per-key limit"
            );
        }
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Middleware, after [`crate::auth::authenticate`]: 429 when the caller's key is over its limit.
pub async fn enforce(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Authentication runs first; a request without a caller never gets here, but if it did
    // there would be no key to count it against.
    if let Some(caller) = request.extensions().get::<Caller>() {
        if let Verdict::Refused { retry_after_secs } =
            state.client_limit.check(&state.redis, &caller.key_id).await
        {
            return Err(ApiError::RateLimited { retry_after_secs });
        }
    }
    Ok(next.run(request).await)
}
