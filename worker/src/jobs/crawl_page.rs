//! One crawl page: lease it in Postgres, take a token from the provider's background budget,
//! make the one call, and store what it found (tracks, child pages) in one transaction.
//!
//! Crawl pages only ever spend the background share of a budget: the reserve stays for
//! interactive searches, so a crawl never starves a user. A page without budget waits a little
//! in place (it is not in a hurry, and waiting here beats a round trip through a delay queue),
//! then hands its lease back and waits in the longest delay queue that does not overshoot the
//! limiter's answer, so it is back in time for the next free token.
//!
//! Outcomes, settled by the runtime under [`POLICY`]:
//! - found → page done, new child pages published; the last open page ends the crawl;
//! - no budget, 429, or leased by another worker → back later, nothing counted;
//! - transient failure → counted in the page's row and retried with backoff, failed for good
//!   after [`MAX_PAGE_FAILURES`] calls;
//! - permanent failure (bad request, unknown album, provider not configured) → failed for good;
//! - a database outage → back later, nothing counted;
//! - unreadable message or unknown page → parked with the reason, and a known page failed so
//!   its crawl can still end.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use muze_shared::{
    crawl::publish_pages,
    db::crawls::{self, PageClaim},
    domain::{CrawlPage, ProviderName},
    queue::{Broker, CrawlMessage},
    rate_limit::{Priority, RateLimiter},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    providers::{budgeted_call, Budgeted, Crawler, Crawlers, Fetched, ProviderError},
    runtime::{Failure, GiveUp, Job, JobError, Lease, RetryPolicy, Rounding},
};

/// Waits before a page's second and third call after transient failures; then it fails.
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

/// How crawl pages are retried: back a little early rather than late, the rest waited in
/// place.
pub const POLICY: RetryPolicy = RetryPolicy {
    backoff: &BACKOFF,
    rounding: Rounding::Down,
    outage_wait: Duration::from_secs(2),
    min_busy_wait: Duration::from_millis(250),
};

/// Failed calls of one page before it fails for good.
pub const MAX_PAGE_FAILURES: usize = BACKOFF.len() + 1;
/// A page waits for budget in place up to this long before going through a delay queue.
const MAX_WAIT_IN_PLACE: Duration = Duration::from_secs(5);

/// What a crawl page needs from its process.
#[derive(Debug, Clone)]
pub struct CrawlContext {
    pub pool: PgPool,
    pub broker: Arc<Broker>,
    pub limiter: Arc<RateLimiter>,
    /// The crawlers of the providers enabled (and with credentials) on this worker.
    pub crawlers: Crawlers,
    /// How long a page's lease holds.
    pub lease_secs: u64,
}

/// The crawl page job.
#[derive(Debug, Clone)]
pub struct CrawlPageJob(pub CrawlContext);

fn store(context: &'static str) -> impl Fn(sqlx::Error) -> JobError {
    move |e| JobError::store(context, &e)
}

fn later(wait: Duration) -> JobError {
    JobError::Throttled {
        until: Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
    }
}

#[async_trait]
impl Job for CrawlPageJob {
    type Message = CrawlMessage;
    type Carry = ();

    fn policy(&self) -> &RetryPolicy {
        &POLICY
    }

    fn retries(message: &CrawlMessage) -> u32 {
        message.retries
    }

    fn with_retries(message: &CrawlMessage, retries: u32) -> CrawlMessage {
        CrawlMessage {
            retries,
            ..message.clone()
        }
    }

    fn deadline(_: &CrawlMessage) -> Option<DateTime<Utc>> {
        None
    }

    async fn run(&self, message: &CrawlMessage) -> Result<(), Failure<()>> {
        run(&self.0, message).await.map_err(Failure::from)
    }

    async fn retrying(&self, _: &CrawlMessage, (): (), _: DateTime<Utc>) -> Result<(), JobError> {
        // The page was handed back (released, or its failure recorded) before the run ended.
        Ok(())
    }

    async fn give_up(&self, message: &CrawlMessage, why: GiveUp, (): ()) -> Result<(), JobError> {
        let reason = match why {
            GiveUp::Failed(reason) => reason,
            GiveUp::Deadline => "past its deadline".into(),
        };
        end_page(&self.0, message, &reason)
            .await
            .map_err(store("failing the page"))
    }

