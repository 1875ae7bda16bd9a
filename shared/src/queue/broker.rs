//! A supervised RabbitMQ connection with confirmed publishing.
//!
//! lapin 4 can recover a connection itself (`enable_auto_recover`), but it gives up after a
//! bounded number of attempts, and a RabbitMQ node restarted for longer than that would leave
//! the process with a dead connection until it is restarted. So the broker keeps one
//! connection and one confirm-mode publishing channel, and whoever finds them closed reconnects (at most once a second across all
//! callers, so an outage does not become a reconnect storm) and re-declares the topology.
//! Consumers take their own channels from [`Broker::channel`] and re-subscribe after a loss.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString},
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::{topology::header, JobMessage, JobQueues, Topology, DELAY_TIERS_MS};
use crate::config::redact_url;

/// How long to wait for the broker to confirm a message before calling it lost.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Minimum time between reconnection attempts.
const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);

/// Why the broker could not take a message.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("RabbitMQ unreachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("RabbitMQ error: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("RabbitMQ did not confirm the message")]
    NotConfirmed,
    #[error("RabbitMQ could not route the message to queue {0}")]
    Unroutable(String),
}

/// Where [`Broker::send`] puts a job's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The work queue: run as soon as a worker is free.
    Now,
    /// The delay queue of the shortest tier that waits at least this long.
    AtLeast(Duration),
    /// The delay queue of the longest tier that does not wait longer than this (at least the
    /// shortest tier): for work that would rather come back early and wait out the rest.
    AtMost(Duration),
}

/// Messages waiting in the queues of one kind of job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepths {
    /// Ready in the work queue.
    pub ready: u64,
    /// Consumers subscribed to the work queue.
    pub consumers: u64,
    /// Waiting out a retry delay, over every delay tier.
    pub delayed: u64,
    /// In the parking queue.
    pub parked: u64,
}

#[derive(Debug)]
struct Live {
    connection: Connection,
    publisher: Channel,
}

#[derive(Debug)]
struct State {
    live: Option<Live>,
    last_attempt: Option<Instant>,
}

/// The process's connection to RabbitMQ.
#[derive(Debug)]
pub struct Broker {
    url: SecretString,
    topology: Topology,
    state: Mutex<State>,
}

impl Broker {
    /// Connects, declares the topology, and fails if either does not work.
    pub async fn connect(
        url: SecretString,
        topology: Topology,
    ) -> Result<Arc<Broker>, BrokerError> {
        let broker = Arc::new(Broker {
            url,
            topology,
            state: Mutex::new(State {
                live: None,
                last_attempt: None,
            }),
        });
        broker.publisher().await?;
        Ok(broker)
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The publishing channel, reconnecting if the connection was lost.
    async fn publisher(&self) -> Result<Channel, BrokerError> {
        let mut state = self.state.lock().await;
        if let Some(live) = &state.live {
            if live.connection.status().connected() && live.publisher.status().connected() {
                return Ok(live.publisher.clone());
            }
            tracing::warn!("RabbitMQ connection lost; reconnecting");
            state.live = None;
        }
        if let Some(at) = state.last_attempt {
            if at.elapsed() < RECONNECT_INTERVAL {
                return Err(self.unreachable("reconnecting"));
            }
        }
        state.last_attempt = Some(Instant::now());
        let live = tokio::time::timeout(CONNECT_TIMEOUT, self.open())
            .await
            .map_err(|_| self.unreachable("connection timed out"))??;
        let publisher = live.publisher.clone();
        state.live = Some(live);
        Ok(publisher)
    }

    async fn open(&self) -> Result<Live, BrokerError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(format!("muze/{}", self.topology.namespace).into());
        let connection = Connection::connect(self.url.expose_secret(), properties)
            .await
            .map_err(|e| self.unreachable(&e.to_string()))?;
        let publisher = connection.create_channel().await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        self.topology.declare(&publisher).await?;
        tracing::info!(amqp.url = %redact_url(&self.url), "connected to RabbitMQ");
        Ok(Live {
            connection,
            publisher,
        })
    }

    fn unreachable(&self, reason: &str) -> BrokerError {
        BrokerError::Unreachable {
            url: redact_url(&self.url),
            reason: reason.to_string(),
        }
    }

    /// A fresh channel on the live connection, for a consumer.
    pub async fn channel(&self) -> Result<Channel, BrokerError> {
        self.publisher().await?;
        let state = self.state.lock().await;
        let live = state
            .live
            .as_ref()
            .ok_or_else(|| self.unreachable("not connected"))?;
        Ok(live.connection.create_channel().await?)
    }

    /// Whether the connection is up right now (reconnects if it is not).
    pub async fn is_ready(&self) -> bool {
        self.publisher().await.is_ok()
    }

