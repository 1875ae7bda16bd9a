//! The limiter callers use: acquire budget before a call, report how the call went.
//!
//! In `shared` mode (the default) every decision is one atomic Redis script over keys under
//! the budget's hash tag `{muze:budget:<id>}`, using Redis server time, so every process using
//! one credential shares one budget, one cooldown and one circuit breaker, whatever its
//! namespace. A grant holds its slot until the call is reported (or, never reported, until its
//! timeout has surely passed); a reported call's slot leaves the window one window after its
//! response, the latest moment the provider can have counted it.
//!
//! A budget whose Redis state is missing is rebuilt before anything is granted
//! ([`durable`](super::durable)): never used → granted at once; lost → the cooldown and the
//! day's quota come back from Postgres, and a rolling window is waited out unless its calls
//! were kept there too.
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

use sqlx::PgPool;

use super::{budget::ProviderBudget, calendar, durable, window::LocalWindow};
use crate::{domain::ProviderName, redis_conn::Redis, Settings};

/// Keys of a budget live this long after its last use; an expired state reads as lost, so a
/// budget idle for a week waits out one window once.
const STATE_TTL: Duration = Duration::from_secs(7 * 86_400);
/// A declaration not renewed by an acquire for this long no longer binds the budget: the
/// process that made it stopped (or changed its limit).
const DECLARATION_TTL: Duration = Duration::from_secs(3_600);

/// When a granted call leaves the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accounting {
    /// One window after the call's response (held until its timeout if never reported).
    Response,
    /// One window plus the margin after the grant: trusts that calls arrive within the margin.
    /// For benchmarks and comparison only.
    Grant,
}

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
    /// Redis lost this budget's state: no grant until a whole window has passed.
    Recovering,
}

/// A granted call: hand it back to [`RateLimiter::report`] once the call is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub provider: ProviderName,
    /// The grant's log entries (`epoch:last sequence number`).
    member: String,
}

/// The limiter's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Make the call now, then report it.
    Granted(Grant),
    /// Do not call before `wait` has passed.
    Wait { wait: Duration, reason: WaitReason },
}

/// How a call went, as far as limits and health are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer (results or none).
    Ok,
    /// An answer that says nothing about load or health (bad request, bad credentials, a
    /// malformed body).
    Rejected,
    /// 5xx, timeout, connection failure: counts toward opening the circuit. The call may not
    /// have reached the provider yet, so its slot stays held as if never reported.
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
    #[error("rate limiter cannot keep its durable record (Postgres): {0}")]
    Durable(#[from] sqlx::Error),
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
    /// The budget these calls spend, shared by every deployment with the same credential.
    pub budget: String,
    /// The limits live users of this budget declared; the strictest applies.
    pub declared_limits: Vec<String>,
    /// The configured limit, e.g. `300/30s`.
    pub limit: String,
    /// The limit in force now (lower than configured after 429s on adaptive providers).
    pub effective_limit: u32,
    /// Calls whose slot is in the current rolling window (in flight, or answered within it).
    pub calls_in_window: u32,
    /// Calls granted and not yet reported.
    pub calls_in_flight: u32,
    /// Redis lost this budget's state; no calls before this.
    pub recovering_until: Option<DateTime<Utc>>,
    /// Calls of each window only interactive searches may use.
    pub reserved_for_interactive: u32,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub quota: Option<QuotaStatus>,
    pub circuit: CircuitState,
    pub circuit_open_until: Option<DateTime<Utc>>,
}

