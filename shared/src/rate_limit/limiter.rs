//! The limiter callers use: acquire budget before a call, report how the call went.
//!
//! In `shared` mode (the default) every decision is one atomic Redis script over keys under
//! the provider's hash tag `{namespace:provider}`, using Redis server time, so any number of
//! processes share one budget, one cooldown and one circuit breaker per provider.
//!
//! If Redis cannot be reached, [`RateLimiter::acquire`] fails with
//! [`LimiterError::Unavailable`] and callers make no provider call: the fleet pauses rather
//! than risk the provider's limit, and resumes by itself when Redis answers again. (A local
//! fallback cannot know what the other processes spent in the current window.)
//!
//! `naive` mode limits each process alone with the full budget, as the original design did. It
//! exists only so benchmarks can show what sharing buys.

use std::{collections::HashMap, str::FromStr, sync::Mutex, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use redis::Script;
use serde::{Deserialize, Serialize};

use super::{budget::ProviderBudget, calendar, window::LocalWindow};
use crate::{domain::ProviderName, redis_conn::Redis, Settings};

/// Whether the budget is shared across the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimiterMode {
    Shared,
    Naive,
}

impl FromStr for LimiterMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "shared" => Ok(LimiterMode::Shared),
            "naive" => Ok(LimiterMode::Naive),
            other => Err(format!("unknown limiter mode {other:?} (shared or naive)")),
        }
    }
}

/// Who is asking: interactive searches may use the reserve, background work may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Interactive,
    Background,
}

impl Priority {
    /// The label used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Interactive => "interactive",
            Priority::Background => "background",
        }
    }
}

/// Why a caller must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The provider said 429 / quota exceeded; every worker honours it.
    Cooldown,
    /// The provider is failing; the circuit is open.
    CircuitOpen,
    /// The rolling window is full.
    WindowFull,
    /// The calendar quota is spent until its reset.
    QuotaExhausted,
}

/// The limiter's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Make the call now.
    Granted,
    /// Do not call before `wait` has passed.
    Wait { wait: Duration, reason: WaitReason },
}

/// How a call went, as far as limits and health are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer (results or none).
    Ok,
    /// 5xx, timeout, connection failure: counts toward opening the circuit.
    Transient,
    /// 429: cool down every worker for `retry_after`.
    Throttled { retry_after: Duration },
    /// Quota exceeded until `until`.
    QuotaExhausted { until: DateTime<Utc> },
}

/// The limiter cannot decide.
#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    #[error("rate limiter unavailable (Redis): {0}")]
    Unavailable(#[from] redis::RedisError),
    #[error("provider {0} has no budget configured")]
    UnknownProvider(ProviderName),
}

/// Circuit breaker state, as shown to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

/// A calendar quota's state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuotaStatus {
    pub limit: u32,
    pub used: u32,
    pub left: u32,
    pub resets_at: DateTime<Utc>,
}

/// One provider's limiter state, for `/v1/admin/providers`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProviderStatus {
    pub provider: ProviderName,
    /// The configured limit, e.g. `300/30s`.
    pub limit: String,
    /// The limit in force now (lower than configured after 429s on adaptive providers).
    pub effective_limit: u32,
    /// Calls granted in the current rolling window.
    pub calls_in_window: u32,
    /// Calls of each window only interactive searches may use.
    pub reserved_for_interactive: u32,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub quota: Option<QuotaStatus>,
    pub circuit: CircuitState,
    pub circuit_open_until: Option<DateTime<Utc>>,
}

/// Acquires and reports provider budget.
pub struct RateLimiter {
    namespace: String,
    redis: Redis,
    budgets: HashMap<ProviderName, ProviderBudget>,
    mode: LimiterMode,
    probe_timeout: Duration,
    acquire: Script,
    report: Script,
    naive: Mutex<HashMap<ProviderName, LocalWindow>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("namespace", &self.namespace)
            .field("mode", &self.mode)
            .field("budgets", &self.budgets)
            .finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

impl RateLimiter {
    /// A limiter for every provider in `settings`.
    pub fn new(settings: &Settings, redis: Redis) -> RateLimiter {
        let budgets = ProviderName::ALL
            .into_iter()
            .map(|p| {
                (
                    p,
                    ProviderBudget::from_settings(p, settings.providers.get(p)),
                )
            })
            .collect();
        if settings.limiter.mode == LimiterMode::Naive {
            tracing::warn!("rate limiter in NAIVE mode: each process limits itself alone; providers WILL see their limits exceeded by a fleet");
        }
        RateLimiter {
            namespace: settings.namespace.clone(),
            redis,
            budgets,
            mode: settings.limiter.mode,
            probe_timeout: Duration::from_millis(settings.limiter.probe_timeout_ms),
            acquire: Script::new(include_str!("acquire.lua")),
            report: Script::new(include_str!("report.lua")),
            naive: Mutex::new(HashMap::new()),
        }
    }