    async fn parked(&self, message: &CrawlMessage, reason: &str) -> Result<(), JobError> {
        // A known page that cannot run is failed, so its crawl can still end.
        end_page(&self.0, message, reason)
            .await
            .map_err(store("failing the parked page"))
    }
}

/// Runs one page to completion, or says why not now.
#[tracing::instrument(skip_all, fields(crawl.id = %message.crawl_id, page = %message.key))]
async fn run(ctx: &CrawlContext, message: &CrawlMessage) -> Result<(), JobError> {
    let (page, owner) =
        match crawls::claim_page(&ctx.pool, message.crawl_id, &message.key, ctx.lease_secs)
            .await
            .map_err(store("claiming the page"))?
        {
            PageClaim::Claimed { page, owner } => (page, owner),
            PageClaim::Finished => {
                tracing::debug!("page finished already; redelivery ignored");
                return Ok(());
            }
            PageClaim::Leased { until } => return Err(JobError::Busy { until }),
            PageClaim::Missing => {
                return Err(JobError::Poison("no crawl page with this key".into()))
            }
        };
    let provider = page.provider();
    if crawler_of(ctx, provider).is_none() {
        let reason = format!(
            "{provider} is not configured on this worker (MUZE__PROVIDERS__{}__*)",
            provider.env_name()
        );
        return Err(JobError::Permanent(reason));
    }
    // Kept alive until the page is stored or handed back: a slow call does not let the sweeper
    // give the page to a second worker, which would spend the call again.
    let lease = Lease::keep(Duration::from_secs(ctx.lease_secs), {
        let (pool, crawl_id, key, secs) = (
            ctx.pool.clone(),
            message.crawl_id,
            message.key.clone(),
            ctx.lease_secs,
        );
        move || {
            let (pool, key) = (pool.clone(), key.clone());
            async move { crawls::extend_page_lease(&pool, crawl_id, &key, owner, secs).await }
        }
    });
    let release = store("handing the page back");
    let fetched = match call_with_budget(ctx, provider, &page, lease.lost()).await {
        Called::Fetched(fetched) => fetched,
        Called::Later(wait) => {
            crawls::release_page(&ctx.pool, message.crawl_id, &message.key)
                .await
                .map_err(&release)?;
            return Err(later(wait));
        }
        // Another worker has the page now: nothing of ours to write.
        Called::LeaseLost => return Err(JobError::LeaseLost),
    };
    let label = match &fetched {
        Ok(_) => "ok",
        Err(e) if e.throttled_for().is_some() => "rate_limited",
        Err(ProviderError::Timeout) => "timeout",
        Err(_) => "error",
    };
    metrics::counter!(muze_shared::metric_families::CRAWL_PAGES_FETCHED, "provider" => provider.as_str(), "outcome" => label)
        .increment(1);
    match fetched {
        Ok(mut found) => {
            prune_known_tracks(ctx, &mut found.children)
                .await
                .map_err(store("reading known tracks"))?;
            let done = crawls::complete_page(
                &ctx.pool,
                message.crawl_id,
                &message.key,
                &found.tracks,
                &found.children,
            )
            .await
            .map_err(store("storing the page"))?;
            metrics::counter!(muze_shared::metric_families::CRAWL_TRACKS_ADDED)
                .increment(done.tracks_added as u64);
            publish_pages(&ctx.pool, &ctx.broker, message.crawl_id, &done.children).await;
            tracing::debug!(
                tracks.found = found.tracks.len(),
                tracks.added = done.tracks_added,
                children = done.children.len(),
                "page done"
            );
            if let Some(status) = done.crawl_finished {
                crawl_finished(message, status);
            }
            Ok(())
        }
        Err(error) => {
            if let Some(wait) = error.throttled_for() {
                tracing::info!(provider = %provider, error = %error, "throttled; page waits");
                crawls::release_page(&ctx.pool, message.crawl_id, &message.key)
                    .await
                    .map_err(&release)?;
                return Err(later(wait));
            }
            let retryable = matches!(
                error,
                ProviderError::Timeout | ProviderError::Transient(_) | ProviderError::Unauthorized
            );
            let reason = error.to_string();
            if !retryable {
                return Err(JobError::Permanent(reason));
            }
            // Counted in the row for operators; the message counts the retries left.
            let failures =
                crawls::record_failure(&ctx.pool, message.crawl_id, &message.key, &reason)
                    .await
                    .map_err(store("recording the failure"))?;
            tracing::info!(error = %reason, failures, "page failed");
            Err(JobError::Transient(reason))
        }
    }
}