/// Acquires and reports provider budget.
pub struct RateLimiter {
    redis: Redis,
    pool: PgPool,
    budgets: HashMap<ProviderName, ProviderBudget>,
    mode: LimiterMode,
    accounting: Accounting,
    probe_timeout: Duration,
    acquire: Script,
    report: Script,
    restore: Script,
    naive: Mutex<HashMap<ProviderName, LocalWindow>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("mode", &self.mode)
            .field("accounting", &self.accounting)
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

/// The four local midnights around `now` in `tz`, in ms: the script picks the period that
/// holds Redis time, so every process counts the same day whatever its own clock says.
fn midnights(now: DateTime<Utc>, tz: chrono_tz::Tz) -> [i64; 4] {
    let today = calendar::period_start(now, tz);
    let yesterday = calendar::period_start(today - chrono::Duration::hours(1), tz);
    let tomorrow = calendar::next_reset(now, tz);
    let after = calendar::next_reset(tomorrow, tz);
    [yesterday, today, tomorrow, after].map(|t| t.timestamp_millis())
}

/// The Redis keys of one budget, all under its hash tag.
struct Keys {
    log: String,
    in_flight: String,
    state: String,
    declarations: String,
}

impl Keys {
    fn of(budget: &ProviderBudget) -> Keys {
        let key = |part: &str| format!("{{muze:budget:{}}}:{part}", budget.id);
        Keys {
            log: key("log"),
            in_flight: key("inflight"),
            state: key("state"),
            declarations: key("declared"),
        }
    }
}

impl RateLimiter {
    /// A limiter for every provider in `settings`.
    pub fn new(settings: &Settings, redis: Redis, pool: PgPool) -> RateLimiter {
        let budgets = ProviderName::ALL
            .into_iter()
            .map(|p| {
                (
                    p,
                    ProviderBudget::from_settings(
                        p,
                        settings.providers.get(p),
                        &settings.limiter.egress,
                    ),
                )
            })
            .collect();
        if settings.limiter.mode == LimiterMode::Naive {
            tracing::warn!("rate limiter in NAIVE mode: each process limits itself alone; providers WILL see their limits exceeded by a fleet");
        }
        if settings.limiter.accounting == Accounting::Grant {
            tracing::warn!("rate limiter in GRANT accounting: calls arriving later than the margin can exceed a provider's limit");
        }
        RateLimiter {
            redis,
            pool,
            budgets,
            mode: settings.limiter.mode,
            accounting: settings.limiter.accounting,
            probe_timeout: Duration::from_millis(settings.limiter.probe_timeout_ms),
            acquire: Script::new(include_str!("acquire.lua")),
            report: Script::new(include_str!("report.lua")),
            restore: Script::new(include_str!("restore.lua")),
            naive: Mutex::new(HashMap::new()),
        }
    }

    /// The configured budget of a provider.
    pub fn budget(&self, provider: ProviderName) -> Option<&ProviderBudget> {
        self.budgets.get(&provider)
    }

    /// Every Redis key of `provider`'s budget (one hash slot): what an operator deletes to
    /// reset a budget, and what a loss of Redis state takes away.
    pub fn redis_keys(&self, provider: ProviderName) -> Vec<String> {
        self.budgets.get(&provider).map_or_else(Vec::new, |b| {
            let keys = Keys::of(b);
            vec![keys.log, keys.in_flight, keys.state, keys.declarations]
        })
    }

