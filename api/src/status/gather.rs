//! Reads the status report: a handful of bounded reads, run concurrently.
//!
//! - Redis: each provider's limiter state ([`RateLimiter::status`]), and the answer tally.
//! - RabbitMQ: passive declares of each kind's queues ([`Broker::queue_depths`]).
//! - Postgres, four queries, each bounded by an index and a time window or a `LIMIT`: running
//!   jobs, search rates and latency (`percentile_cont`), calls per provider per bucket from the
//!   searches' attempts, running crawls with their pages, and the newest tick.

use std::time::Duration;

use chrono::{DateTime, Utc};
use muze_shared::{
    domain::ProviderName,
    queue::{JobQueues, QueueDepths},
    rate_limit::ProviderStatus,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::report::{
    CallHistory, CrawlProgress, CrawlReport, ParkedReport, ProviderReport, QueueReport,
    SearchRates, StatusReport,
};
use crate::{error::ApiError, state::AppState};

/// Rates, latency and the hit ratio are over this last stretch of time.
pub const RECENT_SECS: i64 = 60;
/// Buckets in each provider's chart.
pub const HISTORY_BUCKETS: usize = 10;
/// A chart bucket is the provider's window, at most this: ten minutes of attempts at most
/// are read, whatever the window.
const MAX_BUCKET: Duration = Duration::from_secs(60);
/// Running crawls listed at most.
const CRAWLS_SHOWN: i64 = 10;
/// The schedule the scheduler fires crawls under (`muze_scheduler::SCHEDULE`).
const CRAWL_SCHEDULE: &str = "crawl";

/// Reads everything the page shows.
pub async fn report(state: &AppState) -> Result<StatusReport, ApiError> {
    let history_span: Vec<(ProviderName, Duration)> = ProviderName::ALL
        .into_iter()
        .filter_map(|p| {
            let budget = state.limiter.budget(p)?;
            Some((
                p,
                budget
                    .limit
                    .window
                    .min(MAX_BUCKET)
                    .max(Duration::from_millis(1)),
            ))
        })
        .collect();
    let (limits, queues, running, rates, history, crawls, last_tick, tally) = tokio::try_join!(
        limiter_states(state),
        queue_depths(state),
        running_jobs(&state.pool),
        job_rates(&state.pool, state.search.deadline),
        call_history(&state.pool, &history_span, state.search.deadline),
        running_crawls(&state.pool),
        last_tick(&state.pool),
        answers(state),
    )?;
    let providers = limits
        .into_iter()
        .map(|status| {
            let bucket = history_span
                .iter()
                .find(|(p, _)| *p == status.provider)
                .map_or(MAX_BUCKET, |(_, b)| *b);
            let calls = history
                .iter()
                .find(|(p, _)| *p == status.provider)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| vec![0; HISTORY_BUCKETS]);
            provider_report(state, status, bucket, calls)
        })
        .collect::<Vec<_>>();
    let (search_depths, crawl_depths) = queues;
    let queues = vec![
        queue_report("search", search_depths, running.0),
        queue_report("crawl", crawl_depths, running.1),
    ];
    let parked = ParkedReport {
        search: queues[0].parked,
        crawl: queues[1].parked,
        listing: None,
    };
    let (counts, spanned_secs) = tally;
    let answered = counts.catalog + counts.upstream;
    let searches = SearchRates {
        window_secs: RECENT_SECS as f64,
        per_second: answered as f64 / spanned_secs.max(1.0),
        catalog_answers: counts.catalog,
        upstream_answers: counts.upstream,
        catalog_hit_ratio: (answered > 0).then(|| counts.catalog as f64 / answered as f64),
        jobs_per_second: rates.created as f64 / RECENT_SECS as f64,
        jobs_finished: rates.finished as u64,
        jobs_failed: rates.failed as u64,
        p50_ms: rates.p50_ms,
        p99_ms: rates.p99_ms,
    };
    let now = Utc::now();
    let schedule = state.status.crawl_schedule.as_ref();
    let crawls = CrawlReport {
        running: crawls,
        schedule: schedule.map_or_else(
            |e| format!("invalid: {e}"),
            |s| format!("{} ({})", s.expression(), s.timezone()),
        ),
        next_tick: schedule.ok().and_then(|s| s.next_after(now)),
        last_tick,
    };
    let health = super::health::judge(&providers, &queues, state.status.crawl_schedule.is_ok());
    Ok(StatusReport {
        generated_at: now,
        health,
        providers,
        queues,
        searches,
        crawls,
        parked,
    })
}

