//! One search job: claim it in Postgres, walk the providers, store the answer.
//!
//! The row decides, not the message: a job already final is acknowledged untouched, one held
//! by a live worker waits for that worker's lease, and the answer is written (tracks, results,
//! status, notification) in one transaction before the message is acked.

use std::sync::Arc;

use chrono::Utc;
use muze_shared::{
    db::searches::{self, Claim},
    domain::SearchError,
    queue::{Broker, SearchMessage},
    rate_limit::{Priority, RateLimiter},
};
use sqlx::PgPool;

use lapin::message::Delivery;

use crate::{
    job_error::{settle, JobError},
    providers::{fallback, Provider},
};

/// What a job needs from its process.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The source of truth.
    pub pool: PgPool,
    /// For retries and parking.
    pub broker: Arc<Broker>,
    /// Interactive fallback order.
    pub providers: Arc<Vec<Arc<dyn Provider>>>,
    /// The fleet-wide provider budgets.
    pub limiter: Arc<RateLimiter>,
    /// How long a claim holds.
    pub lease_secs: u64,
    /// Where finished searches are announced.
    pub done_channel: String,
    /// How long a search holding an answer may still wait for another provider's budget.
    pub answered_wait: std::time::Duration,
}

/// Handles one delivery of the search queue: reads it, runs the job, settles the delivery.
pub async fn handle(ctx: JobContext, delivery: Delivery) {
    let message = SearchMessage::from_json(&delivery.data);
    let result = match &message {
        Ok(m) => run(&ctx, m).await,
        Err(e) => Err(JobError::Poison(format!("unreadable message: {e}"))),
    };
    settle(&ctx, &delivery, message.as_ref().ok(), result).await;
}

/// Runs one search job to completion, or says why it could not complete now.
#[tracing::instrument(skip_all, fields(job.id = %message.search_id, job.retries = message.retries))]
pub async fn run(ctx: &JobContext, message: &SearchMessage) -> Result<(), JobError> {
    let store = |e: sqlx::Error| JobError::Transient {
        reason: format!("database: {e}"),
        attempts: Vec::new(),
        empty_from: None,
    };
    let job = match searches::claim(&ctx.pool, message.search_id, ctx.lease_secs)
        .await
        .map_err(store)?
    {
        Claim::Claimed(job) => job,
        Claim::Final => {
            tracing::debug!("already final; redelivery ignored");
            return Ok(());
        }
        Claim::Leased { until } => return Err(JobError::Busy { until }),
        Claim::Missing => return Err(JobError::Poison("no search with this id".into())),
    };
    if Utc::now() >= job.deadline_at {
        return Err(JobError::DeadlineExceeded {
            attempts: Vec::new(),
        });
    }
    let limit = message.limit.get();
    let found = fallback::search(
        &ctx.providers,
        &ctx.limiter,
        Priority::Interactive,
        message.query.as_str(),
        limit,
        fallback::Waits {
            deadline: job.deadline_at,
            answered_wait: ctx.answered_wait,
        },
    )
    .await;
    if let Some((provider, mut tracks)) = found.answer {
        tracks.truncate(usize::from(limit));
        let finish = searches::succeed(
            &ctx.pool,
            &ctx.done_channel,
            job.id,
            provider.as_str(),
            &found.attempts,
            &tracks,
        )
        .await
        .map_err(|e| JobError::Transient {
            reason: format!("storing the answer: {e}"),
            attempts: found.attempts.clone(),
            empty_from: None,
        })?;
        tracing::info!(source = %provider, results = tracks.len(), ?finish, "search answered");
        metrics::counter!(muze_shared::metric_families::SEARCHES_FINISHED, "status" => "succeeded", "source" => provider.as_str())
            .increment(1);
        return Ok(());
    }
    if message.refresh {
        // A refresh keeps the stale answer rather than wait, retry or store an empty one.
        searches::fail(
            &ctx.pool,
            &ctx.done_channel,
            job.id,
            &found.attempts,
            &SearchError {
                code: "refresh_skipped".into(),
                message: "No provider could refresh the stored answer now; it stays in use.".into(),
            },
        )
        .await
        .map_err(store)?;
        return Ok(());
    }
    if Utc::now() >= job.deadline_at {
        return Err(JobError::DeadlineExceeded {
            attempts: found.attempts,
        });
    }
    if found.transient {
        return Err(JobError::Transient {
            reason: "a provider failed transiently".into(),
            attempts: found.attempts,
            empty_from: found.empty_from,
        });
    }
    if let Some(wait) = found.budget_wait {
        let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        return Err(JobError::Throttled {
            until,
            attempts: found.attempts,
        });
    }
    if let Some(provider) = found.empty_from {
        searches::succeed(
            &ctx.pool,
            &ctx.done_channel,
            job.id,
            provider.as_str(),
            &found.attempts,
            &[],
        )
        .await
        .map_err(store)?;
        tracing::info!(source = %provider, skipped = ?found.skipped, "search answered with no results");
        return Ok(());
    }
    Err(JobError::Exhausted {
        attempts: found.attempts,
    })
}