    /// Deletes `provider`'s budget from Redis (its Postgres record stays): the next acquire
    /// finds the state lost and rebuilds it.
    pub async fn forget(&self, provider: ProviderName) -> Result<(), LimiterError> {
        let keys = self.redis_keys(provider);
        if keys.is_empty() {
            return Ok(());
        }
        self.redis
            .run(|mut c| async move {
                redis::cmd("DEL")
                    .arg(&keys)
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await?;
        Ok(())
    }

    fn budget_of(&self, provider: ProviderName) -> Result<&ProviderBudget, LimiterError> {
        self.budgets
            .get(&provider)
            .ok_or(LimiterError::UnknownProvider(provider))
    }

    /// How long a granted, unreported call keeps its slot past its grant.
    fn unreported(&self, budget: &ProviderBudget) -> Duration {
        match self.accounting {
            Accounting::Response => budget.unreported_arrival(),
            Accounting::Grant => Duration::ZERO,
        }
    }

    /// Logs, once at start-up, every live declaration of `providers`' budgets that differs
    /// from this process's own: the strictest applies to all of them.
    pub async fn check_declarations(&self, providers: &[ProviderName]) -> Result<(), LimiterError> {
        if self.mode == LimiterMode::Naive {
            return Ok(());
        }
        for &provider in providers {
            let budget = self.budget_of(provider)?;
            let declared = self.declarations(budget).await?;
            let own = budget.declaration();
            for other in declared.iter().filter(|d| **d != own) {
                tracing::warn!(
                    provider = %provider,
                    budget = %budget.id,
                    ours = %budget.limit,
                    theirs = %other,
                    "another process using this budget declared a different limit; the strictest applies to every user until the other stops for an hour (set MUZE__PROVIDERS__{}__RATE_LIMIT alike everywhere)",
                    provider.env_name()
                );
            }
        }
        Ok(())
    }

    /// The live declarations of a budget, as `<calls>/<window ms>`.
    async fn declarations(&self, budget: &ProviderBudget) -> Result<Vec<String>, LimiterError> {
        let key = Keys::of(budget).declarations;
        let (now_ms, declared): (i64, HashMap<String, i64>) = self
            .redis
            .run(|mut c| async move {
                let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut c).await?;
                let declared = redis::cmd("HGETALL").arg(&key).query_async(&mut c).await?;
                Ok((secs * 1000 + micros / 1000, declared))
            })
            .await?;
        let live_since = now_ms - i64::try_from(ms(DECLARATION_TTL)).unwrap_or(i64::MAX);
        let mut live: Vec<String> = declared
            .into_iter()
            .filter(|(_, seen)| *seen >= live_since)
            .map(|(d, _)| d)
            .collect();
        live.sort();
        Ok(live)
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
        let budget = self.budget_of(provider)?;
        if self.mode == LimiterMode::Naive {
            return Ok(self.acquire_naive(budget, priority));
        }
        let mut restored = false;
        loop {
            let (granted, wait_ms, reason, member, now_ms, score) =
                self.run_acquire(budget, priority, now).await?;
            if granted == 1 {
                if budget.durable() {
                    durable::record_grant(
                        &self.pool,
                        &budget.id,
                        &member,
                        now_ms,
                        score,
                        budget.cost,
                    )
                    .await?;
                }
                metrics::counter!(crate::metric_families::LIMITER_GRANTS, "provider" => provider.as_str(), "priority" => priority.as_str())
                    .increment(1);
                return Ok(Decision::Granted(Grant { provider, member }));
            }
            let reason = match reason {
                1 => WaitReason::Cooldown,
                2 => WaitReason::CircuitOpen,
                4 => WaitReason::QuotaExhausted,
                5 if !restored => {
                    self.restore(budget, now_ms).await?;
                    restored = true;
                    continue;
                }
                5 | 6 => WaitReason::Recovering,
                _ => WaitReason::WindowFull,
            };
            metrics::counter!(crate::metric_families::LIMITER_WAITS, "provider" => provider.as_str(), "priority" => priority.as_str())
                .increment(1);
            return Ok(Decision::Wait {
                wait: Duration::from_millis(wait_ms.max(1) as u64),
                reason,
            });
        }
    }

    async fn run_acquire(
        &self,
        budget: &ProviderBudget,
        priority: Priority,
        now: Option<DateTime<Utc>>,
    ) -> Result<(i64, i64, i64, String, i64, i64), LimiterError> {
        let keys = Keys::of(budget);
        let (quota_limit, bounds) = match budget.daily_quota {
            Some((calls, tz)) => (calls, midnights(now.unwrap_or_else(Utc::now), tz)),
            None => (0, [0; 4]),
        };
        let mut invocation = self.acquire.prepare_invoke();
        invocation
            .key(&keys.log)
            .key(&keys.in_flight)
            .key(&keys.state)
            .key(&keys.declarations)
            .arg(budget.limit.calls)
            .arg(budget.limit.window_ms())
            .arg(ms(budget.margin))
            .arg(budget.cost)
            .arg(budget.reserve)
            .arg(u8::from(priority == Priority::Background))
            .arg(quota_limit);
        for bound in bounds {
            invocation.arg(bound);
        }
        invocation
            .arg(now.map_or(0, |t| t.timestamp_millis()))
            .arg(u8::from(budget.adaptive))
            .arg(ms(self.probe_timeout))
            .arg(ms(self.unreported(budget)))
            .arg(budget.declaration())
            .arg(ms(STATE_TTL))
            .arg(ms(DECLARATION_TTL));
        Ok(self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?)
    }

    /// Rebuilds a budget's missing Redis state from Postgres (see restore.lua).
    async fn restore(&self, budget: &ProviderBudget, now_ms: i64) -> Result<(), LimiterError> {
        let keys = Keys::of(budget);
        let window_ms = i64::try_from(budget.limit.window_ms()).unwrap_or(i64::MAX);
        let held_ms = i64::try_from(ms(self.unreported(budget) + budget.margin)).unwrap_or(0);
        let now = from_ms(now_ms).unwrap_or_else(Utc::now);
        let period_ms = budget.daily_quota.map_or(0, |(_, tz)| {
            calendar::period_start(now, tz).timestamp_millis()
        });
        let since_ms = now_ms - window_ms;
        let (restore, kept) = durable::Restore::begin(
            &self.pool,
            &budget.id,
            budget.durable(),
            since_ms,
            period_ms,
        )
        .await?;
        // A lost log is waited out, as if every slot had been taken at this instant by a
        // call never reported; unless the budget was never used, or its grants were kept.
        let locked_until = if kept.initialized && !budget.durable() {
            now_ms + window_ms + held_ms
        } else {
            0
        };
        let mut invocation = self.restore.prepare_invoke();
        invocation
            .key(&keys.log)
            .key(&keys.in_flight)
            .key(&keys.state)
            .arg(now_ms)
            .arg(locked_until)
            .arg(kept.cooldown_until_ms)
            .arg(kept.adaptive_limit.unwrap_or(-1.0))
            .arg(period_ms)
            .arg(kept.quota_used)
            .arg(ms(STATE_TTL))
            .arg(window_ms);
        for (member, score) in &kept.entries {
            invocation.arg(member).arg(score);
        }
        let rebuilt: i64 = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        restore.finish().await?;
        if rebuilt == 1 {
            if kept.initialized {
                tracing::warn!(
                    provider = %budget.provider,
                    budget = %budget.id,
                    cooldown_until = ?from_ms(kept.cooldown_until_ms).filter(|_| kept.cooldown_until_ms > now_ms),
                    quota_used = kept.quota_used,
                    recovering_until = ?from_ms(locked_until).filter(|_| locked_until > 0),
                    "Redis lost this budget's state; rebuilt it from Postgres"
                );
                metrics::counter!(crate::metric_families::LIMITER_STATE_LOST, "provider" => budget.provider.as_str())
                    .increment(1);
            } else {
                tracing::info!(provider = %budget.provider, budget = %budget.id, "budget used for the first time");
            }
        }
        Ok(())
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
            Ok(()) => Decision::Granted(Grant {
                provider: budget.provider,
                member: String::new(),
            }),
            Err(wait) => Decision::Wait {
                wait,
                reason: WaitReason::WindowFull,
            },
        }
    }

