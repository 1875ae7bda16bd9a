//! `muze-scheduler`: fires the new-release crawl on its cron schedule, exactly once per tick
//! however many replicas run.
//!
//! Every replica computes the same ticks and races to record each one in Postgres; the
//! `(schedule, tick)` primary key lets one win, and the winner's crawl is created in the same
//! transaction (see [`fire`]). The loop here keeps a cursor (the newest tick this replica has
//! dealt with), and each round fires what [`plan`] says of the ticks due since: on-time ticks
//! always, missed ones (no replica was up, or the database was down) by the catch-up policy.
//! A round that fails on the database is retried with backoff from the same cursor; firing is
//! idempotent, so a retry never starts a crawl twice.
//!
//! Errors: rounds return `sqlx::Error` and are retried here; only start-up fails the process.

mod backoff;
pub mod fire;
pub mod ops;
pub mod plan;
pub mod replica;

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use anyhow::Context;
use chrono::{DateTime, Utc};
use muze_shared::{
    config::CatchUp,
    cron::CronSchedule,
    db::{self, crawls},
    domain::ProviderName,
    metric_families,
    queue::{Broker, Topology},
    telemetry, Settings,
};

use crate::{
    backoff::Backoff,
    fire::Target,
    plan::{plan, MAX_DUE},
};

/// The name the new-release crawl's ticks are recorded under.
pub const SCHEDULE: &str = "crawl";

/// Longest single sleep. The wait for a tick is measured on the monotonic clock but ticks are
/// wall-clock times; waking at least once a minute re-reads the wall clock, so a clock step
/// (NTP, a suspended VM) delays a tick by a minute at most.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// A connected scheduler replica.
#[derive(Debug)]
pub struct Scheduler {
    /// Where ticks are recorded and crawls created.
    pool: sqlx::PgPool,
    /// Where the crawls' root pages are published.
    broker: Arc<Broker>,
    /// When the crawl fires.
    schedule: CronSchedule,
    /// What to do about ticks no replica was up for.
    catch_up: CatchUp,
    /// Providers each crawl reads.
    sources: Vec<ProviderName>,
    /// This replica's name in `schedule_ticks.fired_by`.
    fired_by: String,
    /// Serves `/metrics` and `/healthz`.
    ops: ops::Ops,
}

/// The firing loop's half of a [`Scheduler`] (the other is its operations endpoint).
#[derive(Debug)]
struct Replica {
    pool: sqlx::PgPool,
    broker: Arc<Broker>,
    schedule: CronSchedule,
    catch_up: CatchUp,
    sources: Vec<ProviderName>,
    fired_by: String,
}

impl Scheduler {
    /// Connects to Postgres (migrating if needed) and RabbitMQ.
    pub async fn build(settings: Settings) -> anyhow::Result<Scheduler> {
        let schedule = settings
            .crawl_schedule()
            .context("MUZE__SCHEDULER__CRAWL_CRON")?;
        let pool = db::connect_with(
            &settings.database.url,
            2,
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
        let ops = ops::Ops::bind(
            &settings.scheduler.metrics_bind,
            telemetry::metrics_handle(),
        )
        .await?;
        tracing::info!(ops.addr = %ops.local_addr()?, "scheduler metrics at /metrics");
        Ok(Scheduler {
            ops,
            pool,
            broker,
            schedule,
            catch_up: settings.scheduler.crawl_catch_up,
            sources: settings.crawl.sources,
            fired_by: replica::identity(),
        })
    }

    /// Where `/metrics` and `/healthz` are served.
    pub fn ops_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.ops.local_addr()
    }

    /// This replica's identity, as recorded with the ticks it wins.
    pub fn fired_by(&self) -> &str {
        &self.fired_by
    }

    /// Serves `/metrics` and fires ticks until `shutdown` resolves, then closes its
    /// connections. A round in progress when the signal comes is finished first, so a won tick
    /// always gets its pages published.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Scheduler {
            pool,
            broker,
            schedule,
            catch_up,
            sources,
            fired_by,
            ops,
        } = self;
        let this = Replica {
            pool,
            broker,
            schedule,
            catch_up,
            sources,
            fired_by,
        };
        let (stop_ops, ops_stopped) = tokio::sync::oneshot::channel::<()>();
        let ops_task = tokio::spawn(ops.run(async move {
            let _ = ops_stopped.await;
        }));
        let result = this.run(shutdown).await;
        let _ = stop_ops.send(());
        if let Err(e) = ops_task.await {
            tracing::warn!(error = %e, "operations task ended abnormally");
        }
        result
    }
}

