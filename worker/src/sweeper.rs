//! The sweeper: repairs what crashes leave behind, so no job is lost in the gaps between
//! Postgres and RabbitMQ.
//!
//! - A job queued but never confirmed by the broker (the API died between commit and publish)
//!   is published again.
//! - A job queued whose confirmed message should have reached a worker by now (on the work
//!   queue, or back from a delay queue) but never did is published again: the message was lost
//!   after the broker took it (dead-lettering out of a delay queue is at most once; a queue can
//!   be purged). The row says when its message is due; while the work queue has a backlog,
//!   messages may simply be waiting, so the sweeper then waits longer before calling one lost.
//! - A job running under an expired lease (its worker died) is set back to queued and published
//!   again.
//! - A job past its deadline that nobody holds fails with `deadline_exceeded`.
//! - Crawl pages likewise: unpublished pending pages are published, pages whose worker died
//!   (lease expired) are handed back and published again.
//! - A parking queue holding more than `worker.parked_limit` messages loses its oldest, each
//!   logged with its id and reason, so poison nobody re-drives cannot fill the broker.
//!
//! Several workers may sweep at once: rows are taken with `FOR UPDATE SKIP LOCKED`, and a
//! duplicate message is harmless because jobs are idempotent.

use std::time::Duration;

use muze_shared::{
    crawl::publish_pages,
    db::{crawls, searches},
    domain::{NormalizedQuery, Query, ResultLimit, SearchType},
    metric_families,
    queue::{JobQueues, Route, SearchMessage},
};
use tokio_util::sync::CancellationToken;

use crate::jobs::search::JobContext;

/// A queued job unconfirmed for this long is assumed to have no message.
const UNPUBLISHED_AFTER_SECS: u64 = 10;
/// A queued job still unclaimed this long after its message was due is assumed to have lost it.
const LOST_AFTER_SECS: u64 = 10;
/// The same, while messages wait on the work queue (they may be in that backlog).
const LOST_IN_BACKLOG_AFTER_SECS: u64 = 60;
/// Crawl pages repaired per pass at most.
const MAX_PAGES_PER_SWEEP: i64 = 1_000;

/// How the sweeper runs.
#[derive(Debug, Clone, Copy)]
pub struct Sweeping {
    /// How often it passes.
    pub every: Duration,
    /// Messages each parking queue keeps at most.
    pub parked_limit: u64,
}

/// Sweeps every `sweeping.every` until `stop` is cancelled.
pub async fn run(ctx: JobContext, sweeping: Sweeping, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(sweeping.every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {
                if let Err(e) = sweep(&ctx, sweeping).await {
                    tracing::warn!(error = %e, "sweep failed; will try again");
                }
            }
        }
    }
}

/// One pass.
pub async fn sweep(ctx: &JobContext, sweeping: Sweeping) -> anyhow::Result<()> {
    let topology = ctx.broker.topology();
    // The depths this pass needs, on one channel.
    let depths = ctx
        .broker
        .ready_in_each(&[
            &topology.search.work,
            &topology.search.parked,
            &topology.crawl.parked,
        ])
        .await;
    // Unknown: assume a backlog (the longer wait before calling a message lost).
    let backlog = depths.as_ref().map_or(true, |d| d[0] > 0);
    sweep_searches(ctx, backlog).await?;
    sweep_crawl_pages(ctx).await?;
    let parked = depths?;
    for (kind, queues, depth) in [
        ("search", &topology.search, parked[1]),
        ("crawl", &topology.crawl, parked[2]),
    ] {
        if depth > sweeping.parked_limit {
            trim_parked(ctx, kind, queues, sweeping.parked_limit).await?;
        }
    }
    Ok(())
}

/// Drops the oldest parked messages of `kind` past `limit`, each logged so an operator can
/// still see what was lost.
async fn trim_parked(
    ctx: &JobContext,
    kind: &'static str,
    queues: &JobQueues,
    limit: u64,
) -> anyhow::Result<()> {
    let dropped = ctx.broker.trim_parked(queues, limit).await?;
    if dropped.is_empty() {
        return Ok(());
    }
    for message in &dropped {
        tracing::warn!(
            kind,
            message.id = %message.message_id,
            reason = %message.reason,
            body = %String::from_utf8_lossy(&message.body),
            "dropped the oldest parked message: its parking queue is full (MUZE__WORKER__PARKED_LIMIT)"
        );
    }
    metrics::counter!(metric_families::PARKED_DROPPED, "kind" => kind)
        .increment(dropped.len() as u64);
    Ok(())
}

/// Publishes crawl pages left without a live message.
async fn sweep_crawl_pages(ctx: &JobContext) -> anyhow::Result<()> {
    let stranded =
        crawls::reclaim_stranded_pages(&ctx.pool, UNPUBLISHED_AFTER_SECS, MAX_PAGES_PER_SWEEP)
            .await?;
    if stranded.is_empty() {
        return Ok(());
    }
    tracing::info!(count = stranded.len(), "re-publishing stranded crawl pages");
    metrics::counter!(metric_families::SWEEPER_REPAIRS, "repair" => "stranded_crawl_page")
        .increment(stranded.len() as u64);
    let mut by_crawl: std::collections::BTreeMap<uuid::Uuid, Vec<String>> = Default::default();
    for page in stranded {
        by_crawl.entry(page.crawl_id).or_default().push(page.key);
    }
    for (crawl_id, keys) in by_crawl {
        let published = publish_pages(&ctx.pool, &ctx.broker, crawl_id, &keys).await;
        for key in &keys[published..] {
            // Left for the next pass.
            crawls::mark_unpublished(&ctx.pool, crawl_id, key).await?;
        }
    }
    Ok(())
}

async fn sweep_searches(ctx: &JobContext, backlog: bool) -> anyhow::Result<()> {
    let expired = searches::expire_overdue(&ctx.pool, &ctx.done_channel).await?;
    if !expired.is_empty() {
        tracing::info!(count = expired.len(), "failed searches past their deadline");
        metrics::counter!(metric_families::SWEEPER_REPAIRS, "repair" => "expired_search")
            .increment(expired.len() as u64);
    }
    let stranded = searches::reclaim_stranded(&ctx.pool, UNPUBLISHED_AFTER_SECS).await?;
    republish(ctx, stranded, "stranded_search").await?;
    let lost_after = if backlog {
        LOST_IN_BACKLOG_AFTER_SECS
    } else {
        LOST_AFTER_SECS
    };
    let lost = searches::reclaim_lost(&ctx.pool, lost_after).await?;
    republish(ctx, lost, "lost_search").await
}

/// Publishes the messages of `jobs` again; a job whose message the broker does not take is
/// left for the next pass.
async fn republish(
    ctx: &JobContext,
    jobs: Vec<searches::Stranded>,
    repair: &'static str,
) -> anyhow::Result<()> {
    for job in jobs {
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
        match ctx.broker.send(&message, Route::Now).await {
            Ok(_) => {
                tracing::info!(job.id = %job.id, repair, "re-published a search's message");
                metrics::counter!(metric_families::SWEEPER_REPAIRS, "repair" => repair)
                    .increment(1);
            }
            Err(e) => {
                searches::mark_unpublished(&ctx.pool, job.id).await?;
                return Err(e.into());
            }
        }
    }
    Ok(())
}