    /// The configured budget of a provider.
    pub fn budget(&self, provider: ProviderName) -> Option<&ProviderBudget> {
        self.budgets.get(&provider)
    }

    fn key(&self, provider: ProviderName, part: &str) -> String {
        format!("{{{}:{}}}:{part}", self.namespace, provider)
    }

    fn quota_key(&self, provider: ProviderName, now: DateTime<Utc>) -> Option<(String, u32, u64)> {
        let budget = self.budgets.get(&provider)?;
        let (calls, tz) = budget.daily_quota?;
        let period = calendar::period(now, tz);
        let reset = calendar::next_reset(now, tz);
        let ttl = (reset - now).num_milliseconds().max(1) as u64;
        Some((self.key(provider, &format!("quota:{period}")), calls, ttl))
    }

    /// Asks for budget for one call of `provider`.
    pub async fn acquire(
        &self,
        provider: ProviderName,
        priority: Priority,
    ) -> Result<Decision, LimiterError> {
        self.acquire_at(provider, priority, None).await
    }

    /// [`RateLimiter::acquire`] at a given instant instead of Redis server time (tests of the
    /// script's arithmetic).
    pub async fn acquire_at(
        &self,
        provider: ProviderName,
        priority: Priority,
        now: Option<DateTime<Utc>>,
    ) -> Result<Decision, LimiterError> {
        let budget = self
            .budgets
            .get(&provider)
            .ok_or(LimiterError::UnknownProvider(provider))?;
        if self.mode == LimiterMode::Naive {
            return Ok(self.acquire_naive(budget, priority));
        }
        let quota = self.quota_key(provider, now.unwrap_or_else(Utc::now));
        let (quota_key, quota_limit, quota_ttl) = quota
            .clone()
            .unwrap_or_else(|| (self.key(provider, "quota"), 0, 0));
        let mut invocation = self.acquire.prepare_invoke();
        invocation
            .key(self.key(provider, "log"))
            .key(self.key(provider, "seq"))
            .key(self.key(provider, "state"))
            .key(quota_key)
            .arg(budget.limit.calls)
            .arg(budget.limit.window_ms())
            .arg(ms(budget.margin))
            .arg(budget.cost)
            .arg(budget.reserve)
            .arg(u8::from(priority == Priority::Background))
            .arg(quota_limit)
            .arg(quota_ttl)
            .arg(now.map_or(0, |t| t.timestamp_millis()))
            .arg(u8::from(budget.adaptive))
            .arg(ms(self.probe_timeout));
        let (granted, wait_ms, reason): (i64, i64, i64) = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        if granted == 1 {
            metrics::counter!("muze_limiter_grants_total", "provider" => provider.as_str(), "priority" => priority.as_str())
                .increment(1);
            return Ok(Decision::Granted);
        }
        metrics::counter!("muze_limiter_waits_total", "provider" => provider.as_str(), "priority" => priority.as_str())
            .increment(1);
        let reason = match reason {
            1 => WaitReason::Cooldown,
            2 => WaitReason::CircuitOpen,
            4 => WaitReason::QuotaExhausted,
            _ => WaitReason::WindowFull,
        };
        Ok(Decision::Wait {
            wait: Duration::from_millis(wait_ms.max(1) as u64),
            reason,
        })
    }

    fn acquire_naive(&self, budget: &ProviderBudget, priority: Priority) -> Decision {
        let mut windows = self.naive.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows
            .entry(budget.provider)
            .or_insert_with(|| LocalWindow::new(budget.limit.window, Duration::ZERO));
        let limit = match priority {
            Priority::Interactive => budget.limit.calls,
            Priority::Background => budget.limit.calls.saturating_sub(budget.reserve),
        };
        match window.try_acquire(tokio::time::Instant::now(), limit, budget.cost) {
            Ok(()) => Decision::Granted,
            Err(wait) => Decision::Wait {
                wait,
                reason: WaitReason::WindowFull,
            },
        }
    }

