//! Carries out the decision for one delivery: the only code that acks, sends a message to a
//! delay queue or parks it.
//!
//! A delivery is acked only once its outcome is safe: the job's state is written, or the next
//! try's message is confirmed by the broker, or the message is parked. When even that is
//! impossible (RabbitMQ is down), the delivery is handed back after a pause; a lost channel
//! returns it to the broker by itself.

use std::time::Duration;

use chrono::Utc;
use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
};
use muze_shared::{
    metric_families,
    queue::{Broker, JobMessage, Route, PARKED_AT_HEADER, REASON_HEADER},
};

use super::{decide, Action, Facts, Failure, Job, Rounding};

/// How long to wait before handing back a delivery that could not be settled at all: long
/// enough not to spin, short enough to recover quickly.
const UNSETTLED_PAUSE: Duration = Duration::from_secs(1);

/// Settles one delivery of `job`'s queue after its run.
pub(super) async fn settle<J: Job>(
    job: &J,
    broker: &Broker,
    delivery: &Delivery,
    message: Option<&J::Message>,
    result: Result<(), Failure<J::Carry>>,
) {
    let Err(failure) = result else {
        return ack(delivery).await;
    };
    let Some(message) = message else {
        let reason = match failure.error {
            super::JobError::Poison(reason) => reason,
            other => format!("{other:?}"),
        };
        return match park::<J>(broker, delivery, &reason).await {
            Ok(()) => ack(delivery).await,
            Err(e) => unsettled(delivery, e).await,
        };
    };
    let facts = Facts {
        retries: J::retries(message),
        redelivered: delivery.redelivered,
        deadline: J::deadline(message),
    };
    let now = Utc::now();
    let action = decide(&failure.error, facts, job.policy(), now);
    tracing::debug!(error = ?failure.error, ?facts, ?action, "settling");
    let settled = match action {
        Action::Ack => Ok(()),
        Action::Delay { wait, retries } => {
            if retries > facts.retries {
                tracing::info!(error = ?failure.error, retry = retries, "retrying later");
            }
            let next = J::with_retries(message, retries);
            match send_later(job, broker, &next, wait).await {
                Ok(due) => {
                    if let Err(e) = job.retrying(message, failure.carry, due).await {
                        // The next message is safe with the broker; the job's row catches up
                        // when that message runs (or its lease ends).
                        tracing::warn!(error = ?e, "could not hand the job back");
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Action::GiveUp(why) => match job.give_up(message, why, failure.carry).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // The final state could not be written (the database is down): try the job
                // again later, as in any outage.
                tracing::warn!(error = ?e, "could not write the final state; trying again later");
                send_later(job, broker, message, job.policy().outage_wait)
                    .await
                    .map(|_| ())
            }
        },
        Action::Park(reason) => match park::<J>(broker, delivery, &reason).await {
            Ok(()) => {
                if let Err(e) = job.parked(message, &reason).await {
                    tracing::warn!(error = ?e, "could not record the parked job");
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match settled {
        Ok(()) => ack(delivery).await,
        Err(e) => unsettled(delivery, e).await,
    }
}

/// Sends `message` to the delay queue that fits `wait` under the job's rounding; returns when
/// it will be back.
async fn send_later<J: Job>(
    job: &J,
    broker: &Broker,
    message: &J::Message,
    wait: Duration,
) -> anyhow::Result<chrono::DateTime<Utc>> {
    let route = match job.policy().rounding {
        Rounding::Up => Route::AtLeast(wait),
        Rounding::Down => Route::AtMost(wait),
    };
    let waits = broker.send(message, route).await?;
    tracing::debug!(delay.ms = waits.as_millis() as u64, "job delayed");
    Ok(Utc::now() + chrono::Duration::from_std(waits).unwrap_or_default())
}

/// Copies the delivery to its kind's parking queue, with its reason in a header.
async fn park<J: Job>(broker: &Broker, delivery: &Delivery, reason: &str) -> anyhow::Result<()> {
    let parked = &J::Message::queues(broker.topology()).parked;
    tracing::error!(reason = %reason, queue = %parked, "parking message");
    metrics::counter!(metric_families::MESSAGES_PARKED).increment(1);
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
            &[
                (REASON_HEADER, reason),
                (PARKED_AT_HEADER, &Utc::now().to_rfc3339()),
            ],
        )
        .await?;
    Ok(())
}

async fn ack(delivery: &Delivery) {
    if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
        // The channel is gone: the broker redelivers, and jobs are idempotent.
        tracing::warn!(error = %e, "ack failed; the message will be redelivered");
    }
}

/// Hands a delivery that could not be settled back to the broker, after a pause.
async fn unsettled(delivery: &Delivery, error: anyhow::Error) {
    tracing::error!(error = %error, "could not settle the job; handing the message back");
    tokio::time::sleep(UNSETTLED_PAUSE).await;
    let _ = delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        })
        .await;
}
