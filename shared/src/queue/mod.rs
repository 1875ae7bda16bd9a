//! RabbitMQ transport: topology names, the supervised broker connection with confirmed
//! publishing, and the messages that travel on it. RabbitMQ only carries jobs; their truth is
//! in Postgres.

mod broker;
mod message;
mod topology;

pub use broker::{Broker, BrokerError, QueueDepths, Route};
pub use message::{CrawlMessage, JobMessage, SearchMessage, REASON_HEADER};
pub use topology::{JobQueues, Topology, DELAY_TIERS_MS};
