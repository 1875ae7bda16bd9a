//! Starting crawls and publishing their pages: Postgres first (the rows are the truth), then
//! one confirmed message per page, then the publication is recorded. A page whose message the
//! broker did not take stays unpublished and the workers' sweeper publishes it later.

use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    db::crawls::{self, NewCrawl, Trigger},
    domain::ProviderName,
    queue::{Broker, CrawlMessage, Route},
};

/// Publishes the messages of `keys` (pages of `crawl_id`) and records the confirmed ones.
/// Returns how many the broker took.
pub async fn publish_pages(
    pool: &PgPool,
    broker: &Broker,
    crawl_id: Uuid,
    keys: &[String],
) -> usize {
    let mut published = Vec::with_capacity(keys.len());
    for key in keys {
        let message = CrawlMessage::new(crawl_id, key.as_str());
        match broker.send(&message, Route::Now).await {
            Ok(_) => published.push(key.clone()),
            Err(e) => {
                tracing::warn!(crawl.id = %crawl_id, page = %key, error = %e, "could not publish a crawl page; the sweeper will");
                break;
            }
        }
    }
    if let Err(e) = crawls::mark_published(pool, crawl_id, &published).await {
        // The messages are out; at worst the sweeper publishes duplicates, which are harmless.
        tracing::warn!(crawl.id = %crawl_id, error = %e, "could not record published crawl pages");
    }
    published.len()
}

/// Creates a crawl over `sources` and publishes its root pages.
pub async fn start(
    pool: &PgPool,
    broker: &Arc<Broker>,
    trigger: Trigger,
    sources: &[ProviderName],
) -> Result<NewCrawl, sqlx::Error> {
    let crawl = crawls::create(pool, trigger, sources).await?;
    publish_pages(pool, broker, crawl.id, &crawl.pages).await;
    Ok(crawl)
}
