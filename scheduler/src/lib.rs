//! `muze-scheduler`: holds the connections periodic jobs are fired through. Each replica
//! connects to Postgres (where ticks are recorded) and RabbitMQ (where crawl jobs go), and
//! stays up until asked to stop.

use std::future::Future;

use anyhow::Context;
use muze_shared::{
    db,
    queue::{Broker, Topology},
    Settings,
};

/// A connected scheduler replica.
#[derive(Debug)]
pub struct Scheduler {
    pool: sqlx::PgPool,
    broker: std::sync::Arc<Broker>,
    cron: String,
    timezone: String,
}

impl Scheduler {
    /// Connects to Postgres (migrating if needed) and RabbitMQ.
    pub async fn build(settings: Settings) -> anyhow::Result<Scheduler> {
        let pool = db::connect(&settings.database.url, 2)
            .await
            .context("Postgres")?;
        let topology = Topology::new(&settings.namespace, settings.worker.delivery_limit);
        let broker = Broker::connect(settings.amqp.url.clone(), topology)
            .await
            .context("RabbitMQ")?;
        Ok(Scheduler {
            pool,
            broker,
            cron: settings.scheduler.crawl_cron,
            timezone: settings.scheduler.timezone,
        })
    }

    /// Runs until `shutdown` resolves, then closes its connections.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(crawl.cron = %self.cron, crawl.timezone = %self.timezone, "scheduler running");
        shutdown.await;
        self.broker.close().await;
        self.pool.close().await;
        tracing::info!("scheduler stopped");
        Ok(())
    }
}
