//! One crawl page: lease it in Postgres, take a token from the provider's background budget,
//! make the one call, and store what it found (tracks, child pages) in one transaction.
//!
//! Crawl pages only ever spend the background share of a budget: the reserve stays for
//! interactive searches, so a crawl never starves a user. A page without budget waits a little
//! in place (it is not in a hurry, and waiting here beats a round trip through a delay queue),
//! then hands its lease back and waits in the longest delay queue that does not overshoot the
//! limiter's answer, so it is back in time for the next free token.
//!
//! Outcomes, settled in [`settle`]:
//! - found → page done, new child pages published; the last open page ends the crawl;
//! - no budget, 429, or leased by another worker → back later, nothing counted;
//! - transient failure → counted and retried with backoff, failed for good after
//!   [`MAX_PAGE_FAILURES`];
//! - permanent failure (bad request, unknown album, provider not configured) → failed for good;
//! - unreadable message or unknown page → parked with the reason.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use muze_shared::{
    crawl::publish_pages,
    db::crawls::{self, PageClaim},
    domain::{CrawlPage, ProviderName},
    queue::{Broker, CrawlMessage},
    rate_limit::{Priority, RateLimiter},
};
use sqlx::PgPool;

use crate::{
    delivery::{self, finish},
    providers::{budgeted_call, Budgeted, Crawler, Crawlers, Fetched, ProviderError},
};

/// Failed calls of one page before it fails for good.
pub const MAX_PAGE_FAILURES: i32 = 3;
/// A page waits for budget in place up to this long before going through a delay queue.
const MAX_WAIT_IN_PLACE: Duration = Duration::from_secs(5);
/// Shortest wait for a page another worker holds.
const MIN_BUSY_WAIT: Duration = Duration::from_millis(250);

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

/// Why a page did not finish on this delivery.
#[derive(Debug)]
pub enum PageError {
    /// Come back after this long: no budget, the provider throttled us, another worker holds
    /// the page, or a transient failure's backoff.
    Later(Duration),
    /// The message cannot be processed at all.
    Poison(String),
    /// Postgres failed; the delivery goes back to the broker.
    Store(sqlx::Error),
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError::Store(e)
    }
}

/// Handles one delivery of the crawl queue: reads it, runs the page, settles the delivery.
pub async fn handle(ctx: CrawlContext, delivery: Delivery) {
    let message = CrawlMessage::from_json(&delivery.data);
    let result = match &message {
        Ok(m) => run(&ctx, m).await,
        Err(e) => Err(PageError::Poison(format!("unreadable crawl message: {e}"))),
    };
    settle(&ctx, &delivery, message.as_ref().ok(), result).await;
}

/// Runs one page to completion, or says when to try again.
#[tracing::instrument(skip_all, fields(crawl.id = %message.crawl_id, page = %message.key))]
pub async fn run(ctx: &CrawlContext, message: &CrawlMessage) -> Result<(), PageError> {
    let page = match crawls::claim_page(&ctx.pool, message.crawl_id, &message.key, ctx.lease_secs)
        .await?
    {
        PageClaim::Claimed(page) => page,
        PageClaim::Finished => {
            tracing::debug!("page finished already; redelivery ignored");
            return Ok(());
        }
        PageClaim::Leased { until } => {
            return Err(PageError::Later(until_now(until).max(MIN_BUSY_WAIT)))
        }
        PageClaim::Missing => return Err(PageError::Poison("no crawl page with this key".into())),
    };
    let provider = page.provider();
    if crawler_of(ctx, provider).is_none() {
        let reason = format!(
            "{provider} is not configured on this worker (MUZE__PROVIDERS__{}__*)",
            provider.env_name()
        );
        end_page(ctx, message, &reason).await?;
        return Ok(());
    }
    let fetched = match call_with_budget(ctx, provider, &page).await {
        Ok(fetched) => fetched,
        Err(wait) => {
            crawls::release_page(&ctx.pool, message.crawl_id, &message.key).await?;
            return Err(PageError::Later(wait));
        }
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
            prune_known_tracks(ctx, &mut found.children).await?;
            let done = crawls::complete_page(
                &ctx.pool,
                message.crawl_id,
                &message.key,
                &found.tracks,
                &found.children,
            )
            .await?;
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
                crawls::release_page(&ctx.pool, message.crawl_id, &message.key).await?;
                return Err(PageError::Later(wait));
            }
            let retryable = matches!(
                error,
                ProviderError::Timeout | ProviderError::Transient(_) | ProviderError::Unauthorized
            );
            let reason = error.to_string();
            if !retryable {
                end_page(ctx, message, &reason).await?;
                return Ok(());
            }
            let failures =
                crawls::record_failure(&ctx.pool, message.crawl_id, &message.key, &reason).await?;
            if failures >= MAX_PAGE_FAILURES {
                end_page(ctx, message, &reason).await?;
                return Ok(());
            }
            tracing::info!(error = %reason, failures, "page failed; retrying later");
            Err(PageError::Later(backoff(failures)))
        }
    }
}

