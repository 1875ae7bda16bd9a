//! One provider call under the shared budget, for searches and crawl pages alike: get ready
//! (a token), take a grant, call, report how it went. Nothing is sent without a grant, and
//! every grant is reported, so its slot leaves the window one window after the response.
//! Every call's latency and every refusal for the provider's limit are counted here.

use std::{future::Future, time::Duration};

use muze_shared::{
    metric_families,
    rate_limit::{Decision, Outcome, Priority, RateLimiter, WaitReason},
    stage::{self, Stage},
};

use super::{Provider, ProviderError};

/// How long to wait when the limiter itself cannot be reached (or cannot keep its record).
pub const LIMITER_DOWN_WAIT: Duration = Duration::from_secs(1);

/// What became of one budgeted call.
#[derive(Debug)]
pub enum Budgeted<T> {
    /// The call was made (and reported); its result.
    Called(Result<T, ProviderError>),
    /// No budget now: ask again after `wait`. `reason` is `None` when the limiter could not
    /// be reached.
    NoBudget {
        wait: Duration,
        reason: Option<WaitReason>,
    },
    /// The provider could not get ready (its token endpoint failed); nothing was spent.
    Unprepared(ProviderError),
}

/// Gets `provider` ready, takes a grant for it and makes `call`. A token the provider refuses
/// is refreshed and the call sent once more, under a grant of its own.
pub async fn budgeted_call<T, F, Fut>(
    provider: &dyn Provider,
    limiter: &RateLimiter,
    priority: Priority,
    call: F,
) -> Budgeted<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let name = provider.name();
    let mut resent = false;
    loop {
        if let Err(e) = provider.prepare().await {
            return Budgeted::Unprepared(e);
        }
        let grant = match limiter.acquire(name, priority).await {
            Ok(Decision::Granted(grant)) => grant,
            Ok(Decision::Wait { wait, reason }) => {
                tracing::debug!(provider = %name, ?reason, wait.ms = wait.as_millis() as u64, "no budget");
                return Budgeted::NoBudget {
                    wait,
                    reason: Some(reason),
                };
            }
            Err(e) => {
                tracing::warn!(provider = %name, error = %e, "limiter unavailable; not calling the provider");
                return Budgeted::NoBudget {
                    wait: LIMITER_DOWN_WAIT,
                    reason: None,
                };
            }
        };
        stage::mark(Stage::Granted, None);
        let started = std::time::Instant::now();
        let result = call().await;
        stage::mark(Stage::Called, None);
        metrics::histogram!(metric_families::PROVIDER_CALL_DURATION, "provider" => name.as_str(), "priority" => priority.as_str())
            .record(started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => e.limiter_outcome(),
        };
        let refused = match outcome {
            Outcome::Throttled { .. } => Some("rate_limited"),
            Outcome::QuotaExhausted { .. } => Some("quota_exhausted"),
            _ => None,
        };
        if let Some(reason) = refused {
            metrics::counter!(metric_families::PROVIDER_THROTTLED, "provider" => name.as_str(), "reason" => reason)
                .increment(1);
        }
        if let Err(e) = limiter.report(&grant, outcome).await {
            // The slot stays held until the call's timeout has passed: safe, only slower.
            tracing::warn!(provider = %name, error = %e, "could not report the call's outcome");
        }
        stage::mark(Stage::Reported, None);
        if matches!(result, Err(ProviderError::Unauthorized)) && !resent {
            tracing::info!(provider = %name, "token refused; sending once more with a fresh one");
            resent = true;
            continue;
        }
        return Budgeted::Called(result);
    }
}