impl Replica {
    async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let started_at = Utc::now();
        let mut shutdown = std::pin::pin!(shutdown);
        tracing::info!(
            scheduler.replica = %self.fired_by,
            schedule.name = SCHEDULE,
            schedule.cron = %self.schedule.expression(),
            schedule.timezone = %self.schedule.timezone(),
            schedule.catch_up = ?self.catch_up,
            "scheduler running"
        );
        self.fire_until_stopped(started_at, shutdown.as_mut()).await;
        self.broker.close().await;
        self.pool.close().await;
        tracing::info!("scheduler stopped");
        Ok(())
    }

    /// The loop: a round, then sleep until the next tick (or back off after a failure).
    async fn fire_until_stopped<F: Future<Output = ()>>(
        &self,
        started_at: DateTime<Utc>,
        mut shutdown: Pin<&mut F>,
    ) {
        let Some(mut cursor) = self.initial_cursor(started_at, shutdown.as_mut()).await else {
            return;
        };
        let mut backoff = Backoff::default();
        loop {
            let wait = match self.round(&mut cursor, started_at).await {
                Ok(()) => {
                    backoff.reset();
                    let Some(wait) = self.until_next_tick(cursor) else {
                        tracing::info!(schedule.name = SCHEDULE, schedule.cursor = %cursor, "the schedule never fires again; idle until stopped");
                        shutdown.as_mut().await;
                        return;
                    };
                    wait
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    metrics::counter!(metric_families::SCHEDULER_ROUNDS_FAILED, "schedule" => SCHEDULE)
                        .increment(1);
                    tracing::warn!(schedule.name = SCHEDULE, error = %e, retry_in_ms = wait.as_millis() as u64, "could not fire due ticks; retrying");
                    wait
                }
            };
            if sleep_or_stop(wait, shutdown.as_mut()).await {
                return;
            }
        }
    }

    /// Where the first round starts: after the newest recorded tick, or at start-up on a
    /// deployment that never fired one (nothing counts as missed before the first replica).
    /// `None` if shutdown came while the database was unreachable.
    async fn initial_cursor<F: Future<Output = ()>>(
        &self,
        started_at: DateTime<Utc>,
        mut shutdown: Pin<&mut F>,
    ) -> Option<DateTime<Utc>> {
        let mut backoff = Backoff::default();
        loop {
            match crawls::last_tick(&self.pool, SCHEDULE).await {
                Ok(last) => {
                    let cursor = last.unwrap_or(started_at);
                    tracing::info!(schedule.name = SCHEDULE, schedule.last_tick = ?last, schedule.cursor = %cursor, "resuming the schedule");
                    return Some(cursor);
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::warn!(schedule.name = SCHEDULE, error = %e, retry_in_ms = wait.as_millis() as u64, "could not read the last tick; retrying");
                    if sleep_or_stop(wait, shutdown.as_mut()).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Fires what the policy says of the ticks due after `cursor`, moving `cursor` past each
    /// tick dealt with. On an error the cursor stays before the tick that failed, so the next
    /// round tries it again (re-planned: by then it may count as missed).
    async fn round(
        &self,
        cursor: &mut DateTime<Utc>,
        started_at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let now = Utc::now();
        let due = self.schedule.between(*cursor, now, MAX_DUE);
        let Some(&newest) = due.last() else {
            return Ok(());
        };
        let planned = plan(&due, now, started_at, self.catch_up);
        if planned.len() < due.len() {
            tracing::info!(
                schedule.name = SCHEDULE,
                schedule.catch_up = ?self.catch_up,
                schedule.dropped = due.len() - planned.len(),
                schedule.oldest_dropped = %due[0],
                "missed ticks not fired, by the catch-up policy"
            );
            metrics::counter!(metric_families::TICKS_SKIPPED, "schedule" => SCHEDULE)
                .increment((due.len() - planned.len()) as u64);
        }
        for tick in planned {
            fire::fire(self.target(), tick).await?;
            *cursor = tick.tick;
        }
        *cursor = newest.max(*cursor);
        Ok(())
    }

    fn target(&self) -> Target<'_> {
        Target {
            pool: &self.pool,
            broker: &self.broker,
            fired_by: &self.fired_by,
            sources: &self.sources,
        }
    }

    /// How long to sleep before the tick after `cursor` (capped at [`MAX_SLEEP`]); `None` if
    /// the schedule never fires again.
    /// Also publishes when that tick is due, so a tick that is missed shows.
    fn until_next_tick(&self, cursor: DateTime<Utc>) -> Option<Duration> {
        let next = self.schedule.next_after(cursor)?;
        metrics::gauge!(metric_families::NEXT_TICK, "schedule" => SCHEDULE)
            .set(next.timestamp_millis() as f64 / 1000.0);
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        Some(wait.min(MAX_SLEEP))
    }
}

/// Sleeps for `wait`; `true` if `shutdown` came first.
async fn sleep_or_stop<F: Future<Output = ()>>(wait: Duration, shutdown: Pin<&mut F>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => false,
        () = shutdown => true,
    }
}
