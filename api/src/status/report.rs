//! The shape of `GET /v1/admin/status`: everything the operators' page shows, with where each
//! number comes from.

use chrono::{DateTime, Utc};
use muze_shared::{
    domain::ProviderName,
    rate_limit::{CircuitState, QuotaStatus},
};
use serde::Serialize;
use uuid::Uuid;

/// Everything the status page shows, read in one request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusReport {
    /// When the report was read (this API process's clock).
    pub generated_at: DateTime<Utc>,
    /// One line for the page's header: the worst problem found below.
    pub health: Health,
    pub providers: Vec<ProviderReport>,
    pub queues: Vec<QueueReport>,
    pub searches: SearchRates,
    pub crawls: CrawlReport,
    pub parked: ParkedReport,
}

/// Overall health, and why. Named `FleetHealth` in the OpenAPI document: `Health` is the
/// `/healthz` answer's schema, and two schemas of one name would be one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = FleetHealth)]
pub struct Health {
    pub level: HealthLevel,
    /// One sentence per problem, worst first; empty when all is well.
    pub problems: Vec<String>,
}

/// How bad the worst problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthLevel {
    /// Searches are answered and nothing needs an operator.
    Ok,
    /// Searches are answered, but something needs a look: a provider cooling down or with
    /// its circuit open, parked messages, a quota nearly spent.
    Degraded,
    /// Searches cannot be answered: no worker consumes the search queue, or no provider of
    /// the fallback order can be called.
    Critical,
}

/// One provider's budget and health, from the shared limiter state in Redis (the same state
/// every worker decides on), and its recent calls.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderReport {
    pub provider: ProviderName,
    /// Position in the interactive fallback order, if it is in it.
    pub fallback_position: Option<usize>,
    /// The configured limit, e.g. `250/30s`.
    pub limit: String,
    /// Length of the rolling window of `limit`, in seconds.
    pub window_secs: f64,
    /// The limit in force now (lower than configured after 429s on adaptive providers).
    pub effective_limit: u32,
    /// Calls in the current rolling window, from the limiter's Redis log: every call of the
    /// budget, searches and crawls, by every deployment sharing it (in flight, or answered
    /// within the window).
    pub calls_in_window: u32,
    /// Calls granted and not yet reported.
    pub calls_in_flight: u32,
    /// Calls of each window only interactive searches may use.
    pub reserved_for_interactive: u32,
    /// A 429 or quota error asked for no calls before this.
    pub cooldown_until: Option<DateTime<Utc>>,
    /// Redis lost this budget's state; no calls before this.
    pub recovering_until: Option<DateTime<Utc>>,
    pub circuit: CircuitState,
    pub circuit_open_until: Option<DateTime<Utc>>,
    /// The calendar quota, for providers that have one.
    pub quota: Option<QuotaStatus>,
    pub history: CallHistory,
}

/// Calls per past window, for the page's chart.
///
/// Counted from the attempts recorded on this deployment's searches (`searches.attempts`):
/// one per call a search made to the provider. The limiter's Redis log cannot give it (it keeps
/// only the longest declared window), and `limiter_grants` only holds long-window budgets.
/// So crawl calls and other deployments sharing the budget are not in it, and a search's
/// attempts appear once the search settles or is retried.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallHistory {
    /// Width of one bucket: the provider's window, at most 60 s (a day-long window is charted
    /// by the minute).
    pub bucket_secs: f64,
    /// Calls per bucket, oldest first; the last bucket ends now.
    pub calls: Vec<u64>,
}

/// One kind of job's queues, from RabbitMQ (passive declares) and Postgres.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueReport {
    /// `search` or `crawl`.
    pub kind: &'static str,
    /// Messages ready on the work queue.
    pub ready: u64,
    /// Messages waiting in the delay queues (retries, budget waits).
    pub delayed: u64,
    /// Messages in the parking queue.
    pub parked: u64,
    /// Consumers on the work queue (one per live worker).
    pub consumers: u64,
    /// Jobs in progress: rows currently `running` in Postgres (searches, or crawl pages). It
    /// stands for RabbitMQ's "unacked", which its AMQP answer does not report.
    pub running: u64,
}

/// Searches over the last [`SearchRates::window_secs`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchRates {
    pub window_secs: f64,
    /// `POST /v1/searches` answered per second (catalog or upstream), fleet-wide, from the
    /// API processes' answer counts in Redis.
    pub per_second: f64,
    /// Of those, answered from our catalog (200, no upstream call).
    pub catalog_answers: u64,
    /// Of those, queued or joined to a job (202).
    pub upstream_answers: u64,
    /// `catalog_answers / (catalog_answers + upstream_answers)`; `null` without searches.
    pub catalog_hit_ratio: Option<f64>,
    /// Search jobs created in the window (rows in `searches` that did not come from the
    /// catalog), per second.
    pub jobs_per_second: f64,
    /// Search jobs that reached a final state in the window.
    pub jobs_finished: u64,
    /// Of those, failed.
    pub jobs_failed: u64,
    /// Median time from a job's creation (the first POST) to its final state, in ms, over the
    /// jobs finished in the window; `null` without any.
    pub p50_ms: Option<f64>,
    /// 99th percentile of the same.
    pub p99_ms: Option<f64>,
}

/// Crawls running now and the schedule.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CrawlReport {
    /// The newest running crawls (at most 10), newest first.
    pub running: Vec<CrawlProgress>,
    /// The cron schedule (`MUZE__SCHEDULER__CRAWL_CRON` in `MUZE__SCHEDULER__TIMEZONE`).
    pub schedule: String,
    /// When the scheduler fires next, by that schedule; `null` if it never does.
    pub next_tick: Option<DateTime<Utc>>,
    /// The newest tick a scheduler fired (from `schedule_ticks`); `null` if none yet.
    pub last_tick: Option<DateTime<Utc>>,
}

/// A running crawl's pages, from `crawl_pages`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CrawlProgress {
    pub id: Uuid,
    /// `schedule` or `admin`.
    pub trigger: String,
    pub created_at: DateTime<Utc>,
    /// Pages known so far (a page's answer can add more).
    pub pages_total: u64,
    pub pages_done: u64,
    pub pages_failed: u64,
}

/// Parked messages per kind of job. Listing and re-driving them is not served yet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParkedReport {
    pub search: u64,
    pub crawl: u64,
    /// Where the listing and re-drive will be; `null` while not served.
    pub listing: Option<String>,
}