    /// Records how a granted call went: when its slot leaves the window, breaker, cooldown,
    /// adaptive limit. Every grant is reported once, whatever happened.
    pub async fn report(&self, grant: &Grant, outcome: Outcome) -> Result<(), LimiterError> {
        self.report_at(grant, outcome, None).await
    }

    /// [`RateLimiter::report`] at a given instant (tests).
    pub async fn report_at(
        &self,
        grant: &Grant,
        outcome: Outcome,
        now: Option<DateTime<Utc>>,
    ) -> Result<(), LimiterError> {
        if self.mode == LimiterMode::Naive {
            return Ok(());
        }
        let budget = self.budget_of(grant.provider)?;
        let keys = Keys::of(budget);
        let (kind, wait_ms) = match outcome {
            Outcome::Ok => ("ok", 0),
            Outcome::Rejected => ("rejected", 0),
            Outcome::Transient => ("transient", 0),
            Outcome::Throttled { retry_after } => ("throttled", ms(retry_after)),
            Outcome::QuotaExhausted { until } => (
                "quota",
                (until - now.unwrap_or_else(Utc::now))
                    .num_milliseconds()
                    .max(1) as u64,
            ),
        };
        let answered = self.accounting == Accounting::Response && outcome != Outcome::Transient;
        let mut invocation = self.report.prepare_invoke();
        invocation
            .key(&keys.log)
            .key(&keys.in_flight)
            .key(&keys.state)
            .arg(kind)
            .arg(wait_ms)
            .arg(budget.breaker_failures)
            .arg(ms(budget.breaker_cooloff))
            .arg(budget.limit.calls)
            .arg(u8::from(budget.adaptive))
            .arg(now.map_or(0, |t| t.timestamp_millis()))
            .arg(&grant.member)
            .arg(budget.cost)
            .arg(ms(budget.margin))
            .arg(u8::from(answered))
            .arg(ms(STATE_TTL));
        let (_kept, cool_until, adapted): (i64, i64, f64) = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        if cool_until > 0 {
            durable::record_cooldown(
                &self.pool,
                &budget.id,
                cool_until,
                (adapted >= 1.0).then_some(adapted),
            )
            .await?;
        }
        Ok(())
    }

