//! Every metric family the Muze processes export: its name, and its HELP text given once
//! here (see [`describe_all`]), so `/metrics` explains each family and the name in code and in
//! the alert rules is the same constant.
//!
//! Conventions (Prometheus): `muze_` prefix, base units (seconds), `_total` on counters, and
//! labels from small fixed sets only: a route template, a provider, a kind of job, a status or
//! outcome word. Never an id, a query or a key.
//!
//! Who exports what: the API its HTTP and search families and the fleet's gauges (queue
//! depths, budgets, crawl pages: sampled every `MUZE__API__FLEET_SAMPLE_MS`); workers the job,
//! provider, limiter, parking and sweeper families; the scheduler its tick families.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

/// Requests answered, by `route` (template), `method` and `status`.
pub const HTTP_REQUESTS: &str = "muze_http_requests_total";
/// Request latency, by `route`, `method` and `status`.
pub const HTTP_REQUEST_DURATION: &str = "muze_http_request_duration_seconds";
/// Connections refused at the connection cap.
pub const HTTP_CONNECTIONS_REFUSED: &str = "muze_http_connections_refused_total";
/// Requests answered 503 `overloaded` (connection or long-poll cap).
pub const HTTP_OVERLOADED: &str = "muze_http_requests_overloaded_total";

/// `POST /v1/searches` looked up in our catalog, by `result` (`hit`: answered 200 without a
/// job; `miss`: a job was created or joined).
pub const CATALOG_LOOKUPS: &str = "muze_catalog_lookups_total";
/// Catalog answers by `kind`: a stored answer (`fresh`, `stale`) or tracks the query names
/// (`confident`: title and artist; `title`: a title alone; `typo`, `title_typo`: one edit away).
pub const CATALOG_ANSWERS: &str = "muze_catalog_answers_total";
/// Searches that joined an identical job already queued or running.
pub const SEARCHES_JOINED: &str = "muze_searches_joined_total";
/// Long-polls waiting right now in this API process.
pub const LONG_POLL_WAITERS: &str = "muze_long_poll_waiters";

/// Jobs that reached a final state, by `kind` (`search`, `crawl_page`) and `status`
/// (`succeeded`, `failed`).
pub const JOBS_FINISHED: &str = "muze_jobs_finished_total";
/// Seconds from `POST /v1/searches` creating a job to the job's final state, by `status`.
pub const SEARCH_LATENCY: &str = "muze_search_latency_seconds";
/// Searches finished, by `status` with `source` (succeeded) or `code` (failed).
pub const SEARCHES_FINISHED: &str = "muze_searches_finished_total";

/// Interactive provider calls by `provider` and `outcome` (`ok`, `empty`, `rate_limited`,
/// `timeout`, `error`).
pub const PROVIDER_CALLS: &str = "muze_provider_calls_total";
/// Provider call latency (every call, searches and crawls), by `provider` and `priority`.
pub const PROVIDER_CALL_DURATION: &str = "muze_provider_call_duration_seconds";
/// Calls a provider refused for its limit, by `provider` and `reason` (`rate_limited`: a 429;
/// `quota_exhausted`: a daily quota spent).
pub const PROVIDER_THROTTLED: &str = "muze_provider_throttled_total";
/// Limiter grants by `provider` and `priority`.
pub const LIMITER_GRANTS: &str = "muze_limiter_grants_total";
/// Limiter refusals (wait) by `provider` and `priority`.
pub const LIMITER_WAITS: &str = "muze_limiter_waits_total";
/// Budgets found lost in Redis and rebuilt, by `provider`.
pub const LIMITER_STATE_LOST: &str = "muze_limiter_state_lost_total";

/// Messages moved to a parking queue (delivery limit reached or poison).
pub const MESSAGES_PARKED: &str = "muze_messages_parked_total";
/// Parked messages dropped, oldest first, to keep a parking queue within
/// `worker.parked_limit`, by `kind`.
pub const PARKED_DROPPED: &str = "muze_parked_dropped_total";
/// Repairs the sweeper made, by `repair` (`expired_search`, `stranded_search`, `lost_search`,
/// `stranded_crawl_page`).
pub const SWEEPER_REPAIRS: &str = "muze_sweeper_repairs_total";

