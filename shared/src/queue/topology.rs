//! Queue names and their declarations. Every name starts with the namespace, so deployments
//! and test runs sharing one broker never see each other's messages.
//!
//! Per kind of job (`search`, `crawl`):
//! - `{ns}.{kind}`: the work queue, a quorum queue whose `x-delivery-limit` dead-letters a
//!   message that keeps crashing workers into the parking queue;
//! - `{ns}.{kind}.parked`: poison and unprocessable messages, kept with their reason for an
//!   operator;
//! - `{ns}.{kind}.delay.{ms}`: one queue per delay tier; a message waits there for the queue's
//!   TTL and is dead-lettered back to the work queue. One TTL per queue means no message ever
//!   waits behind a longer one (per-message TTLs only expire at the head of a queue).

use lapin::{
    options::QueueDeclareOptions,
    types::{AMQPValue, FieldTable, LongString, ShortString},
    Channel,
};

/// Delay tiers in milliseconds. A retry waits in the smallest tier at least as long as wanted.
pub const DELAY_TIERS_MS: [u64; 7] = [250, 1_000, 2_000, 5_000, 15_000, 30_000, 60_000];

/// The queues of one kind of job.
#[derive(Debug, Clone)]
pub struct JobQueues {
    pub work: String,
    pub parked: String,
    prefix: String,
}

impl JobQueues {
    fn new(namespace: &str, kind: &str) -> JobQueues {
        let prefix = format!("{namespace}.{kind}");
        JobQueues {
            work: prefix.clone(),
            parked: format!("{prefix}.parked"),
            prefix,
        }
    }

    /// The delay queue for a tier.
    pub fn delay(&self, tier_ms: u64) -> String {
        format!("{}.delay.{tier_ms}", self.prefix)
    }

    /// Every queue of this kind: work, parking and delay queues.
    pub fn all(&self) -> Vec<String> {
        let mut names = vec![self.work.clone(), self.parked.clone()];
        names.extend(DELAY_TIERS_MS.into_iter().map(|t| self.delay(t)));
        names
    }

    /// The delay queue that holds a message as long as possible without exceeding `wait_ms`
    /// (at least the shortest tier), and the tier's delay: for work that would rather come
    /// back a little early and wait out the rest in place than idle past its time.
    pub fn delay_at_most(&self, wait_ms: u64) -> (String, u64) {
        let tier = DELAY_TIERS_MS
            .into_iter()
            .rev()
            .find(|t| *t <= wait_ms)
            .unwrap_or(DELAY_TIERS_MS[0]);
        (self.delay(tier), tier)
    }

    /// The delay queue to use for waiting `wait_ms`, and the tier's actual delay.
    pub fn delay_for(&self, wait_ms: u64) -> (String, u64) {
        let tier = DELAY_TIERS_MS
            .into_iter()
            .find(|t| *t >= wait_ms)
            .unwrap_or(DELAY_TIERS_MS[DELAY_TIERS_MS.len() - 1]);
        (self.delay(tier), tier)
    }
}

/// All queue names of one namespace.
#[derive(Debug, Clone)]
pub struct Topology {
    pub namespace: String,
    pub search: JobQueues,
    /// Crawl pages: their own queue, so a crawl never delays a user's search.
    pub crawl: JobQueues,
    /// Deliveries of one message before it is parked.
    pub delivery_limit: u32,
}

impl Topology {
    pub fn new(namespace: &str, delivery_limit: u32) -> Topology {
        Topology {
            namespace: namespace.to_string(),
            search: JobQueues::new(namespace, "search"),
            crawl: JobQueues::new(namespace, "crawl"),
            delivery_limit,
        }
    }

    /// Every queue name of this namespace (for tearing a namespace down).
    pub fn queue_names(&self) -> Vec<String> {
        let mut names = self.search.all();
        names.extend(self.crawl.all());
        names
    }

    /// Declares every queue (idempotent; safe from many processes at once).
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        self.declare_kind(channel, &self.search).await?;
        self.declare_kind(channel, &self.crawl).await
    }

    async fn declare_kind(&self, channel: &Channel, queues: &JobQueues) -> lapin::Result<()> {
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(
                queues.parked.as_str().into(),
                durable,
                FieldTable::default(),
            )
            .await?;
        let mut work = FieldTable::default();
        work.insert("x-queue-type".into(), string("quorum"));
        work.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(self.delivery_limit)),
        );
        work.insert("x-dead-letter-exchange".into(), string(""));
        work.insert("x-dead-letter-routing-key".into(), string(&queues.parked));
        channel
            .queue_declare(queues.work.as_str().into(), durable, work)
            .await?;
        for tier in DELAY_TIERS_MS {
            let mut delay = FieldTable::default();
            delay.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(i64::try_from(tier).unwrap_or(i64::MAX)),
            );
            delay.insert("x-dead-letter-exchange".into(), string(""));
            delay.insert("x-dead-letter-routing-key".into(), string(&queues.work));
            channel
                .queue_declare(queues.delay(tier).as_str().into(), durable, delay)
                .await?;
        }
        Ok(())
    }
}

fn string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()))
}

/// A header name as lapin wants it.
pub(crate) fn header(name: &str) -> ShortString {
    ShortString::from(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_namespace() {
        let t = Topology::new("t42", 5);
        assert_eq!(t.search.work, "t42.search");
        assert_eq!(t.search.parked, "t42.search.parked");
        assert_eq!(t.search.delay(1000), "t42.search.delay.1000");
        assert_eq!(t.crawl.work, "t42.crawl");
        assert_eq!(t.queue_names().len(), 2 * (2 + DELAY_TIERS_MS.len()));
    }

    #[test]
    fn picks_the_smallest_tier_that_waits_long_enough() {
        let q = Topology::new("ns", 5).search;
        assert_eq!(q.delay_for(0).1, 250);
        assert_eq!(q.delay_for(250).1, 250);
        assert_eq!(q.delay_for(251).1, 1_000);
        assert_eq!(q.delay_for(4_000).1, 5_000);
        assert_eq!(q.delay_for(3_600_000).1, 60_000);
    }

    #[test]
    fn at_most_picks_the_longest_tier_that_does_not_overshoot() {
        let q = Topology::new("ns", 5).crawl;
        assert_eq!(q.delay_at_most(0).1, 250);
        assert_eq!(q.delay_at_most(999).1, 250);
        assert_eq!(q.delay_at_most(1_000).1, 1_000);
        assert_eq!(q.delay_at_most(10_000).1, 5_000);
        assert_eq!(q.delay_at_most(3_600_000), (q.delay(60_000), 60_000));
    }
}