    /// Publishes a persistent JSON message straight to `queue` and waits for the broker's
    /// confirmation. `Ok` means RabbitMQ has taken responsibility for the message.
    pub async fn publish(
        &self,
        queue: &str,
        body: &[u8],
        message_id: &str,
        headers: &[(&str, &str)],
    ) -> Result<(), BrokerError> {
        let channel = self.publisher().await?;
        let mut table = FieldTable::default();
        for (name, value) in headers {
            table.insert(
                header(name),
                AMQPValue::LongString(LongString::from(value.as_bytes().to_vec())),
            );
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message_id.to_string().into())
            .with_headers(table);
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let confirmed = tokio::time::timeout(CONFIRM_TIMEOUT, async {
            channel
                .basic_publish("".into(), queue.into(), options, body, properties)
                .await?
                .await
        })
        .await
        .map_err(|_| BrokerError::NotConfirmed)??;
        match confirmed {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_returned)) => Err(BrokerError::Unroutable(queue.to_string())),
            Confirmation::Nack(_) | Confirmation::NotRequested => Err(BrokerError::NotConfirmed),
        }
    }

    /// Sends a job's message where `route` says, confirmed, and returns how long it waits
    /// there (zero on the work queue). The one publish path of every job message.
    pub async fn send<M: JobMessage>(
        &self,
        message: &M,
        route: Route,
    ) -> Result<Duration, BrokerError> {
        let queues = M::queues(&self.topology);
        let ms = |wait: Duration| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let (queue, waits_ms) = match route {
            Route::Now => (queues.work.clone(), 0),
            Route::AtLeast(wait) => queues.delay_for(ms(wait)),
            Route::AtMost(wait) => queues.delay_at_most(ms(wait)),
        };
        self.publish(&queue, &message.to_json(), &message.message_id(), &[])
            .await?;
        Ok(Duration::from_millis(waits_ms))
    }

    /// How many messages wait in each queue of one kind of job, read with passive declares on
    /// a channel of its own (a passive declare of a missing queue closes its channel).
    /// RabbitMQ's AMQP answer counts ready messages only; messages delivered and not yet
    /// acknowledged are not in it (the jobs' rows say which are running).
    pub async fn queue_depths(&self, queues: &JobQueues) -> Result<QueueDepths, BrokerError> {
        let channel = self.channel().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let read = |name: String| {
            let channel = channel.clone();
            async move {
                channel
                    .queue_declare(name.as_str().into(), passive, FieldTable::default())
                    .await
            }
        };
        let work = read(queues.work.clone()).await?;
        let parked = read(queues.parked.clone()).await?;
        let mut delayed = 0u64;
        for tier in DELAY_TIERS_MS {
            delayed += u64::from(read(queues.delay(tier)).await?.message_count());
        }
        let _ = channel.close(200, "depths read".into()).await;
        Ok(QueueDepths {
            ready: u64::from(work.message_count()),
            consumers: u64::from(work.consumer_count()),
            delayed,
            parked: u64::from(parked.message_count()),
        })
    }

    /// Messages ready in one queue, read with one passive declare on a channel of its own:
    /// for a caller that needs one count, not every queue of a kind ([`Broker::queue_depths`]).
    pub async fn ready_in(&self, queue: &str) -> Result<u64, BrokerError> {
        Ok(self.ready_in_each(&[queue]).await?[0])
    }

    /// Messages ready in each of `queues`, in order, read on one channel (one passive declare
    /// each): a periodic reader opens one channel per read, not one per queue.
    pub async fn ready_in_each(&self, queues: &[&str]) -> Result<Vec<u64>, BrokerError> {
        let channel = self.channel().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let mut counts = Vec::with_capacity(queues.len());
        let mut failed = None;
        for queue in queues {
            match channel
                .queue_declare((*queue).into(), passive, FieldTable::default())
                .await
            {
                Ok(declared) => counts.push(u64::from(declared.message_count())),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let _ = channel.close(200, "depths read".into()).await;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(counts),
        }
    }

    /// Deletes every queue of this namespace, messages included: for tearing down a test or
    /// benchmark namespace, never a live deployment.
    pub async fn delete_namespace_queues(&self) -> Result<(), BrokerError> {
        let channel = self.channel().await?;
        for queue in self.topology.queue_names() {
            channel
                .queue_delete(
                    queue.as_str().into(),
                    lapin::options::QueueDeleteOptions::default(),
                )
                .await?;
        }
        let _ = channel.close(200, "namespace deleted".into()).await;
        Ok(())
    }

    /// Closes the connection cleanly.
    pub async fn close(&self) {
        let mut state = self.state.lock().await;
        if let Some(live) = state.live.take() {
            let _ = live.connection.close(200, "shutting down".into()).await;
        }
    }
}
