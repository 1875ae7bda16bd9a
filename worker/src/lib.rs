//! `muze-worker`: consumes search jobs from RabbitMQ, asks music providers in fallback order,
//! and writes answers to Postgres.
//!
//! A request's path through this crate: [`runtime::consume`] takes a delivery →
//! [`jobs::search`] claims the job and runs [`providers::fallback`] over the clients in
//! [`providers`] → the answer is stored through `muze_shared::db` → [`runtime::decide()`]
//! and the runtime's executor ack, retry or park. Crawl pages take the same road on their own
//! queue as [`jobs::crawl_page`], spending only the background share of each provider's
//! budget.
//! [`sweeper`] repairs what crashes leave behind; [`ops`] serves `/metrics`, `/healthz` and
//! `/readyz`.

pub mod jobs;
pub mod ops;
pub mod providers;
pub mod runtime;
pub mod sweeper;

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use muze_shared::{
    db,
    queue::{Broker, Topology},
    rate_limit::RateLimiter,
    redis_conn, telemetry, Settings,
};
use tokio_util::sync::CancellationToken;

use jobs::{
    crawl_page::{CrawlContext, CrawlPageJob},
    search::{JobContext, SearchJob},
};
use runtime::consume;

/// How long shutdown waits for each connection (RabbitMQ, the Postgres pool) to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A worker process, connected and ready to consume.
#[derive(Debug)]
pub struct Worker {
    ctx: JobContext,
    crawl: CrawlContext,
    concurrency: u16,
    crawl_concurrency: u16,
    sweeping: sweeper::Sweeping,
    ops: ops::Ops,
    /// Up while the search consumer is subscribed (read by `/readyz`).
    search_consumer: consume::Subscribed,
    /// Up while the crawl consumer is subscribed.
    crawl_consumer: consume::Subscribed,
}

impl Worker {
    /// Connects to Postgres (migrating if needed) and RabbitMQ and builds the providers.
    pub async fn build(settings: Settings) -> anyhow::Result<Worker> {
        let pool = db::connect_with(
            &settings.database.url,
            settings.database.max_connections,
            Some(Duration::from_millis(
                settings.database.statement_timeout_ms,
            )),
        )
        .await
        .context("Postgres")?;
        let topology = Topology::new(&settings.namespace, settings.worker.delivery_limit);
        let broker = Broker::connect(settings.amqp.url.clone(), topology)
            .await
            .context("RabbitMQ")?;
        let redis = redis_conn::Redis::connect(&settings.redis.url)
            .await
            .context("Redis")?;
        let limiter = Arc::new(RateLimiter::new(&settings, redis.clone(), pool.clone()));
        let providers = providers::build_providers(&settings, &settings.search.providers);
        let used: Vec<_> = providers
            .iter()
            .map(|p| p.name())
            .chain(settings.crawl.sources.iter().copied())
            .collect();
        if let Err(e) = limiter.check_declarations(&used).await {
            tracing::warn!(error = %e, "could not read the budgets' declared limits");
        }
        let search_consumer = consume::Subscribed::default();
        let crawl_consumer = consume::Subscribed::default();
        let readiness = ops::Readiness {
            pool: pool.clone(),
            redis,
            broker: broker.clone(),
            search_consumer: search_consumer.clone(),
            crawl_consumer: crawl_consumer.clone(),
        };
        let ops = ops::Ops::bind(
            &settings.worker.metrics_bind,
            telemetry::metrics_handle(),
            readiness,
        )
        .await?;
        tracing::info!(ops.addr = %ops.local_addr()?, "worker metrics at /metrics, readiness at /readyz");
        if providers.is_empty() {
            tracing::warn!(
                "no provider is enabled: every search will fail with upstream_unavailable"
            );
        }
        let crawl = CrawlContext {
            pool: pool.clone(),
            broker: broker.clone(),
            limiter: limiter.clone(),
            crawlers: providers::build_crawlers(&settings),
            lease_secs: settings.worker.lease_secs,
        };
        Ok(Worker {
            crawl,
            crawl_concurrency: settings.worker.crawl_concurrency,
            ctx: JobContext {
                pool,
                broker,
                providers: Arc::new(providers),
                limiter,
                lease_secs: settings.worker.lease_secs,
                done_channel: db::search_done_channel(&settings.namespace),
                answered_wait: settings.answered_wait(),
            },
            concurrency: settings.worker.concurrency,
            sweeping: sweeper::Sweeping {
                every: Duration::from_secs(settings.worker.sweep_interval_secs.max(1)),
                parked_limit: settings.worker.parked_limit,
            },
            ops,
            search_consumer,
            crawl_consumer,
        })
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub fn ops_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.ops.local_addr()
    }

    /// Consumes and sweeps until `shutdown` resolves; then stops taking deliveries, lets
    /// in-flight jobs commit and ack, and closes connections.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let sweeper = tokio::spawn(sweeper::run(self.ctx.clone(), self.sweeping, stop.clone()));
        let consumer = tokio::spawn(consume::run(
            Arc::new(SearchJob(self.ctx.clone())),
            self.ctx.broker.clone(),
            self.concurrency,
            stop.clone(),
            self.search_consumer.clone(),
        ));
        let crawler = tokio::spawn(consume::run(
            Arc::new(CrawlPageJob(self.crawl.clone())),
            self.crawl.broker.clone(),
            self.crawl_concurrency,
            stop.clone(),
            self.crawl_consumer.clone(),
        ));
        let ops_stop = stop.clone();
        let ops = tokio::spawn(self.ops.run(async move { ops_stop.cancelled().await }));
        shutdown.await;
        stop.cancel();
        consumer.await.context("consumer task")?;
        crawler.await.context("crawl consumer task")?;
        sweeper.await.context("sweeper task")?;
        ops.await.context("operations task")?;
        // Bounded: a broker that never confirms the close, or a connection some task still
        // holds, must not keep a stopping worker alive (everything it owed is settled by now).
        if tokio::time::timeout(CLOSE_TIMEOUT, self.ctx.broker.close())
            .await
            .is_err()
        {
            tracing::warn!("RabbitMQ did not confirm the connection's close; stopping anyway");
        }
        if tokio::time::timeout(CLOSE_TIMEOUT, self.ctx.pool.close())
            .await
            .is_err()
        {
            tracing::warn!(
                pool.size = self.ctx.pool.size(),
                pool.idle = self.ctx.pool.num_idle(),
                "Postgres connections still held at shutdown; stopping anyway"
            );
        }
        tracing::info!("worker stopped");
        Ok(())
    }
}
