//! Firing one planned tick: win it in Postgres, then publish its crawl's root pages.
//!
//! The tick's row and its crawl commit together ([`crawls::fire_tick`]), so exactly one replica
//! starts the crawl and the others learn they lost. Publishing comes after the commit: a page
//! whose message the broker does not confirm stays unpublished in its row and the workers'
//! sweeper publishes it later, so the tick is never fired twice to make up for it.

use muze_shared::{crawl::publish_pages, db::crawls, domain::ProviderName, queue::Broker};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{plan::PlannedTick, SCHEDULE};

/// What a replica's attempt at a tick came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// This replica recorded the tick and started its crawl.
    Won {
        crawl_id: Uuid,
        /// Root pages the crawl starts with.
        pages: usize,
        /// Of those, the ones the broker confirmed.
        published: usize,
    },
    /// Another replica had recorded the tick first.
    Lost,
}

/// Where a tick's crawl goes and who fires it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub pool: &'a PgPool,
    pub broker: &'a Broker,
    /// This replica's identity, recorded with the ticks it wins.
    pub fired_by: &'a str,
    /// Providers each crawl reads.
    pub sources: &'a [ProviderName],
}

/// Fires `planned` unless another replica has; logs and counts the outcome.
pub async fn fire(target: Target<'_>, planned: PlannedTick) -> Result<TickOutcome, sqlx::Error> {
    let won = crawls::fire_tick(
        target.pool,
        SCHEDULE,
        planned.tick,
        target.fired_by,
        planned.catch_up,
        target.sources,
    )
    .await?;
    let outcome = match won {
        Some(crawl) => {
            let published = publish_pages(target.pool, target.broker, crawl.id, &crawl.pages).await;
            TickOutcome::Won {
                crawl_id: crawl.id,
                pages: crawl.pages.len(),
                published,
            }
        }
        None => TickOutcome::Lost,
    };
    record(planned, &outcome);
    Ok(outcome)
}

/// One log line and one counter per attempted tick.
fn record(planned: PlannedTick, outcome: &TickOutcome) {
    match outcome {
        TickOutcome::Won {
            crawl_id,
            pages,
            published,
        } => {
            tracing::info!(
                schedule.name = SCHEDULE,
                schedule.tick = %planned.tick,
                schedule.catch_up = planned.catch_up,
                crawl.id = %crawl_id,
                crawl.pages = pages,
                crawl.published = published,
                "tick fired: won"
            );
            let catch_up = if planned.catch_up { "true" } else { "false" };
            metrics::counter!(muze_shared::metric_families::TICKS_FIRED, "schedule" => SCHEDULE, "catch_up" => catch_up)
                .increment(1);
        }
        TickOutcome::Lost => {
            tracing::info!(
                schedule.name = SCHEDULE,
                schedule.tick = %planned.tick,
                schedule.catch_up = planned.catch_up,
                "tick lost: another replica fired it"
            );
            metrics::counter!(muze_shared::metric_families::TICKS_LOST, "schedule" => SCHEDULE)
                .increment(1);
        }
    }
}
