//! The search job: claim it in Postgres, walk the providers, store the answer.
//!
//! The row decides, not the message: a job already final is acknowledged untouched, one held
//! by a live worker waits for that worker's lease, and the answer is written (tracks, results,
//! status, notification) in one transaction before the message is acked.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use muze_shared::{
    db::searches::{self, Claim},
    domain::{Attempt, ProviderName, SearchError},
    metric_families,
    queue::{Broker, SearchMessage},
    rate_limit::{Priority, RateLimiter},
    stage::{self, Stage},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    providers::{fallback, Provider},
    runtime::{Failure, GiveUp, Job, JobError, Lease, RetryPolicy, Rounding},
};

/// Waits before transient retries 1, 2 and 3 of a search; then it fails for good.
const BACKOFF: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

/// How searches are retried.
pub const POLICY: RetryPolicy = RetryPolicy {
    backoff: &BACKOFF,
    rounding: Rounding::Up,
    outage_wait: Duration::from_secs(2),
    min_busy_wait: Duration::from_millis(250),
};

/// Transient-failure retries of one search before it fails for good.
pub const MAX_TRANSIENT_RETRIES: u32 = BACKOFF.len() as u32;

/// What a search job needs from its process.
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
    pub answered_wait: Duration,
}

/// The search job.
#[derive(Debug, Clone)]
pub struct SearchJob(pub JobContext);

/// What a try of a search leaves for its retry or its final state.
#[derive(Debug, Default)]
pub struct Tried {
    /// This worker claimed the row (so it may hand it back).
    claimed: bool,
    /// The calls made.
    attempts: Vec<Attempt>,
    /// A provider that answered "no results": the answer if nothing better comes.
    empty_from: Option<ProviderName>,
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

impl SearchJob {
    /// Runs the search on a claimed row, its lease kept alive meanwhile.
    async fn answer(&self, message: &SearchMessage, owner: Uuid) -> Result<(), Failure<Tried>> {
        let ctx = &self.0;
        let lease = Lease::keep(Duration::from_secs(ctx.lease_secs), {
            let (pool, id, secs) = (ctx.pool.clone(), message.search_id, ctx.lease_secs);
            move || {
                let pool = pool.clone();
                async move { searches::extend_lease(&pool, id, owner, secs).await }
            }
        });
        let limit = message.limit.get();
        let found = fallback::search(
            &ctx.providers,
            &ctx.limiter,
            Priority::Interactive,
            message.query.as_str(),
            limit,
            fallback::Waits {
                deadline: message.deadline_at,
                answered_wait: ctx.answered_wait,
            },
            lease.lost(),
        )
        .await;
        drop(lease);
        let tried = |error: JobError, found: &fallback::FallbackResult| Failure {
            error,
            carry: Tried {
                claimed: true,
                attempts: found.attempts.clone(),
                empty_from: found.empty_from,
            },
        };
        let id = message.search_id;
        if let Some((provider, tracks)) = &found.answer {
            let mut tracks = tracks.clone();
            tracks.truncate(usize::from(limit));
            let finish = searches::succeed(
                &ctx.pool,
                &ctx.done_channel,
                id,
                provider.as_str(),
                &found.attempts,
                &tracks,
            )
            .await
            .map_err(|e| tried(JobError::store("storing the answer", &e), &found))?;
            stage::mark(Stage::Committed, Some(id));
            tracing::info!(source = %provider, results = tracks.len(), ?finish, "search answered");
            metrics::counter!(metric_families::SEARCHES_FINISHED, "status" => "succeeded", "source" => provider.as_str())
                .increment(1);
            return Ok(());
        }
        if found.lease_lost {
            return Err(tried(JobError::LeaseLost, &found));
        }
        if message.refresh {
            // A refresh keeps the stale answer rather than wait, retry or store an empty one.
            let skipped = SearchError {
                code: "refresh_skipped".into(),
                message: "No provider could refresh the stored answer now; it stays in use.".into(),
            };
            searches::fail(&ctx.pool, &ctx.done_channel, id, &found.attempts, &skipped)
                .await
                .map_err(|e| tried(JobError::store("storing the refresh", &e), &found))?;
            return Ok(());
        }
        if found.transient {
            return Err(tried(
                JobError::Transient("a provider failed transiently".into()),
                &found,
            ));
        }
        if let Some(wait) = found.budget_wait {
            let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            return Err(tried(JobError::Throttled { until }, &found));
        }
        if let Some(provider) = found.empty_from {
            searches::succeed(
                &ctx.pool,
                &ctx.done_channel,
                id,
                provider.as_str(),
                &found.attempts,
                &[],
            )
            .await
            .map_err(|e| tried(JobError::store("storing the answer", &e), &found))?;
            tracing::info!(source = %provider, skipped = ?found.skipped, "search answered with no results");
            return Ok(());
        }
        Err(tried(
            JobError::Permanent("no provider could answer".into()),
            &found,
        ))
    }

