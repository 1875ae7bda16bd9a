//! The consumer: takes deliveries from one RabbitMQ queue and runs them concurrently.
//!
//! The broker's prefetch equals the concurrency, so RabbitMQ never hands this process more
//! jobs than it runs at once; each job is acked (by its handler) only after its outcome is
//! committed.
//! A lost connection is re-established with jittered backoff and the consumer re-created.
//! On shutdown the consumer is cancelled first (no new deliveries), then in-flight jobs finish
//! and ack. While a consumer is subscribed its [`Subscribed`] flag is up, which the worker's
//! `/readyz` reports.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::StreamExt;
use lapin::{
    message::Delivery,
    options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
};
use muze_shared::queue::Broker;
use rand::Rng;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

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

/// Consumes `queue` with `handler` (which settles each delivery) until `stop` is cancelled,
/// then waits for in-flight jobs. `subscribed` is up while a session is subscribed.
pub async fn run<H, F>(
    broker: Arc<Broker>,
    queue: String,
    concurrency: u16,
    handler: H,
    stop: CancellationToken,
    subscribed: Subscribed,
) where
    H: Fn(Delivery) -> F + Send + Sync,
    F: Future<Output = ()> + Send + 'static,
{
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
    F: Future<Output = ()> + Send + 'static,
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
                let _ = channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()).await;
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