/// The crawler of the page's provider, when this worker has it configured.
fn crawler_of(ctx: &CrawlContext, provider: ProviderName) -> Option<&dyn Crawler> {
    ctx.crawlers.get(&provider).map(|c| c.as_ref())
}

/// What became of a page's call.
enum Called {
    /// It was made (or the provider could not get ready): its result.
    Fetched(Result<Fetched, ProviderError>),
    /// No budget for a while: the page should rather wait in the queue that long.
    Later(Duration),
    /// The page's lease was lost before the call: it was not made.
    LeaseLost,
}

/// Makes the page's call under a background grant, waiting in place up to
/// [`MAX_WAIT_IN_PLACE`] (less under a short lease) for one; never once `lease_lost`.
async fn call_with_budget(
    ctx: &CrawlContext,
    provider: ProviderName,
    page: &CrawlPage,
    lease_lost: &CancellationToken,
) -> Called {
    let Some(crawler) = crawler_of(ctx, provider) else {
        return Called::Fetched(Err(ProviderError::Permanent(
            "provider not configured".into(),
        )));
    };
    // Never so long that the page's lease could run out while it waits.
    let in_place = MAX_WAIT_IN_PLACE.min(Duration::from_secs(ctx.lease_secs) / 3);
    let give_up_at = Instant::now() + in_place;
    loop {
        if lease_lost.is_cancelled() {
            return Called::LeaseLost;
        }
        match budgeted_call(
            crawler.provider(),
            &ctx.limiter,
            Priority::Background,
            || crawler.fetch(page),
        )
        .await
        {
            Budgeted::Called(fetched) => return Called::Fetched(fetched),
            Budgeted::Unprepared(error) => return Called::Fetched(Err(error)),
            Budgeted::NoBudget { wait, .. } => {
                if Instant::now() + wait > give_up_at {
                    return Called::Later(wait);
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Drops track-detail pages (a page that fetches one track alone, like Spotify's) of tracks the
/// catalog already has with an ISRC from that provider: a second crawl of the same releases
/// spends no call on them.
async fn prune_known_tracks(
    ctx: &CrawlContext,
    children: &mut Vec<CrawlPage>,
) -> Result<(), sqlx::Error> {
    let ids: Vec<(ProviderName, String)> = children
        .iter()
        .filter_map(|c| Some((c.provider(), c.single_track()?.to_string())))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut known: Vec<(ProviderName, String)> = Vec::new();
    for provider in ids
        .iter()
        .map(|(p, _)| *p)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let theirs: Vec<String> = ids
            .iter()
            .filter(|(p, _)| *p == provider)
            .map(|(_, id)| id.clone())
            .collect();
        let found = crawls::known_with_isrc(&ctx.pool, provider, &theirs).await?;
        known.extend(found.into_iter().map(|id| (provider, id)));
    }
    children.retain(|c| {
        c.single_track()
            .is_none_or(|id| !known.iter().any(|(p, k)| *p == c.provider() && k == id))
    });
    Ok(())
}

/// Fails a page for good.
async fn end_page(
    ctx: &CrawlContext,
    message: &CrawlMessage,
    reason: &str,
) -> Result<(), sqlx::Error> {
    tracing::warn!(error = %reason, "crawl page failed for good");
    if let Some(status) =
        crawls::fail_page(&ctx.pool, message.crawl_id, &message.key, reason).await?
    {
        crawl_finished(message, status);
    }
    Ok(())
}

fn crawl_finished(message: &CrawlMessage, status: crawls::CrawlStatus) {
    tracing::info!(crawl.id = %message.crawl_id, ?status, "crawl finished");
    let label = match status {
        crawls::CrawlStatus::CompletedWithErrors => "completed_with_errors",
        _ => "succeeded",
    };
    metrics::counter!(muze_shared::metric_families::CRAWLS_FINISHED, "status" => label)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_back_off_longer_each_time() {
        assert!(BACKOFF.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(MAX_PAGE_FAILURES, 3);
    }
}
