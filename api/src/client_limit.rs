//! The per-key request limit, fleet-wide: a rolling rate with a burst (GCRA), decided in one
//! Redis script so every API process shares one count.
//!
//! Two limits per API key, counted apart ([`Class`]):
//! - **requests** — every `/v1/*` request (catalog hits, polls), `MUZE__API__REQUESTS_PER_MINUTE`
//!   with a burst of `MUZE__API__REQUEST_BURST`;
//! - **searches** — a `POST /v1/searches` that the catalog cannot answer and that goes upstream,
//!   `MUZE__API__SEARCHES_PER_MINUTE` with a burst of `MUZE__API__SEARCH_BURST`. A catalog hit
//!   never spends it, so one app-wide key is not throttled by its users' cheap searches.
//!
//! **GCRA.** Each limit keeps one number per key, its *theoretical arrival time* (TAT): when the
//! key would next be allowed if it had used its rate evenly. With `T = 60 s / rate` and burst
//! `b`, a request at `now` is allowed when `max(TAT, now) + T − b·T ≤ now`, and then
//! `TAT ← max(TAT, now) + T`. A key idle long enough may send exactly `b` requests at once,
//! then one every `T`: no calendar edge doubles a burst, as a per-minute counter does. A
//! refusal says how long until the next request is allowed (`Retry-After`, rounded up).
//!
//! **One key per script** (`{namespace}:client:{key_id}:{class}`), so on a Redis Cluster the
//! script runs whole on the node owning it. Time is Redis server time, the same for every API
//! process; [`ClientLimit::check_at`] takes an explicit instant, for tests.
//!
//! **Redis unreachable:** each process applies the same limits alone, in memory, instead of
//! letting everything through. A key then gets up to the limit per API process rather than
//! fleet-wide — bounded, and warned about at most once every [`WARN_INTERVAL_SECS`].

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use muze_shared::{config::ApiSettings, redis_conn::Redis};
use redis::Script;

use crate::{auth::Caller, error::ApiError, state::AppState};

/// How long a request waits for Redis before the in-process limit decides instead. A healthy
/// Redis answers in well under a millisecond.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Minimum time between two "Redis unreachable" warnings: one per outage is enough to notice,
/// one per request would drown the logs.
pub const WARN_INTERVAL_SECS: u64 = 10;
/// Keys the in-process fallback remembers before it forgets them all: bounds its memory
/// whatever keys are presented (only authenticated keys reach it).
const LOCAL_KEYS_MAX: usize = 10_000;

/// The GCRA decision. `ARGV[1]`: now in µs, or empty for Redis server time; `ARGV[2]`: the
/// emission interval `T` in µs; `ARGV[3]`: the burst. Returns `{1, 0}` when allowed, or
/// `{0, µs until allowed}`. The TAT is stored as an integer string (`%.0f`: Lua's default
/// number format would round a µs timestamp) and expires when it no longer matters.
const GCRA_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_at = new_tat - burst * interval
if allowed_at > now then
  return {0, allowed_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, 0}
";

/// Which of a key's two limits a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Every `/v1/*` request.
    Requests,
    /// A search sent upstream (a job created or joined), on top of its request.
    Searches,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Class::Requests => "requests",
            Class::Searches => "searches",
        }
    }
}

/// A rolling rate with a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// `T`: the time one request costs, in µs.
    pub interval_us: u64,
    /// How many requests an idle key may send at once.
    pub burst: u32,
}

impl Rate {
    /// `per_minute` requests a minute, `burst` at once (both at least 1, as configuration
    /// guarantees).
    pub fn per_minute(per_minute: u32, burst: u32) -> Rate {
        Rate {
            interval_us: 60_000_000 / u64::from(per_minute.max(1)),
            burst: burst.max(1),
        }
    }

    /// The pure GCRA step: given the stored TAT (0 if none) and now, the new TAT if allowed,
    /// or the µs until a request would be.
    pub fn decide(self, tat_us: u64, now_us: u64) -> Result<u64, u64> {
        let new_tat = tat_us.max(now_us) + self.interval_us;
        let allowed_at = new_tat.saturating_sub(u64::from(self.burst) * self.interval_us);
        if allowed_at > now_us {
            Err(allowed_at - now_us)
        } else {
            Ok(new_tat)
        }
    }
}

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit; the next request is allowed in this many seconds (at least 1).
    Refused {
        retry_after_secs: u64,
    },
}

/// The fleet-wide per-key limits.
#[derive(Debug)]
pub struct ClientLimit {
    namespace: String,
    requests: Rate,
    searches: Rate,
    script: Script,
    /// The in-process fallback's TATs, used only while Redis is unreachable.
    local: Mutex<HashMap<(String, Class), u64>>,
    /// Unix second of the last "Redis unreachable" warning.
    last_warning: AtomicU64,
}

impl ClientLimit {
    /// The limits configured under `MUZE__API__*`.
    pub fn new(namespace: &str, api: &ApiSettings) -> ClientLimit {
        ClientLimit::with_rates(
            namespace,
            Rate::per_minute(api.requests_per_minute, api.request_burst),
            Rate::per_minute(api.searches_per_minute, api.search_burst),
        )
    }

