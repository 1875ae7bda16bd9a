//! Fleet-wide counts of how `POST /v1/searches` was answered: from our catalog or upstream.
//!
//! The `searches` table cannot give the catalog hit ratio: a repeat answered from a stored
//! answer (or from [`crate::answer_cache`]) writes no row, by design, since that is the hot
//! path. So every API process counts its answers in memory (two atomics, nothing on the
//! request path touches the network) and adds them every [`FLUSH_EVERY`] to Redis, into one
//! hash per [`BUCKET_SECS`] of wall time that lives [`BUCKET_TTL`]. The status route sums the
//! buckets of the last minute across every process of the namespace.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use chrono::Utc;
use muze_shared::redis_conn::Redis;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Width of one Redis bucket: fine enough that the last minute is read within 5 s.
pub const BUCKET_SECS: i64 = 5;
/// How often each process adds its counts to Redis: the page polls every 2 s.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Buckets outlive any window the status route reads (one minute) by far.
const BUCKET_TTL: Duration = Duration::from_secs(15 * 60);

/// How one search request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// 200 from our own catalog, no upstream call.
    Catalog,
    /// 202: a job was queued, or the request joined one in flight.
    Upstream,
}

/// Answers summed over some buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerCounts {
    pub catalog: u64,
    pub upstream: u64,
}

/// This process's answers not yet added to Redis.
#[derive(Debug)]
pub struct AnswerTally {
    namespace: String,
    catalog: AtomicU64,
    upstream: AtomicU64,
}

impl AnswerTally {
    pub fn new(namespace: &str) -> AnswerTally {
        AnswerTally {
            namespace: namespace.to_string(),
            catalog: AtomicU64::new(0),
            upstream: AtomicU64::new(0),
        }
    }

    /// Counts one answered search.
    pub fn count(&self, answered: Answered) {
        let counter = match answered {
            Answered::Catalog => &self.catalog,
            Answered::Upstream => &self.upstream,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Redis key of the bucket holding second `epoch_secs`.
    fn bucket_key(&self, epoch_secs: i64) -> String {
        format!(
            "{}:status:answers:{}",
            self.namespace,
            epoch_secs.div_euclid(BUCKET_SECS)
        )
    }

    /// Adds the counts held here to the current bucket. On failure they are kept for the
    /// next flush, so a Redis outage delays counts but loses none.
    pub async fn flush(&self, redis: &Redis) -> redis::RedisResult<()> {
        let catalog = self.catalog.swap(0, Ordering::Relaxed);
        let upstream = self.upstream.swap(0, Ordering::Relaxed);
        if catalog == 0 && upstream == 0 {
            return Ok(());
        }
        let key = self.bucket_key(Utc::now().timestamp());
        let written = redis
            .run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .hincr(&key, "catalog", catalog)
                    .ignore()
                    .hincr(&key, "upstream", upstream)
                    .ignore()
                    .expire(&key, BUCKET_TTL.as_secs() as i64)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
        if written.is_err() {
            self.catalog.fetch_add(catalog, Ordering::Relaxed);
            self.upstream.fetch_add(upstream, Ordering::Relaxed);
        }
        written
    }

    /// Flushes every [`FLUSH_EVERY`] until `stop`, then once more.
    pub fn spawn_flusher(
        self: std::sync::Arc<Self>,
        redis: Redis,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(FLUSH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    () = stop.cancelled() => break,
                }
                if let Err(e) = self.flush(&redis).await {
                    tracing::debug!(error = %e, "answer tally not flushed; kept for the next flush");
                }
            }
            if let Err(e) = self.flush(&redis).await {
                tracing::warn!(error = %e, "answer tally lost at shutdown (Redis unreachable)");
            }
        })
    }

    /// The fleet's answers in the buckets covering the last `window_secs` (ending now), and
    /// the seconds those buckets actually span (the oldest one starts a little before).
    pub async fn read(
        &self,
        redis: &Redis,
        window_secs: i64,
    ) -> redis::RedisResult<(AnswerCounts, f64)> {
        let now = Utc::now();
        let now_secs = now.timestamp();
        let newest = now_secs.div_euclid(BUCKET_SECS);
        let buckets = (window_secs / BUCKET_SECS).max(1);
        let oldest = newest - buckets + 1;
        let keys: Vec<String> = (oldest..=newest)
            .map(|b| self.bucket_key(b * BUCKET_SECS))
            .collect();
        let rows: Vec<(Option<u64>, Option<u64>)> = redis
            .run(|mut c| async move {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.hmget(key, &["catalog", "upstream"]);
                }
                pipe.query_async(&mut c).await
            })
            .await?;
        let counts = rows
            .into_iter()
            .fold(AnswerCounts::default(), |sum, (catalog, upstream)| {
                AnswerCounts {
                    catalog: sum.catalog + catalog.unwrap_or(0),
                    upstream: sum.upstream + upstream.unwrap_or(0),
                }
            });
        let spanned = now.timestamp_millis() - oldest * BUCKET_SECS * 1000;
        Ok((counts, spanned as f64 / 1000.0))
    }
}
