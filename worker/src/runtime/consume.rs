//! The consumer: takes deliveries from one kind of job's work queue and runs them
//! concurrently, each to its settlement.
//!
//! The broker's prefetch equals the concurrency, so RabbitMQ never hands this process more
//! jobs than it runs at once; each job is acked only after its outcome is committed. A job
//! that panics is caught here and settled like any other error.
//! A lost connection is re-established with jittered backoff and the consumer re-created.
//! On shutdown the consumer is cancelled first (no new deliveries), then in-flight jobs finish
//! and ack. While a consumer is subscribed its [`Subscribed`] flag is up, which the worker's
//! `/readyz` reports.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::{FutureExt, StreamExt};
use lapin::{
    message::Delivery,
    options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
};
use muze_shared::queue::{Broker, JobMessage};
use rand::Rng;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{execute, Failure, Job, JobError};

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long shutdown waits for the broker to confirm a consumer's cancel.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a consumer is subscribed to its queue right now. Cheap to clone: a shared flag.
#[derive(Debug, Clone, Default)]
pub struct Subscribed(Arc<AtomicBool>);

impl Subscribed {
    /// `true` between a successful subscription and the session's end.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        self.0.store(up, Ordering::Relaxed);
    }
}

/// Consumes `job`'s work queue until `stop` is cancelled, then waits for in-flight jobs.
/// `subscribed` is up while a session is subscribed.
pub async fn run<J: Job>(
    job: Arc<J>,
    broker: Arc<Broker>,
    concurrency: u16,
    stop: CancellationToken,
    subscribed: Subscribed,
) {
    let queue = J::Message::queues(broker.topology()).work.clone();
    let handler = |delivery| handle(job.clone(), broker.clone(), delivery);
    let tracker = TaskTracker::new();
    let mut failures: u32 = 0;
    while !stop.is_cancelled() {
        let session = consume_once(
            &broker,
            &queue,
            concurrency,
            &handler,
            &stop,
            &tracker,
            &subscribed,
        )
        .await;
        subscribed.set(false);
        match session {
            Ok(()) => failures = 0,
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = backoff(failures);
                tracing::warn!(queue = %queue, error = %e, retry.in_ms = wait.as_millis() as u64, "consumer lost; reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop.cancelled() => {}
                }
            }
        }
    }
    tracker.close();
    tracing::info!(queue = %queue, in_flight = tracker.len(), "waiting for in-flight jobs");
    tracker.wait().await;
}

/// Reads one delivery, runs its job (a panic caught as an error) and settles it.
async fn handle<J: Job>(job: Arc<J>, broker: Arc<Broker>, delivery: Delivery) {
    let message = J::Message::from_json(&delivery.data);
    let result = match &message {
        Ok(m) => match AssertUnwindSafe(job.run(m)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                tracing::error!(panic = %what, "job panicked");
                Err(Failure::from(JobError::Panicked(what)))
            }
        },
        Err(e) => Err(Failure::from(JobError::Poison(format!(
            "unreadable message: {e}"
        )))),
    };
    execute::settle(
        job.as_ref(),
        &broker,
        &delivery,
        message.as_ref().ok(),
        result,
    )
    .await;
}

fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(200u64.saturating_mul(1 << failures.min(6)));
    let capped = base.min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0..=capped.as_millis() as u64 / 2);
    capped / 2 + Duration::from_millis(jitter)
}

/// One consumer session; returns `Ok` on shutdown and `Err` when the connection is lost.
async fn consume_once<H, F>(
    broker: &Broker,
    queue: &str,
    concurrency: u16,
    handler: &H,
    stop: &CancellationToken,
    tracker: &TaskTracker,
    subscribed: &Subscribed,
) -> anyhow::Result<()>
where
    H: Fn(Delivery) -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let channel = broker.channel().await?;
    channel
        .basic_qos(concurrency, BasicQosOptions::default())
        .await?;
    let tag = format!("muze-worker-{}", uuid::Uuid::new_v4());
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    subscribed.set(true);
    tracing::info!(queue = %queue, concurrency, "consuming");
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                // Bounded: on a connection that died at this moment the broker never answers,
                // and shutdown must not wait for it (unsettled deliveries go back to the queue
                // with the connection).
                let cancel = channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default());
                if tokio::time::timeout(CANCEL_TIMEOUT, cancel).await.is_err() {
                    tracing::warn!(queue = %queue, "the broker did not confirm the consumer's cancel; stopping anyway");
                }
                return Ok(());
            }
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    tracker.spawn(handler(delivery));
                }
                Some(Err(e)) => return Err(e.into()),
                None => anyhow::bail!("consumer stream ended"),
            }
        }
    }
}