/// The crawler of the page's provider, when this worker has it configured.
fn crawler_of(ctx: &CrawlContext, provider: ProviderName) -> Option<&dyn Crawler> {
    ctx.crawlers.get(&provider).map(|c| c.as_ref())
}

/// Makes the page's call under a background grant, waiting in place up to
/// [`MAX_WAIT_IN_PLACE`] (less under a short lease) for one. `Err(wait)` when the page should
/// rather wait in the queue that long.
async fn call_with_budget(
    ctx: &CrawlContext,
    provider: ProviderName,
    page: &CrawlPage,
) -> Result<Result<Fetched, ProviderError>, Duration> {
    let Some(crawler) = crawler_of(ctx, provider) else {
        return Ok(Err(ProviderError::Permanent(
            "provider not configured".into(),
        )));
    };
    // Never so long that the page's lease could run out while it waits.
    let in_place = MAX_WAIT_IN_PLACE.min(Duration::from_secs(ctx.lease_secs) / 3);
    let give_up_at = Instant::now() + in_place;
    loop {
        match budgeted_call(
            crawler.provider(),
            &ctx.limiter,
            Priority::Background,
            || crawler.fetch(page),
        )
        .await
        {
            Budgeted::Called(fetched) => return Ok(fetched),
            Budgeted::Unprepared(error) => return Ok(Err(error)),
            Budgeted::NoBudget { wait, .. } => {
                if Instant::now() + wait > give_up_at {
                    return Err(wait);
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

/// Backoff before the next try of a page that failed `failures` times.
fn backoff(failures: i32) -> Duration {
    Duration::from_millis(match failures {
        ..=1 => 1_000,
        2 => 5_000,
        _ => 15_000,
    })
}

fn until_now(t: DateTime<Utc>) -> Duration {
    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Settles one delivery: ack, come back later through a delay queue, park, or hand back.
async fn settle(
    ctx: &CrawlContext,
    delivery: &Delivery,
    message: Option<&CrawlMessage>,
    result: Result<(), PageError>,
) {
    let crawl_queues = &ctx.broker.topology().crawl;
    let settled = match (result, message) {
        (Ok(()), _) => Ok(()),
        (Err(PageError::Later(wait)), Some(message)) => {
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            // Back a little early rather than late: the page waits out the rest in place.
            let (queue, _) = crawl_queues.delay_at_most(wait_ms);
            ctx.broker
                .publish(&queue, &message.to_json(), &message.message_id(), &[])
                .await
                .map_err(anyhow::Error::from)
        }
        (Err(PageError::Store(e)), _) => Err(anyhow::anyhow!("database: {e}")),
        (Err(PageError::Poison(reason)), message) => {
            let parked = delivery::park(&ctx.broker, &crawl_queues.parked, delivery, &reason).await;
            if let (Ok(()), Some(m)) = (&parked, message) {
                // A known page that cannot run is failed, so its crawl can still end.
                if let Err(e) = end_page(ctx, m, &reason).await {
                    tracing::warn!(error = %e, "could not fail the parked page");
                }
            }
            parked
        }
        (Err(PageError::Later(_)), None) => Err(anyhow::anyhow!("a retry without a message")),
    };
    finish(delivery, settled).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_back_off_longer_each_time() {
        assert!(backoff(1) < backoff(2));
        assert!(backoff(2) < backoff(3));
        assert_eq!(backoff(9), backoff(3));
    }
}