    /// The state of one provider's budget and circuit.
    pub async fn status(&self, provider: ProviderName) -> Result<ProviderStatus, LimiterError> {
        let budget = self.budget_of(provider)?;
        let keys = Keys::of(budget);
        let window_ms = i64::try_from(budget.limit.window_ms()).unwrap_or(i64::MAX);
        let (now_ms, calls, in_flight, state): (i64, u32, u32, HashMap<String, String>) = self
            .redis
            .run(|mut c| async move {
                let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut c).await?;
                let now_ms = secs * 1000 + micros / 1000;
                let calls: u32 = redis::cmd("ZCOUNT")
                    .arg(&keys.log)
                    .arg(now_ms - window_ms)
                    .arg("+inf")
                    .query_async(&mut c)
                    .await?;
                let in_flight: u32 = redis::cmd("ZCARD")
                    .arg(&keys.in_flight)
                    .query_async(&mut c)
                    .await?;
                let state: HashMap<String, String> = redis::cmd("HGETALL")
                    .arg(&keys.state)
                    .query_async(&mut c)
                    .await?;
                Ok((now_ms, calls, in_flight, state))
            })
            .await?;
        let declared_limits = self
            .declarations(budget)
            .await?
            .into_iter()
            .map(|d| {
                crate::domain::RateLimit::parse(&format!("{d}ms")).map_or(d, |l| l.to_string())
            })
            .collect();
        let now = from_ms(now_ms).unwrap_or_else(Utc::now);
        let field = |name: &str| state.get(name).and_then(|v| v.parse::<f64>().ok());
        let future = |name: &str| {
            field(name)
                .map(|v| v as i64)
                .filter(|t| *t > now_ms)
                .and_then(from_ms)
        };
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
        let quota = budget.daily_quota.map(|(limit, tz)| {
            let period = calendar::period_start(now, tz).timestamp_millis();
            let used = if field("quota_period").map(|p| p as i64) == Some(period) {
                field("quota_used").map_or(0, |u| u as u32)
            } else {
                0
            };
            QuotaStatus {
                limit,
                used,
                left: limit.saturating_sub(used),
                resets_at: calendar::next_reset(now, tz),
            }
        });
        Ok(ProviderStatus {
            provider,
            budget: budget.id.clone(),
            declared_limits,
            limit: budget.limit.to_string(),
            effective_limit,
            calls_in_window: calls,
            calls_in_flight: in_flight,
            recovering_until: future("locked_until"),
            reserved_for_interactive: budget.reserve,
            cooldown_until: future("cooldown_until"),
            quota,
            circuit,
            circuit_open_until: (circuit == CircuitState::Open)
                .then(|| from_ms(open_until))
                .flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_given_four_consecutive_local_midnights_around_the_process_clock() {
        let la = chrono_tz::America::Los_Angeles;
        // 17:00 on 7 Mar 2026 in Los Angeles; clocks spring forward the next night.
        let now = Utc
            .with_ymd_and_hms(2026, 3, 8, 1, 0, 0)
            .single()
            .expect("instant");
        let [yesterday, today, tomorrow, after] = midnights(now, la);
        let utc = |ms| from_ms(ms).expect("instant").to_rfc3339();
        assert_eq!(utc(yesterday), "2026-03-06T08:00:00+00:00");
        assert_eq!(utc(today), "2026-03-07T08:00:00+00:00");
        assert_eq!(utc(tomorrow), "2026-03-08T08:00:00+00:00");
        // 8 Mar is 23 hours long.
        assert_eq!(utc(after), "2026-03-09T07:00:00+00:00");
        // Redis time a little past the process's midnight still picks the right day: the
        // script takes whichever of these periods holds it.
        assert!(
            yesterday < today
                && today <= now.timestamp_millis()
                && now.timestamp_millis() < tomorrow
        );
    }
}
