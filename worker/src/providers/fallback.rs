//! Budget-aware fallback: ask each provider in order until one has results.
//!
//! Before each call the provider's shared budget is asked for a grant ([`budgeted_call`]). A provider without
//! budget right now (window full, cooling down after a 429, circuit open, quota spent) is
//! skipped at once for the next one: the user is waiting. Only when every remaining provider is
//! out of budget does the job wait: in place when the earliest token frees within
//! [`MAX_WAIT_IN_PLACE`], otherwise the caller sends it through a delay queue for exactly that
//! long. Waiting for budget is not an attempt; every real call is, and its outcome feeds the
//! shared limiter (cooldown, circuit breaker, adaptive limit).
//!
//! A search that already holds an answer — a provider said "no results" — waits for the rest
//! only up to `answered_wait` after that answer: the providers still without budget then are
//! skipped, each recorded as a `rate_limited` attempt saying so, and the search finishes with
//! what it has instead of keeping the user waiting for a budget that may free in an hour.

use std::{collections::HashSet, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use muze_shared::{
    domain::{Attempt, AttemptOutcome, ProviderName, ProviderTrack},
    rate_limit::{Priority, RateLimiter},
};

use tokio_util::sync::CancellationToken;

use super::{budgeted_call, Budgeted, Provider, ProviderError};

/// Waits for budget up to this long happen inside the job; longer ones go through the queue.
pub const MAX_WAIT_IN_PLACE: Duration = Duration::from_secs(1);
/// After this many waits in place the job yields its slot and waits in the queue: under heavy
/// contention many jobs wake for each freed token and only one gets it.
const MAX_ROUNDS_IN_PLACE: u32 = 3;

/// What walking the providers produced.
#[derive(Debug, Default)]
pub struct FallbackResult {
    /// The first provider with results, and the results.
    pub answer: Option<(ProviderName, Vec<ProviderTrack>)>,
    /// One entry per call made, in order.
    pub attempts: Vec<Attempt>,
    /// The first provider that answered "no results".
    pub empty_from: Option<ProviderName>,
    /// A provider failed in a way that may pass by itself (timeout, 5xx, connection).
    pub transient: bool,
    /// Some provider could not be called for lack of budget, or said 429: when budget frees.
    pub budget_wait: Option<Duration>,
    /// Providers given up on for lack of budget because the search already held an answer.
    pub skipped: Vec<ProviderName>,
    /// The walk stopped because the job's lease was lost: another worker has it now.
    pub lease_lost: bool,
}

/// How long the walk may wait for budget.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// The search's deadline: nothing is called or waited for past it.
    pub deadline: DateTime<Utc>,
    /// Once an answer is held, how much longer the walk waits for another provider's budget.
    pub answered_wait: Duration,
}

/// Walks `providers` in order under the shared budget, until `lease_lost` is cancelled: no
/// call is made, and no wait for budget continues, once it is.
pub async fn search(
    providers: &[Arc<dyn Provider>],
    limiter: &RateLimiter,
    priority: Priority,
    query: &str,
    limit: u8,
    waits: Waits,
    lease_lost: &CancellationToken,
) -> FallbackResult {
    let deadline = waits.deadline;
    let mut result = FallbackResult::default();
    // Providers already called in this job are not called again.
    let mut called: HashSet<ProviderName> = HashSet::new();
    // When the first answer (an empty one) arrived: the bound on waiting counts from there.
    let mut answered_at: Option<tokio::time::Instant> = None;
    let mut rounds = 0;
    loop {
        let mut soonest: Option<Duration> = None;
        // Providers not called in this round for lack of budget (or throttled by themselves).
        let mut waiting_for: Vec<(ProviderName, Duration)> = Vec::new();
        for provider in providers {
            let name = provider.name();
            if called.contains(&name) {
                continue;
            }
            if Utc::now() >= deadline {
                return result;
            }
            if lease_lost.is_cancelled() {
                result.lease_lost = true;
                return result;
            }
            let at = Utc::now();
            let outcome = match budgeted_call(provider.as_ref(), limiter, priority, || {
                provider.search(query, limit)
            })
            .await
            {
                Budgeted::Called(outcome) => outcome,
                Budgeted::NoBudget { wait, .. } => {
                    soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                    waiting_for.push((name, wait));
                    continue;
                }
                Budgeted::Unprepared(error) => {
                    // Nothing was sent; the attempt shows why the provider could not be asked.
                    tracing::info!(provider = %name, error = %error, "provider could not get ready; falling back");
                    called.insert(name);
                    result.transient |=
                        matches!(error, ProviderError::Timeout | ProviderError::Transient(_));
                    result.attempts.push(attempt(
                        name,
                        error.outcome(),
                        at,
                        Some(error.to_string()),
                    ));
                    continue;
                }
            };
            called.insert(name);
            match record(name, outcome, at, &mut result) {
                Called::Answered => return result,
                Called::NotAnswered => {}
                Called::Throttled(wait) => {
                    // Throttled by the provider itself: it may take calls again after the
                    // cooldown, so the job waits for it like for any provider without budget.
                    called.remove(&name);
                    soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                    waiting_for.push((name, wait));
                }
            }
            if result.empty_from.is_some() && answered_at.is_none() {
                answered_at = Some(tokio::time::Instant::now());
            }
        }
        let Some(wait) = soonest else {
            return result;
        };
        let budget_free_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        rounds += 1;
        if let Some(since) = answered_at {
            // An answer is in hand: wait only while the bound allows, then finish with it.
            let left = waits.answered_wait.saturating_sub(since.elapsed());
            if wait > left || budget_free_at >= deadline || rounds > MAX_ROUNDS_IN_PLACE {
                skip(&mut result, waiting_for);
                return result;
            }
            if !sleep_unless(wait, lease_lost).await {
                result.lease_lost = true;
                return result;
            }
            continue;
        }
        if wait > MAX_WAIT_IN_PLACE || budget_free_at >= deadline || rounds > MAX_ROUNDS_IN_PLACE {
            result.budget_wait = Some(wait);
            return result;
        }
        if !sleep_unless(wait, lease_lost).await {
            result.lease_lost = true;
            return result;
        }
    }
}

