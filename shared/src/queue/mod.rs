//! RabbitMQ transport: topology names, the supervised broker connection with confirmed
//! publishing, and the messages that travel on it. RabbitMQ only carries jobs; their truth is
//! in Postgres.

mod broker;
mod message;
mod parked;
mod topology;

pub use broker::{Broker, BrokerError, QueueDepths, Route};
pub use message::{CrawlMessage, JobMessage, SearchMessage, PARKED_AT_HEADER, REASON_HEADER};
pub use parked::{ParkedMessage, ParkedPage, MAX_SCAN};
pub use topology::{JobQueues, Topology, DELAY_TIERS_MS};