    /// Records how a call went: breaker, cooldown, adaptive limit.
    pub async fn report(
        &self,
        provider: ProviderName,
        outcome: Outcome,
    ) -> Result<(), LimiterError> {
        self.report_at(provider, outcome, None).await
    }

    /// [`RateLimiter::report`] at a given instant (tests).
    pub async fn report_at(
        &self,
        provider: ProviderName,
        outcome: Outcome,
        now: Option<DateTime<Utc>>,
    ) -> Result<(), LimiterError> {
        if self.mode == LimiterMode::Naive {
            return Ok(());
        }
        let budget = self
            .budgets
            .get(&provider)
            .ok_or(LimiterError::UnknownProvider(provider))?;
        let (kind, wait_ms) = match outcome {
            Outcome::Ok => ("ok", 0),
            Outcome::Transient => ("transient", 0),
            Outcome::Throttled { retry_after } => ("throttled", ms(retry_after)),
            Outcome::QuotaExhausted { until } => (
                "quota",
                (until - now.unwrap_or_else(Utc::now))
                    .num_milliseconds()
                    .max(1) as u64,
            ),
        };
        let mut invocation = self.report.prepare_invoke();
        invocation
            .key(self.key(provider, "state"))
            .arg(kind)
            .arg(wait_ms)
            .arg(budget.breaker_failures)
            .arg(ms(budget.breaker_cooloff))
            .arg(budget.limit.calls)
            .arg(u8::from(budget.adaptive))
            .arg(now.map_or(0, |t| t.timestamp_millis()));
        let _: i64 = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        Ok(())
    }

    /// The state of one provider's budget and circuit.
    pub async fn status(&self, provider: ProviderName) -> Result<ProviderStatus, LimiterError> {
        let budget = self
            .budgets
            .get(&provider)
            .ok_or(LimiterError::UnknownProvider(provider))?;
        let log_key = self.key(provider, "log");
        let state_key = self.key(provider, "state");
        let window_ms = i64::try_from(budget.limit.window_ms()).unwrap_or(i64::MAX);
        let (now_ms, calls, state): (i64, u32, HashMap<String, String>) = self
            .redis
            .run(|mut c| async move {
                let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut c).await?;
                let now_ms = secs * 1000 + micros / 1000;
                let calls: u32 = redis::cmd("ZCOUNT")
                    .arg(&log_key)
                    .arg(format!("({}", now_ms - window_ms))
                    .arg("+inf")
                    .query_async(&mut c)
                    .await?;
                let state: HashMap<String, String> = redis::cmd("HGETALL")
                    .arg(&state_key)
                    .query_async(&mut c)
                    .await?;
                Ok((now_ms, calls, state))
            })
            .await?;
        let now = from_ms(now_ms).unwrap_or_else(Utc::now);
        let field = |name: &str| state.get(name).and_then(|v| v.parse::<f64>().ok());
        let cooldown_until = field("cooldown_until")
            .map(|v| v as i64)
            .filter(|t| *t > now_ms)
            .and_then(from_ms);
        let open_until = field("open_until").map(|v| v as i64).unwrap_or(0);
        let circuit = if open_until == 0 {
            CircuitState::Closed
        } else if open_until > now_ms {
            CircuitState::Open
        } else {
            CircuitState::HalfOpen
        };
        let effective_limit = if budget.adaptive {
            field("adaptive_limit")
                .map(|v| (v.floor() as u32).min(budget.limit.calls))
                .unwrap_or(budget.limit.calls)
        } else {
            budget.limit.calls
        };
        let quota = match self.quota_key(provider, now) {
            Some((key, limit, _)) => {
                let used: Option<u32> = self
                    .redis
                    .run(
                        |mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await },
                    )
                    .await?;
                let used = used.unwrap_or(0);
                let tz = budget
                    .daily_quota
                    .map(|(_, tz)| tz)
                    .unwrap_or(chrono_tz::UTC);
                Some(QuotaStatus {
                    limit,
                    used,
                    left: limit.saturating_sub(used),
                    resets_at: calendar::next_reset(now, tz),
                })
            }
            None => None,
        };
        Ok(ProviderStatus {
            provider,
            limit: budget.limit.to_string(),
            effective_limit,
            calls_in_window: calls,
            reserved_for_interactive: budget.reserve,
            cooldown_until,
            quota,
            circuit,
            circuit_open_until: (circuit == CircuitState::Open)
                .then(|| from_ms(open_until))
                .flatten(),
        })
    }
}
