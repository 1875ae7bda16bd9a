//! The fleet's gauges: queue depths per kind of job, every provider budget (calls in window,
//! limit, cooldown, breaker, quota) and the pages of running crawls. They describe the
//! deployment, not this process, so they are read from RabbitMQ, Redis and Postgres on a short
//! interval (`MUZE__API__FLEET_SAMPLE_MS`) by a task of the API and set on its `/metrics`:
//! a scrape never waits on those reads, and however often Prometheus scrapes, each API
//! process makes the same handful of reads per interval. Why the API: see
//! `docs/DESIGN-NOTES.md` ("Fleet gauges").

use std::time::Duration;

use chrono::Utc;
use muze_shared::{
    db::crawls,
    domain::ProviderName,
    metric_families as m,
    queue::JobQueues,
    rate_limit::{CircuitState, LimiterError, ProviderStatus},
};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// The crawl page states, each exported (0 when no running crawl has such a page).
const PAGE_STATES: [&str; 4] = ["pending", "running", "done", "failed"];

/// Samples every `interval` until `stop` is cancelled; the first sample is taken at once.
pub async fn run(state: AppState, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => sample(&state).await,
        }
    }
}

/// One sample of every fleet gauge. A source that cannot be read leaves its gauges at their
/// last value and is counted in `muze_fleet_sample_failures_total` (and logged at debug: the
/// readiness probe is where an unreachable dependency is reported).
pub async fn sample(state: &AppState) {
    let topology = state.broker.topology();
    for (kind, queues) in [("search", &topology.search), ("crawl", &topology.crawl)] {
        sample_queues(state, kind, queues).await;
    }
    for provider in ProviderName::ALL {
        match state.limiter.status(provider).await {
            Ok(status) => set_budget(&status),
            // Not configured on this deployment: nothing to show.
            Err(LimiterError::UnknownProvider(_)) => {}
            Err(e) => {
                failed("redis", &e);
                break;
            }
        }
    }
    match crawls::running_crawl_pages(&state.pool).await {
        Ok(counts) => {
            for page_state in PAGE_STATES {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == page_state)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!(m::CRAWL_PAGES, "state" => page_state).set(n as f64);
            }
        }
        Err(e) => failed("postgres", &e),
    }
}

async fn sample_queues(state: &AppState, kind: &'static str, queues: &JobQueues) {
    match state.broker.queue_depths(queues).await {
        Ok(depths) => {
            for (queue_state, n) in [
                ("ready", depths.ready),
                ("delayed", depths.delayed),
                ("parked", depths.parked),
            ] {
                metrics::gauge!(m::QUEUE_MESSAGES, "kind" => kind, "state" => queue_state)
                    .set(n as f64);
            }
            metrics::gauge!(m::QUEUE_CONSUMERS, "kind" => kind).set(depths.consumers as f64);
        }
        Err(e) => failed("rabbitmq", &e),
    }
}

fn set_budget(status: &ProviderStatus) {
    let provider = status.provider.as_str();
    let now = Utc::now();
    metrics::gauge!(m::BUDGET_CALLS_IN_WINDOW, "provider" => provider)
        .set(f64::from(status.calls_in_window));
    metrics::gauge!(m::BUDGET_CALLS_IN_FLIGHT, "provider" => provider)
        .set(f64::from(status.calls_in_flight));
    metrics::gauge!(m::BUDGET_LIMIT, "provider" => provider).set(f64::from(status.effective_limit));
    metrics::gauge!(m::BUDGET_RESERVED, "provider" => provider)
        .set(f64::from(status.reserved_for_interactive));
    let cooldown = status
        .cooldown_until
        .and_then(|until| (until - now).to_std().ok())
        .unwrap_or_default();
    metrics::gauge!(m::BUDGET_COOLDOWN, "provider" => provider).set(cooldown.as_secs_f64());
    for (name, state) in [
        ("closed", CircuitState::Closed),
        ("open", CircuitState::Open),
        ("half_open", CircuitState::HalfOpen),
    ] {
        let current = if status.circuit == state { 1.0 } else { 0.0 };
        metrics::gauge!(m::BUDGET_BREAKER, "provider" => provider, "state" => name).set(current);
    }
    if let Some(quota) = &status.quota {
        metrics::gauge!(m::BUDGET_QUOTA_LEFT, "provider" => provider).set(f64::from(quota.left));
        metrics::gauge!(m::BUDGET_QUOTA_LIMIT, "provider" => provider).set(f64::from(quota.limit));
    }
}

fn failed(source: &'static str, error: &dyn std::fmt::Display) {
    tracing::debug!(source, error = %error, "could not sample the fleet gauges");
    metrics::counter!(m::FLEET_SAMPLE_FAILURES, "source" => source).increment(1);
}
