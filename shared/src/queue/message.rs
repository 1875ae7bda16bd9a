//! The job messages. A search message carries validated types so the worker never re-parses
//! user input; every message carries the job's id so the worker can check Postgres, the source
//! of truth.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{NormalizedQuery, Query, ResultLimit, SearchType};

use super::{JobQueues, Topology};

/// A message of one kind of job: which queues it travels on and how it is named. Every
/// message is sent through [`super::Broker::send`], the one typed publish path.
pub trait JobMessage: Serialize + serde::de::DeserializeOwned + Send + Sync {
    /// The queues of this kind of job.
    fn queues(topology: &Topology) -> &JobQueues;

    /// The broker message id: the same job always has the same one.
    fn message_id(&self) -> String;

    /// The message as it travels.
    fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A message read back, or why it cannot be.
    fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Header on a parked message saying why it was parked.
pub const REASON_HEADER: &str = "x-muze-parked-reason";
/// Header on a parked message saying when it was parked (RFC 3339).
pub const PARKED_AT_HEADER: &str = "x-muze-parked-at";

/// One search job on the `search` queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchMessage {
    pub search_id: Uuid,
    pub query: Query,
    pub normalized: NormalizedQuery,
    #[serde(rename = "type")]
    pub search_type: SearchType,
    pub limit: ResultLimit,
    pub deadline_at: DateTime<Utc>,
    /// Transient-failure retries so far. Waiting for budget does not count.
    #[serde(default)]
    pub retries: u32,
    /// Refreshes a stale catalog answer: only if budget allows now, never retried.
    #[serde(default)]
    pub refresh: bool,
}

impl JobMessage for SearchMessage {
    fn queues(topology: &Topology) -> &JobQueues {
        &topology.search
    }

    fn message_id(&self) -> String {
        self.search_id.to_string()
    }
}

/// One crawl page on the `crawl` queue. The page itself (what to fetch, how far it got) is in
/// Postgres; the message only names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlMessage {
    pub crawl_id: Uuid,
    pub key: String,
    /// Transient-failure retries so far. Waiting for budget does not count.
    #[serde(default)]
    pub retries: u32,
}

impl CrawlMessage {
    /// The first message of a page.
    pub fn new(crawl_id: Uuid, key: impl Into<String>) -> CrawlMessage {
        CrawlMessage {
            crawl_id,
            key: key.into(),
            retries: 0,
        }
    }
}

impl JobMessage for CrawlMessage {
    fn queues(topology: &Topology) -> &JobQueues {
        &topology.crawl
    }

    fn message_id(&self) -> String {
        format!("{}/{}", self.crawl_id, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_invalid_payloads() {
        let q = Query::parse("아이유 좋은 날").expect("valid");
        let msg = SearchMessage {
            search_id: Uuid::now_v7(),
            normalized: q.normalize(),
            query: q,
            search_type: SearchType::Track,
            limit: ResultLimit::DEFAULT,
            deadline_at: Utc::now(),
            retries: 0,
            refresh: false,
        };
        let back = SearchMessage::from_json(&msg.to_json()).expect("round trip");
        assert_eq!(back, msg);
        // Validation travels with the type: an empty query cannot be smuggled in.
        let mut value = serde_json::to_value(&msg).expect("value");
        value["query"] = serde_json::json!("   ");
        assert!(serde_json::from_value::<SearchMessage>(value).is_err());
        assert!(SearchMessage::from_json(b"not json").is_err());
    }
}