    /// Explicit rates (tests).
    pub fn with_rates(namespace: &str, requests: Rate, searches: Rate) -> ClientLimit {
        ClientLimit {
            namespace: namespace.to_string(),
            requests,
            searches,
            script: Script::new(GCRA_SCRIPT),
            local: Mutex::new(HashMap::new()),
            last_warning: AtomicU64::new(0),
        }
    }

    fn rate(&self, class: Class) -> Rate {
        match class {
            Class::Requests => self.requests,
            Class::Searches => self.searches,
        }
    }

    /// The Redis key holding `key_id`'s TAT for `class`.
    pub fn redis_key(&self, key_id: &str, class: Class) -> String {
        format!("{}:client:{key_id}:{}", self.namespace, class.as_str())
    }

    /// Counts one request of `key_id` now (Redis server time).
    pub async fn check(&self, redis: &Redis, key_id: &str, class: Class) -> Verdict {
        self.decide(redis, key_id, class, None).await
    }

    /// Counts one request of `key_id` at `now_us` (µs since the Unix epoch) instead of Redis
    /// server time: limiter arithmetic tested at exact instants.
    pub async fn check_at(
        &self,
        redis: &Redis,
        key_id: &str,
        class: Class,
        now_us: u64,
    ) -> Verdict {
        self.decide(redis, key_id, class, Some(now_us)).await
    }

    async fn decide(
        &self,
        redis: &Redis,
        key_id: &str,
        class: Class,
        now_us: Option<u64>,
    ) -> Verdict {
        let rate = self.rate(class);
        let mut invocation = self.script.key(self.redis_key(key_id, class));
        invocation
            .arg(now_us.map(|t| t.to_string()).unwrap_or_default())
            .arg(rate.interval_us)
            .arg(rate.burst);
        let decided = tokio::time::timeout(
            REDIS_TIMEOUT,
            redis.run(|mut c| async move { invocation.invoke_async::<(u8, u64)>(&mut c).await }),
        )
        .await;
        let reason = match decided {
            Ok(Ok((1, _))) => return Verdict::Allowed,
            Ok(Ok((_, wait_us))) => return refused(wait_us),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_string(),
        };
        self.warn_unreachable(&reason);
        self.decide_locally(key_id, class, now_us.unwrap_or_else(unix_micros))
    }

    fn decide_locally(&self, key_id: &str, class: Class, now_us: u64) -> Verdict {
        let mut local = self
            .local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if local.len() >= LOCAL_KEYS_MAX {
            local.clear();
        }
        let tat = local.entry((key_id.to_string(), class)).or_insert(0);
        match self.rate(class).decide(*tat, now_us) {
            Ok(new_tat) => {
                *tat = new_tat;
                Verdict::Allowed
            }
            Err(wait_us) => refused(wait_us),
        }
    }

    fn warn_unreachable(&self, reason: &str) {
        let now = unix_micros() / 1_000_000;
        let last = self.last_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_INTERVAL_SECS
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                redis.error = reason,
                "Redis unreachable; each API process applies the per-key limits alone"
            );
        }
    }
}

fn refused(wait_us: u64) -> Verdict {
    Verdict::Refused {
        retry_after_secs: wait_us.div_ceil(1_000_000).max(1),
    }
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Middleware, after [`crate::auth::authenticate`]: 429 when the caller's key is over its
/// request limit.
pub async fn enforce(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Authentication runs first; a request without a caller never gets here, but if it did
    // there would be no key to count it against.
    if let Some(caller) = request.extensions().get::<Caller>() {
        spend(&state, caller, Class::Requests).await?;
    }
    Ok(next.run(request).await)
}

/// Spends one of `caller`'s `class` allowance, or answers 429 `rate_limited`.
pub async fn spend(state: &AppState, caller: &Caller, class: Class) -> Result<(), ApiError> {
    match state
        .client_limit
        .check(&state.redis, &caller.key_id, class)
        .await
    {
        Verdict::Allowed => Ok(()),
        Verdict::Refused { retry_after_secs } => Err(ApiError::RateLimited { retry_after_secs }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_key_gets_its_burst_then_one_per_interval() {
        let rate = Rate::per_minute(60, 3); // T = 1 s
        let t0 = 1_000_000_000_000;
        let mut tat = 0;
        for _ in 0..3 {
            tat = rate.decide(tat, t0).expect("within the burst");
        }
        assert_eq!(rate.decide(tat, t0), Err(1_000_000));
        assert_eq!(rate.decide(tat, t0 + 999_999), Err(1));
        tat = rate
            .decide(tat, t0 + 1_000_000)
            .expect("one interval later");
        assert!(rate.decide(tat, t0 + 1_000_000).is_err());
    }

    #[test]
    fn refusals_round_retry_after_up_to_whole_seconds() {
        assert_eq!(
            refused(1),
            Verdict::Refused {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            refused(1_000_001),
            Verdict::Refused {
                retry_after_secs: 2
            }
        );
    }
}