async fn limiter_states(state: &AppState) -> Result<Vec<ProviderStatus>, ApiError> {
    let mut states = Vec::with_capacity(ProviderName::ALL.len());
    for provider in ProviderName::ALL {
        states.push(
            state
                .limiter
                .status(provider)
                .await
                .map_err(|e| ApiError::Unavailable(e.into()))?,
        );
    }
    Ok(states)
}

fn provider_report(
    state: &AppState,
    status: ProviderStatus,
    bucket: Duration,
    calls: Vec<u64>,
) -> ProviderReport {
    let window_secs = state
        .limiter
        .budget(status.provider)
        .map_or(0.0, |b| b.limit.window.as_secs_f64());
    ProviderReport {
        provider: status.provider,
        fallback_position: state
            .search
            .providers
            .iter()
            .position(|p| *p == status.provider),
        limit: status.limit,
        window_secs,
        effective_limit: status.effective_limit,
        calls_in_window: status.calls_in_window,
        calls_in_flight: status.calls_in_flight,
        reserved_for_interactive: status.reserved_for_interactive,
        cooldown_until: status.cooldown_until,
        recovering_until: status.recovering_until,
        circuit: status.circuit,
        circuit_open_until: status.circuit_open_until,
        quota: status.quota,
        history: CallHistory {
            bucket_secs: bucket.as_secs_f64(),
            calls,
        },
    }
}

async fn queue_depths(state: &AppState) -> Result<(QueueDepths, QueueDepths), ApiError> {
    let topology = state.broker.topology();
    let read = |queues: &JobQueues| {
        let queues = queues.clone();
        let broker = state.broker.clone();
        async move { broker.queue_depths(&queues).await }
    };
    let (search, crawl) = tokio::try_join!(read(&topology.search), read(&topology.crawl))
        .map_err(|e| ApiError::Unavailable(anyhow::Error::new(e).context("RabbitMQ")))?;
    Ok((search, crawl))
}

fn queue_report(kind: &'static str, depths: QueueDepths, running: i64) -> QueueReport {
    QueueReport {
        kind,
        ready: depths.ready,
        delayed: depths.delayed,
        parked: depths.parked,
        consumers: depths.consumers,
        running: u64::try_from(running).unwrap_or(0),
    }
}

/// Search jobs and crawl pages `running` now (both read through their partial indexes of
/// unfinished rows).
async fn running_jobs(pool: &PgPool) -> Result<(i64, i64), ApiError> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM searches WHERE status = 'running'),
                (SELECT count(*) FROM crawl_pages WHERE status = 'running')",
    )
    .fetch_one(pool)
    .await?)
}

#[derive(Debug, sqlx::FromRow)]
struct JobRates {
    created: i64,
    finished: i64,
    failed: i64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
}

/// Jobs created and finished in the recent window, and creation → final percentiles. A job
/// finishing in the window was created at most its deadline (plus a sweep's slack) before.
async fn job_rates(pool: &PgPool, deadline: Duration) -> Result<JobRates, ApiError> {
    Ok(sqlx::query_as(
        "WITH recent AS (
             SELECT created_at, finished_at, status,
                    finished_at >= now() - make_interval(secs => $1) AS finished_recently
             FROM searches
             WHERE created_at >= now() - make_interval(secs => $1 + $2)
               AND source IS DISTINCT FROM 'catalog')
         SELECT count(*) FILTER (WHERE created_at >= now() - make_interval(secs => $1)) AS created,
                count(*) FILTER (WHERE finished_recently) AS finished,
                count(*) FILTER (WHERE finished_recently AND status = 'failed') AS failed,
                percentile_cont(0.5) WITHIN GROUP (
                    ORDER BY extract(epoch FROM finished_at - created_at) * 1000)
                    FILTER (WHERE finished_recently) AS p50_ms,
                percentile_cont(0.99) WITHIN GROUP (
                    ORDER BY extract(epoch FROM finished_at - created_at) * 1000)
                    FILTER (WHERE finished_recently) AS p99_ms
         FROM recent",
    )
    .bind(RECENT_SECS as f64)
    .bind(deadline.as_secs_f64() + 60.0)
    .fetch_one(pool)
    .await?)
}

