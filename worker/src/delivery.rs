//! The broker side of settling a delivery, shared by every kind of job: ack once the outcome
//! is safe, hand the message back when it could not be settled at all, or park it with its
//! reason for an operator.

use std::time::Duration;

use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
};
use muze_shared::queue::{Broker, REASON_HEADER};

/// How long to wait before handing back a delivery that could not be settled at all (broker or
/// database down): long enough not to spin, short enough to recover quickly.
const UNSETTLED_PAUSE: Duration = Duration::from_secs(1);

/// Acks the delivery if `settled`, else hands it back to the broker after a pause.
pub async fn finish(delivery: &Delivery, settled: anyhow::Result<()>) {
    match settled {
        Ok(()) => {
            if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
                // The channel is gone: the broker redelivers, and jobs are idempotent.
                tracing::warn!(error = %e, "ack failed; the message will be redelivered");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not settle the job; handing the message back");
            tokio::time::sleep(UNSETTLED_PAUSE).await;
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await;
        }
    }
}

/// Copies the delivery to the parking queue `parked`, with its reason in a header.
pub async fn park(
    broker: &Broker,
    parked: &str,
    delivery: &Delivery,
    reason: &str,
) -> anyhow::Result<()> {
    tracing::error!(reason = %reason, queue = %parked, "parking message");
    metrics::counter!(muze_shared::metric_families::MESSAGES_PARKED).increment(1);
    let message_id = delivery
        .properties
        .message_id()
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default();
    broker
        .publish(
            parked,
            &delivery.data,
            &message_id,
            &[(REASON_HEADER, reason)],
        )
        .await?;
    Ok(())
}
