//! Why a job did not finish on this delivery, and the one place that turns that into broker
//! actions: ack, delayed retry, or park.
//!
//! - Throttled (no budget, 429): not a failure; wait in a delay queue and come back, without
//!   using up a retry.
//! - Transient (timeouts, 5xx, a database hiccup): retry with backoff through delay queues,
//!   at most [`MAX_TRANSIENT_RETRIES`] times and never past the deadline.
//! - Exhausted / deadline: final failure written to Postgres, message acked.
//! - Poison (unreadable message, unknown job): parked with the reason, for an operator.
//!
//! Every retry publishes the next message (confirmed) before acking the current one, so a crash
//! in between duplicates a message (harmless: jobs are idempotent) and never loses one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use muze_shared::{
    db::searches,
    domain::{Attempt, ProviderName, SearchError},
    queue::SearchMessage,
};

use crate::{
    delivery::{self, finish},
    search_job::JobContext,
};

/// Transient-failure retries of one search before it fails for good.
pub const MAX_TRANSIENT_RETRIES: u32 = 3;

/// Why a job did not complete on this delivery.
#[derive(Debug)]
pub enum JobError {
    /// Every provider with a chance was throttled; try again at `until`.
    Throttled {
        until: DateTime<Utc>,
        attempts: Vec<Attempt>,
    },
    /// Something may pass by itself; retry with backoff.
    Transient {
        reason: String,
        attempts: Vec<Attempt>,
        /// A provider that answered "no results", to report if retries run out.
        empty_from: Option<ProviderName>,
    },
    /// No provider can answer (all failed permanently, or none is enabled).
    Exhausted { attempts: Vec<Attempt> },
    /// The deadline passed before an answer.
    DeadlineExceeded { attempts: Vec<Attempt> },
    /// Another worker holds the job until `until` (a duplicate message).
    Busy { until: DateTime<Utc> },
    /// The message cannot be processed at all.
    Poison(String),
}

/// Backoff before transient retry number `retries` (0-based).
fn backoff(retries: u32) -> Duration {
    Duration::from_millis(match retries {
        0 => 1_000,
        1 => 2_000,
        _ => 5_000,
    })
}

fn until_now(t: DateTime<Utc>) -> Duration {
    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

fn upstream_unavailable() -> SearchError {
    SearchError {
        code: "upstream_unavailable".into(),
        message: "No music provider could answer the search.".into(),
    }
}

fn deadline_exceeded() -> SearchError {
    SearchError {
        code: "deadline_exceeded".into(),
        message: "The search was not answered before its deadline.".into(),
    }
}

/// Settles one delivery according to how its job went. This is the only function that acks,
/// retries or parks.
pub async fn settle(
    ctx: &JobContext,
    delivery: &Delivery,
    message: Option<&SearchMessage>,
    result: Result<(), JobError>,
) {
    let settled = match (result, message) {
        (Ok(()), _) => Ok(()),
        (Err(JobError::Poison(reason)), _) => park(ctx, delivery, &reason).await,
        (Err(error), Some(message)) => decide(ctx, message, error).await,
        (Err(error), None) => park(ctx, delivery, &format!("{error:?}")).await,
    };
    finish(delivery, settled).await;
}

async fn decide(ctx: &JobContext, message: &SearchMessage, error: JobError) -> anyhow::Result<()> {
    let id = message.search_id;
    match error {
        JobError::Throttled { until, attempts } => {
            if until >= message.deadline_at {
                finish_failed(ctx, id, &attempts, deadline_exceeded()).await
            } else {
                retry_later(ctx, message.clone(), until_now(until), &attempts).await
            }
        }
        JobError::Busy { until } => {
            if until >= message.deadline_at {
                // The holder finishes it, or the sweeper fails it at the deadline.
                Ok(())
            } else {
                delay(ctx, message.clone(), until_now(until)).await
            }
        }
        JobError::Transient {
            reason,
            attempts,
            empty_from,
        } => {
            let wait = backoff(message.retries);
            let in_time = Utc::now() + wait < message.deadline_at;
            if message.retries < MAX_TRANSIENT_RETRIES && in_time {
                tracing::info!(reason = %reason, retry = message.retries + 1, "retrying later");
                let mut next = message.clone();
                next.retries += 1;
                retry_later(ctx, next, wait, &attempts).await
            } else if let Some(provider) = empty_from {
                // Some provider answered, with nothing: that is the answer we have.
                searches::succeed(
                    &ctx.pool,
                    &ctx.done_channel,
                    id,
                    provider.as_str(),
                    &attempts,
                    &[],
                )
                .await?;
                Ok(())
            } else {
                finish_failed(ctx, id, &attempts, upstream_unavailable()).await
            }
        }
        JobError::Exhausted { attempts } => {
            finish_failed(ctx, id, &attempts, upstream_unavailable()).await
        }
        JobError::DeadlineExceeded { attempts } => {
            finish_failed(ctx, id, &attempts, deadline_exceeded()).await
        }
        JobError::Poison(reason) => Err(anyhow::anyhow!("poison reached decide: {reason}")),
    }
}

async fn finish_failed(
    ctx: &JobContext,
    id: uuid::Uuid,
    attempts: &[Attempt],
    error: SearchError,
) -> anyhow::Result<()> {
    tracing::info!(error.code = %error.code, "search failed");
    metrics::counter!(muze_shared::metric_families::SEARCHES_FINISHED, "status" => "failed", "code" => error.code.clone())
        .increment(1);
    searches::fail(&ctx.pool, &ctx.done_channel, id, attempts, &error).await?;
    Ok(())
}

/// Publishes `message` to the delay queue that holds it for at least `wait`.
async fn delay(ctx: &JobContext, message: SearchMessage, wait: Duration) -> anyhow::Result<()> {
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let (queue, tier) = ctx.broker.topology().search.delay_for(wait_ms);
    ctx.broker
        .publish(
            &queue,
            &message.to_json(),
            &message.search_id.to_string(),
            &[],
        )
        .await?;
    tracing::debug!(delay.ms = tier, "job delayed");
    Ok(())
}

/// Delays the message and hands the job back to `queued`, keeping its attempts visible.
async fn retry_later(
    ctx: &JobContext,
    message: SearchMessage,
    wait: Duration,
    attempts: &[Attempt],
) -> anyhow::Result<()> {
    let id = message.search_id;
    delay(ctx, message, wait).await?;
    // The retry message is safe with the broker; if this update fails the job stays leased
    // and the retry simply waits for the lease to end.
    if let Err(e) = searches::requeue(&ctx.pool, id, attempts).await {
        tracing::warn!(error = %e, "could not hand the job back to queued");
    }
    Ok(())
}

/// Moves the message to the parking queue with its reason.
async fn park(ctx: &JobContext, delivery: &Delivery, reason: &str) -> anyhow::Result<()> {
    delivery::park(
        &ctx.broker,
        &ctx.broker.topology().search.parked,
        delivery,
        reason,
    )
    .await
}