/// Attempts per provider per bucket (bucket 0 ends now), over the last [`HISTORY_BUCKETS`]
/// buckets of each provider's width.
async fn call_history(
    pool: &PgPool,
    spans: &[(ProviderName, Duration)],
    deadline: Duration,
) -> Result<Vec<(ProviderName, Vec<u64>)>, ApiError> {
    let names: Vec<&str> = spans.iter().map(|(p, _)| p.as_str()).collect();
    let bucket_ms: Vec<f64> = spans.iter().map(|(_, b)| b.as_millis() as f64).collect();
    let longest = spans
        .iter()
        .map(|(_, b)| b.as_secs_f64())
        .fold(0.0, f64::max)
        * HISTORY_BUCKETS as f64;
    let rows: Vec<(String, i32, i64)> = sqlx::query_as(
        "WITH p AS (SELECT * FROM unnest($1::text[], $2::float8[]) AS p(provider, bucket_ms)),
              a AS (
                  SELECT a->>'provider' AS provider,
                         extract(epoch FROM now() - (a->>'at')::timestamptz) * 1000 AS ago_ms
                  FROM searches s, jsonb_array_elements(s.attempts) a
                  WHERE s.created_at >= now() - make_interval(secs => $3 + $4))
         SELECT a.provider, floor(a.ago_ms / p.bucket_ms)::int AS bucket, count(*)
         FROM a JOIN p ON p.provider = a.provider
         WHERE a.ago_ms >= 0 AND a.ago_ms < p.bucket_ms * $5
         GROUP BY 1, 2",
    )
    .bind(&names)
    .bind(&bucket_ms)
    .bind(longest)
    .bind(deadline.as_secs_f64() + 60.0)
    .bind(HISTORY_BUCKETS as f64)
    .fetch_all(pool)
    .await?;
    Ok(spans
        .iter()
        .map(|(p, _)| {
            let mut calls = vec![0u64; HISTORY_BUCKETS];
            for (_, bucket, count) in rows.iter().filter(|(name, ..)| name == p.as_str()) {
                if let Ok(ago) = usize::try_from(*bucket) {
                    if ago < HISTORY_BUCKETS {
                        calls[HISTORY_BUCKETS - 1 - ago] = u64::try_from(*count).unwrap_or(0);
                    }
                }
            }
            (*p, calls)
        })
        .collect())
}

type CrawlRow = (Uuid, String, DateTime<Utc>, i64, i64, i64);

/// The newest running crawls and their pages by state.
async fn running_crawls(pool: &PgPool) -> Result<Vec<CrawlProgress>, ApiError> {
    let rows: Vec<CrawlRow> = sqlx::query_as(
        "SELECT c.id, c.trigger, c.created_at, count(p.key),
                count(p.key) FILTER (WHERE p.status = 'done'),
                count(p.key) FILTER (WHERE p.status = 'failed')
         FROM (SELECT id, trigger, created_at FROM crawls WHERE status = 'running'
               ORDER BY created_at DESC LIMIT $1) c
         LEFT JOIN crawl_pages p ON p.crawl_id = c.id
         GROUP BY c.id, c.trigger, c.created_at
         ORDER BY c.created_at DESC",
    )
    .bind(CRAWLS_SHOWN)
    .fetch_all(pool)
    .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(
            |(id, trigger, created_at, total, done, failed)| CrawlProgress {
                id,
                trigger,
                created_at,
                pages_total: count(total),
                pages_done: count(done),
                pages_failed: count(failed),
            },
        )
        .collect())
}

async fn last_tick(pool: &PgPool) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(muze_shared::db::crawls::last_tick(pool, CRAWL_SCHEDULE).await?)
}

/// The fleet's answers over the recent window; this process's own counts go to Redis first,
/// so a report never misses what its own process answered.
async fn answers(state: &AppState) -> Result<(super::tally::AnswerCounts, f64), ApiError> {
    let unavailable =
        |e: redis::RedisError| ApiError::Unavailable(anyhow::Error::new(e).context("Redis"));
    state
        .status
        .tally
        .flush(&state.redis)
        .await
        .map_err(unavailable)?;
    state
        .status
        .tally
        .read(&state.redis, RECENT_SECS)
        .await
        .map_err(unavailable)
}