/// Crawl pages fetched, by `provider` and `outcome`.
pub const CRAWL_PAGES_FETCHED: &str = "muze_crawl_pages_total";
/// Tracks crawls added to the catalog.
pub const CRAWL_TRACKS_ADDED: &str = "muze_crawl_tracks_added_total";
/// Crawls finished, by `status`.
pub const CRAWLS_FINISHED: &str = "muze_crawls_finished_total";
/// Crawls started, by `trigger`.
pub const CRAWLS_STARTED: &str = "muze_crawls_started_total";

/// Messages in a job kind's queues now, by `kind` (`search`, `crawl`) and `state` (`ready`,
/// `delayed`, `parked`). Fleet gauge, sampled by the API.
pub const QUEUE_MESSAGES: &str = "muze_queue_messages";
/// Consumers subscribed to a job kind's work queue now, by `kind`. Fleet gauge.
pub const QUEUE_CONSUMERS: &str = "muze_queue_consumers";
/// Calls in a provider budget's current rolling window, by `provider`. Fleet gauge.
pub const BUDGET_CALLS_IN_WINDOW: &str = "muze_budget_calls_in_window";
/// Calls granted and not yet answered, by `provider`. Fleet gauge.
pub const BUDGET_CALLS_IN_FLIGHT: &str = "muze_budget_calls_in_flight";
/// Calls allowed per window now (the effective limit), by `provider`. Fleet gauge.
pub const BUDGET_LIMIT: &str = "muze_budget_limit";
/// Calls of each window kept for interactive searches, by `provider`. Fleet gauge.
pub const BUDGET_RESERVED: &str = "muze_budget_reserved_calls";
/// Seconds left of the fleet-wide cooldown after a 429 (0 when none), by `provider`.
pub const BUDGET_COOLDOWN: &str = "muze_budget_cooldown_seconds";
/// Circuit breaker state, by `provider` and `state` (`closed`, `open`, `half_open`): 1 for
/// the current state, 0 for the others. Fleet gauge.
pub const BUDGET_BREAKER: &str = "muze_budget_breaker_state";
/// Calls left of a calendar quota, by `provider` (only providers with a quota). Fleet gauge.
pub const BUDGET_QUOTA_LEFT: &str = "muze_budget_quota_left";
/// A calendar quota's size, by `provider`. Fleet gauge.
pub const BUDGET_QUOTA_LIMIT: &str = "muze_budget_quota_limit";
/// Pages of crawls still running, by `state` (`pending`, `running`, `done`, `failed`).
pub const CRAWL_PAGES: &str = "muze_crawl_pages";
/// Samples of the fleet's gauges that failed, by `source` (`rabbitmq`, `redis`, `postgres`).
pub const FLEET_SAMPLE_FAILURES: &str = "muze_fleet_sample_failures_total";

/// Ticks this replica fired, by `schedule` and `catch_up` (`true` for a missed tick fired late).
pub const TICKS_FIRED: &str = "muze_scheduler_ticks_fired_total";
/// Ticks another replica fired first, by `schedule`.
pub const TICKS_LOST: &str = "muze_scheduler_ticks_lost_total";
/// Missed ticks dropped by the catch-up policy, by `schedule`.
pub const TICKS_SKIPPED: &str = "muze_scheduler_ticks_skipped_total";
/// Rounds that could not reach the database and are retried, by `schedule`.
pub const SCHEDULER_ROUNDS_FAILED: &str = "muze_scheduler_rounds_failed_total";
/// When the schedule's next tick is due (Unix seconds), by `schedule`: a tick is missing when
/// the time passes this by more than a round.
pub const NEXT_TICK: &str = "muze_scheduler_next_tick_timestamp_seconds";

/// Buckets for request and provider-call latency (seconds): 5 ms to the 40 s request limit.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 40.0,
];
/// Buckets for POST → final (seconds): from a fast provider to the 60 s default deadline and
/// past it (a retried job can end a little later).
pub const SEARCH_LATENCY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];