    async fn fail(
        &self,
        message: &SearchMessage,
        attempts: &[Attempt],
        error: SearchError,
    ) -> Result<(), JobError> {
        tracing::info!(error.code = %error.code, "search failed");
        metrics::counter!(metric_families::SEARCHES_FINISHED, "status" => "failed", "code" => error.code.clone())
            .increment(1);
        searches::fail(
            &self.0.pool,
            &self.0.done_channel,
            message.search_id,
            attempts,
            &error,
        )
        .await
        .map_err(|e| JobError::store("storing the failure", &e))?;
        Ok(())
    }
}

#[async_trait]
impl Job for SearchJob {
    type Message = SearchMessage;
    type Carry = Tried;

    fn policy(&self) -> &RetryPolicy {
        &POLICY
    }

    fn retries(message: &SearchMessage) -> u32 {
        message.retries
    }

    fn with_retries(message: &SearchMessage, retries: u32) -> SearchMessage {
        SearchMessage {
            retries,
            ..message.clone()
        }
    }

    fn deadline(message: &SearchMessage) -> Option<DateTime<Utc>> {
        Some(message.deadline_at)
    }

    #[tracing::instrument(skip_all, fields(job.id = %message.search_id, job.retries = message.retries))]
    async fn run(&self, message: &SearchMessage) -> Result<(), Failure<Tried>> {
        let ctx = &self.0;
        stage::mark(Stage::Delivered, Some(message.search_id));
        let owner = match searches::claim(&ctx.pool, message.search_id, ctx.lease_secs)
            .await
            .map_err(|e| JobError::store("claiming the job", &e))?
        {
            Claim::Claimed(job) => {
                stage::mark(Stage::Claimed, Some(message.search_id));
                job.lease_owner
            }
            Claim::Final => {
                tracing::debug!("already final; redelivery ignored");
                return Ok(());
            }
            Claim::Leased { until } => return Err(JobError::Busy { until }.into()),
            Claim::Missing => return Err(JobError::Poison("no search with this id".into()).into()),
        };
        if Utc::now() >= message.deadline_at {
            return Err(Failure {
                error: JobError::Expired,
                carry: Tried {
                    claimed: true,
                    ..Tried::default()
                },
            });
        }
        self.answer(message, owner).await
    }

    async fn retrying(
        &self,
        message: &SearchMessage,
        tried: Tried,
        due: DateTime<Utc>,
    ) -> Result<(), JobError> {
        if !tried.claimed {
            // Another worker holds the row, or it was never reached: nothing to hand back.
            return Ok(());
        }
        searches::requeue(&self.0.pool, message.search_id, &tried.attempts, due)
            .await
            .map_err(|e| JobError::store("handing the job back", &e))
    }

    async fn give_up(
        &self,
        message: &SearchMessage,
        why: GiveUp,
        tried: Tried,
    ) -> Result<(), JobError> {
        match (why, tried.empty_from) {
            (GiveUp::Deadline, _) => {
                self.fail(message, &tried.attempts, deadline_exceeded())
                    .await
            }
            (GiveUp::Failed(_), Some(provider)) => {
                // Some provider answered, with nothing: that is the answer we have.
                searches::succeed(
                    &self.0.pool,
                    &self.0.done_channel,
                    message.search_id,
                    provider.as_str(),
                    &tried.attempts,
                    &[],
                )
                .await
                .map_err(|e| JobError::store("storing the answer", &e))?;
                Ok(())
            }
            (GiveUp::Failed(_), None) => {
                self.fail(message, &tried.attempts, upstream_unavailable())
                    .await
            }
        }
    }

    async fn parked(&self, message: &SearchMessage, reason: &str) -> Result<(), JobError> {
        // The row stays open: a re-drive before the deadline still answers it, and otherwise
        // the sweeper fails it with `deadline_exceeded`.
        tracing::warn!(job.id = %message.search_id, reason = %reason, "search parked");
        Ok(())
    }
}