/// Sleeps for `wait`; `false` if `stop` was cancelled first.
async fn sleep_unless(wait: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        () = stop.cancelled() => false,
    }
}

/// Gives up on `providers`, each without budget for its wait: each becomes a `rate_limited`
/// attempt saying it was skipped, and the search keeps the answer it holds.
fn skip(result: &mut FallbackResult, providers: Vec<(ProviderName, Duration)>) {
    let at = Utc::now();
    for (name, wait) in providers {
        tracing::info!(provider = %name, wait_ms = wait.as_millis() as u64, "no budget; finishing with the answer in hand");
        result.attempts.push(attempt(
            name,
            AttemptOutcome::RateLimited,
            at,
            Some(format!(
                "skipped: no budget for {:.1} s, and the search already had an answer",
                wait.as_secs_f64()
            )),
        ));
        result.skipped.push(name);
    }
}

/// How one call went, for the walk over the providers.
#[derive(Debug)]
enum Called {
    /// It produced the answer.
    Answered,
    /// No answer (empty, failed).
    NotAnswered,
    /// The provider said 429 or quota exhausted: no answer, and no calls for this long.
    Throttled(Duration),
}

/// Records one call's outcome as an attempt (and a metric).
fn record(
    name: ProviderName,
    outcome: Result<Vec<ProviderTrack>, ProviderError>,
    at: DateTime<Utc>,
    result: &mut FallbackResult,
) -> Called {
    let label = match &outcome {
        Ok(t) if t.is_empty() => "empty",
        Ok(_) => "ok",
        Err(e) => match e.outcome() {
            AttemptOutcome::RateLimited => "rate_limited",
            AttemptOutcome::Timeout => "timeout",
            _ => "error",
        },
    };
    metrics::counter!(muze_shared::metric_families::PROVIDER_CALLS, "provider" => name.as_str(), "outcome" => label)
        .increment(1);
    match outcome {
        Ok(tracks) if !tracks.is_empty() => {
            result
                .attempts
                .push(attempt(name, AttemptOutcome::Ok, at, None));
            result.answer = Some((name, tracks));
            Called::Answered
        }
        Ok(_) => {
            result
                .attempts
                .push(attempt(name, AttemptOutcome::Empty, at, None));
            result.empty_from.get_or_insert(name);
            Called::NotAnswered
        }
        Err(error) => {
            tracing::info!(provider = %name, error = %error, "provider failed; falling back");
            let called = match (&error, error.throttled_for()) {
                (_, Some(wait)) => Called::Throttled(wait),
                (ProviderError::Timeout | ProviderError::Transient(_), None) => {
                    result.transient = true;
                    Called::NotAnswered
                }
                _ => Called::NotAnswered,
            };
            result
                .attempts
                .push(attempt(name, error.outcome(), at, Some(error.to_string())));
            called
        }
    }
}

fn attempt(
    provider: ProviderName,
    outcome: AttemptOutcome,
    at: DateTime<Utc>,
    detail: Option<String>,
) -> Attempt {
    Attempt {
        provider,
        outcome,
        at,
        detail,
    }
}
