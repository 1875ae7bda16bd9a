//! The sweeper: repairs what crashes leave behind, so no job is lost in the gaps between
//! Postgres and RabbitMQ.
//!
//! - A job queued but never confirmed by the broker (the API died between commit and publish)
//!   is published again.
//! - A job running under an expired lease (its worker died) is set back to queued and published
//!   again.
//! - A job past its deadline that nobody holds fails with `deadline_exceeded`.
//!
//! Several workers may sweep at once: rows are taken with `FOR UPDATE SKIP LOCKED`, and a
//! duplicate message is harmless because jobs are idempotent.

use std::time::Duration;

use muze_shared::{
    db::searches,
    domain::{NormalizedQuery, Query, ResultLimit, SearchType},
    queue::SearchMessage,
};
use tokio_util::sync::CancellationToken;

use crate::search_job::JobContext;

/// A queued job unconfirmed for this long is assumed to have no message.
const UNPUBLISHED_AFTER_SECS: u64 = 10;

/// Sweeps every `interval` until `stop` is cancelled.
pub async fn run(ctx: JobContext, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {
                if let Err(e) = sweep(&ctx).await {
                    tracing::warn!(error = %e, "sweep failed; will try again");
                }
            }
        }
    }
}

/// One pass.
pub async fn sweep(ctx: &JobContext) -> anyhow::Result<()> {
    let expired = searches::expire_overdue(&ctx.pool, &ctx.done_channel).await?;
    if !expired.is_empty() {
        tracing::info!(count = expired.len(), "failed searches past their deadline");
    }
    for job in searches::reclaim_stranded(&ctx.pool, UNPUBLISHED_AFTER_SECS).await? {
        let Ok(query) = Query::parse(&job.query) else {
            continue;
        };
        let message = SearchMessage {
            search_id: job.id,
            normalized: NormalizedQuery::from_text(&job.normalized_query),
            query,
            search_type: SearchType::Track,
            limit: ResultLimit::parse(i64::from(job.result_limit)).unwrap_or_default(),
            deadline_at: job.deadline_at,
            retries: 0,
            // A stranded refresh is finished as an ordinary search.
            refresh: false,
        };
        let queue = &ctx.broker.topology().search.work;
        match ctx
            .broker
            .publish(queue, &message.to_json(), &job.id.to_string(), &[])
            .await
        {
            Ok(()) => tracing::info!(job.id = %job.id, "re-published a stranded job"),
            Err(e) => {
                // Leave it for the next pass.
                searches::mark_unpublished(&ctx.pool, job.id).await?;
                return Err(e.into());
            }
        }
    }
    Ok(())
}
