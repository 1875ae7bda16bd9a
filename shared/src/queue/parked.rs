//! The parking queues, for operators: read what is parked and why, move messages back to their
//! work queue once the cause is fixed, or drop them.
//!
//! Reading uses `basic.get` without acknowledging on a channel of its own; closing that channel
//! returns every message read to the queue, in its order. Re-driving publishes each chosen
//! message to the work queue (confirmed) before acknowledging it off the parking queue, so a
//! failure in between leaves a duplicate, never a loss; jobs are idempotent.

use chrono::{DateTime, Utc};
use lapin::{
    options::{BasicAckOptions, BasicGetOptions, QueuePurgeOptions},
    types::{AMQPValue, FieldTable},
};

use super::{broker::BrokerError, Broker, JobQueues, PARKED_AT_HEADER, REASON_HEADER};

/// The most messages one read or re-drive looks at.
pub const MAX_SCAN: usize = 10_000;

/// One parked message.
#[derive(Debug, Clone)]
pub struct ParkedMessage {
    /// The broker message id (a search's id, a crawl page's `crawl/key`).
    pub message_id: String,
    /// Why it was parked: the worker's reason, or the broker's when it dead-lettered the
    /// message itself (the delivery limit).
    pub reason: String,
    /// When it was parked, when known.
    pub parked_at: Option<DateTime<Utc>>,
    /// The message as it was sent.
    pub body: Vec<u8>,
}

/// What a read of a parking queue found.
#[derive(Debug, Clone)]
pub struct ParkedPage {
    /// Messages in the parking queue when the read began.
    pub total: u64,
    /// The oldest of them, at most the limit asked for.
    pub messages: Vec<ParkedMessage>,
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

fn header(headers: Option<&FieldTable>, name: &str) -> Option<String> {
    headers?
        .inner()
        .iter()
        .find(|(key, _)| key.as_str() == name)
        .and_then(|(_, value)| text(value))
}

fn read(delivery: &lapin::message::Delivery) -> ParkedMessage {
    let headers = delivery.properties.headers().as_ref();
    let reason = header(headers, REASON_HEADER).unwrap_or_else(|| {
        match header(headers, "x-first-death-reason").as_deref() {
            Some("delivery_limit") => {
                "the broker's delivery limit: delivered that many times without being settled \
                 (a worker kept dying on it)"
                    .to_string()
            }
            Some(other) => format!("dead-lettered by the broker: {other}"),
            None => "no reason recorded".to_string(),
        }
    });
    ParkedMessage {
        message_id: delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        reason,
        parked_at: header(headers, PARKED_AT_HEADER)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)),
        body: delivery.data.clone(),
    }
}

/// The next parked message, held unacknowledged on `channel`.
async fn next(
    channel: &lapin::Channel,
    queues: &JobQueues,
) -> Result<Option<lapin::message::BasicGetMessage>, BrokerError> {
    Ok(channel
        .basic_get(
            queues.parked.as_str().into(),
            BasicGetOptions { no_ack: false },
        )
        .await?)
}

impl Broker {
    /// The oldest `limit` parked messages of one kind of job, left in place.
    pub async fn parked(
        &self,
        queues: &JobQueues,
        limit: usize,
    ) -> Result<ParkedPage, BrokerError> {
        let total = self.ready_in(&queues.parked).await?;
        let channel = self.channel().await?;
        let mut messages = Vec::new();
        while messages.len() < limit.min(MAX_SCAN) {
            let got = next(&channel, queues).await?;
            let Some(got) = got else { break };
            messages.push(read(&got.delivery));
        }
        // Every message read goes back to the queue with the channel.
        let _ = channel.close(200, "parked messages read".into()).await;
        Ok(ParkedPage { total, messages })
    }

    /// Moves the parked messages of one kind that `pick` chooses back to its work queue;
    /// returns how many moved and how many stayed.
    pub async fn redrive(
        &self,
        queues: &JobQueues,
        pick: impl Fn(&ParkedMessage) -> bool,
    ) -> Result<(u64, u64), BrokerError> {
        let total = self.ready_in(&queues.parked).await?;
        let channel = self.channel().await?;
        let (mut moved, mut kept) = (0, 0);
        let outcome = async {
            for _ in 0..total.min(MAX_SCAN as u64) {
                let got = next(&channel, queues).await?;
                let Some(got) = got else { break };
                let message = read(&got.delivery);
                if pick(&message) {
                    self.publish(&queues.work, &message.body, &message.message_id, &[])
                        .await?;
                    got.delivery.acker.ack(BasicAckOptions::default()).await?;
                    moved += 1;
                } else {
                    // Held unacknowledged until the channel closes, so it is not read again.
                    kept += 1;
                }
            }
            Ok::<(), BrokerError>(())
        }
        .await;
        let _ = channel.close(200, "parked messages re-driven".into()).await;
        outcome?;
        tracing::info!(queue = %queues.parked, moved, kept, "re-drove parked messages");
        Ok((moved, kept))
    }

    /// Drops the oldest parked messages of one kind until at most `keep` are left; returns
    /// those dropped. Each drop checks the count the broker says is left behind it, so workers
    /// trimming at once stop at the bound together instead of each dropping the excess.
    pub async fn trim_parked(
        &self,
        queues: &JobQueues,
        keep: u64,
    ) -> Result<Vec<ParkedMessage>, BrokerError> {
        let total = self.ready_in(&queues.parked).await?;
        if total <= keep {
            return Ok(Vec::new());
        }
        let channel = self.channel().await?;
        let mut dropped = Vec::new();
        let outcome = async {
            for _ in 0..(total - keep).min(MAX_SCAN as u64) {
                let Some(got) = next(&channel, queues).await? else {
                    break;
                };
                if u64::from(got.message_count) < keep {
                    // Within the bound now: held until the channel closes, then back in place.
                    break;
                }
                got.delivery.acker.ack(BasicAckOptions::default()).await?;
                dropped.push(read(&got.delivery));
            }
            Ok::<(), BrokerError>(())
        }
        .await;
        let _ = channel.close(200, "parked messages trimmed".into()).await;
        outcome?;
        Ok(dropped)
    }

    /// Drops every parked message of one kind; returns how many.
    pub async fn purge_parked(&self, queues: &JobQueues) -> Result<u32, BrokerError> {
        let channel = self.channel().await?;
        let purged = channel
            .queue_purge(queues.parked.as_str().into(), QueuePurgeOptions::default())
            .await;
        let _ = channel.close(200, "parked messages purged".into()).await;
        let purged = purged?;
        tracing::warn!(queue = %queues.parked, purged, "purged parked messages");
        Ok(purged)
    }
}