/// Gives every family its HELP text (and unit). Called once, when the recorder is installed.
pub fn describe_all() {
    let counters = [
        (HTTP_REQUESTS, "HTTP requests answered, by route template, method and status."),
        (HTTP_CONNECTIONS_REFUSED, "Connections refused at the API's connection cap."),
        (HTTP_OVERLOADED, "Requests answered 503 overloaded (connection or long-poll cap)."),
        (CATALOG_LOOKUPS, "POST /v1/searches by catalog result: hit (answered from our catalog) or miss (a job created or joined)."),
        (CATALOG_ANSWERS, "Searches answered from our catalog, by kind of answer."),
        (SEARCHES_JOINED, "Searches that joined an identical job already queued or running."),
        (JOBS_FINISHED, "Jobs that reached a final state, by kind and status."),
        (SEARCHES_FINISHED, "Search jobs finished, by status with source or error code."),
        (PROVIDER_CALLS, "Interactive provider calls, by provider and outcome."),
        (PROVIDER_THROTTLED, "Provider calls refused for the provider's limit (429 or quota), by provider and reason."),
        (LIMITER_GRANTS, "Provider budget grants, by provider and priority."),
        (LIMITER_WAITS, "Provider budget refusals (the caller waits), by provider and priority."),
        (LIMITER_STATE_LOST, "Provider budgets found lost in Redis and rebuilt."),
        (MESSAGES_PARKED, "Messages moved to a parking queue."),
        (PARKED_DROPPED, "Parked messages dropped, oldest first, to keep a parking queue within MUZE__WORKER__PARKED_LIMIT, by kind."),
        (SWEEPER_REPAIRS, "Repairs made by the sweeper, by kind of repair."),
        (CRAWL_PAGES_FETCHED, "Crawl pages fetched, by provider and outcome."),
        (CRAWL_TRACKS_ADDED, "Tracks crawls added to the catalog."),
        (CRAWLS_FINISHED, "Crawls finished, by status."),
        (CRAWLS_STARTED, "Crawls started, by trigger."),
        (FLEET_SAMPLE_FAILURES, "Failed samples of the fleet gauges, by source."),
        (TICKS_FIRED, "Schedule ticks this replica fired, by schedule and catch-up."),
        (TICKS_LOST, "Schedule ticks another replica fired first."),
        (TICKS_SKIPPED, "Missed schedule ticks dropped by the catch-up policy."),
        (SCHEDULER_ROUNDS_FAILED, "Scheduler rounds that failed on the database and are retried."),
    ];
    for (name, help) in counters {
        describe_counter!(name, help);
    }
    let gauges = [
        (LONG_POLL_WAITERS, "Long-polls waiting in this API process."),
        (
            QUEUE_MESSAGES,
            "Messages in a job kind's queues, by kind and state (fleet, sampled).",
        ),
        (
            QUEUE_CONSUMERS,
            "Consumers on a job kind's work queue (fleet, sampled).",
        ),
        (
            BUDGET_CALLS_IN_WINDOW,
            "Calls in a provider budget's current rolling window (fleet, sampled).",
        ),
        (
            BUDGET_CALLS_IN_FLIGHT,
            "Provider calls granted and not yet answered (fleet, sampled).",
        ),
        (
            BUDGET_LIMIT,
            "Calls a provider budget allows per window now (fleet, sampled).",
        ),
        (
            BUDGET_RESERVED,
            "Calls of each window kept for interactive searches (fleet, sampled).",
        ),
        (
            BUDGET_BREAKER,
            "Circuit breaker state per provider: 1 for the current state (fleet, sampled).",
        ),
        (
            BUDGET_QUOTA_LEFT,
            "Calls left of a provider's calendar quota (fleet, sampled).",
        ),
        (
            BUDGET_QUOTA_LIMIT,
            "Size of a provider's calendar quota (fleet, sampled).",
        ),
        (
            CRAWL_PAGES,
            "Pages of running crawls, by state (fleet, sampled).",
        ),
    ];
    for (name, help) in gauges {
        describe_gauge!(name, help);
    }
    describe_gauge!(
        BUDGET_COOLDOWN,
        Unit::Seconds,
        "Seconds left of a provider's fleet-wide cooldown after a 429 (fleet, sampled)."
    );
    describe_gauge!(
        NEXT_TICK,
        Unit::Seconds,
        "When the schedule's next tick is due, Unix seconds."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP request latency, by route template, method and status."
    );
    describe_histogram!(
        SEARCH_LATENCY,
        Unit::Seconds,
        "Seconds from POST /v1/searches creating a job to its final state, by status."
    );
    describe_histogram!(
        PROVIDER_CALL_DURATION,
        Unit::Seconds,
        "Provider call latency, by provider and priority."
    );
}
