//! What every handler shares: connections, the accepted keys, the long-poll notifier and the
//! settings the routes need. Cheap to clone: every field is a handle.

use std::{fmt, sync::Arc, time::Duration};

use axum::http::HeaderValue;
use metrics_exporter_prometheus::PrometheusHandle;
use muze_shared::config::ConfigError;
use muze_shared::redis_conn::Redis;
use muze_shared::{db, domain::ProviderName, queue::Broker, rate_limit::RateLimiter, Settings};
use sqlx::PgPool;
use tokio::sync::Semaphore;

use crate::{
    answer_cache::AnswerCache, auth::KeySet, client_limit::ClientLimit, notify::Notifier,
    published::PublishedMarks, status::StatusSources,
};

/// The state behind every route.
#[derive(Clone)]
pub struct AppState {
    /// Postgres: jobs and the catalog.
    pub pool: PgPool,
    /// Redis: the per-key request counters.
    pub redis: Redis,
    /// RabbitMQ: where search jobs and the root pages of operator crawls are published.
    pub broker: Arc<Broker>,
    /// The API keys accepted, client and admin.
    pub keys: Arc<KeySet>,
    /// The per-key request limit.
    pub client_limit: Arc<ClientLimit>,
    /// Wakes long-polls when a search finishes.
    pub notifier: Arc<Notifier>,
    /// Origins browsers may call from (`MUZE__API__CORS_ORIGINS`), validated at load.
    pub cors_origins: Arc<[HeaderValue]>,
    /// Slots for long-polls waiting at once (`MUZE__API__MAX_LONG_POLLS`).
    pub long_polls: Arc<Semaphore>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Fresh catalog answers held briefly, serialized.
    pub answers: Arc<AnswerCache>,
    /// The providers' shared budgets (read by the admin routes).
    pub limiter: Arc<RateLimiter>,
    /// Search settings the routes apply.
    pub search: SearchConfig,
    /// Providers a crawl started through the API reads when it names none
    /// (`MUZE__CRAWL__SOURCES`).
    pub crawl_sources: Arc<[ProviderName]>,
    /// The answer tally and schedule the status route reads.
    pub status: Arc<StatusSources>,
    /// Records that searches' messages were confirmed, off the response path.
    pub published: PublishedMarks,
}

/// The part of [`Settings`] the search routes need.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// How long a new search may take before it fails with `deadline_exceeded`.
    pub deadline: Duration,
    /// The `NOTIFY` channel finished searches are announced on.
    pub done_channel: String,
    /// The interactive fallback order.
    pub providers: Vec<ProviderName>,
    /// Stored answers younger than this are served without a refresh.
    pub cache_ttl_secs: u64,
}

impl AppState {
    /// Assembles the state from live connections and the settings.
    pub fn new(
        settings: &Settings,
        pool: PgPool,
        redis: Redis,
        broker: Arc<Broker>,
        notifier: Arc<Notifier>,
        metrics: PrometheusHandle,
    ) -> Result<AppState, ConfigError> {
        let published = PublishedMarks::spawn(pool.clone());
        Ok(AppState {
            limiter: Arc::new(RateLimiter::new(settings, redis.clone(), pool.clone())),
            pool,
            answers: Arc::new(AnswerCache::default()),
            redis,
            broker,
            keys: Arc::new(KeySet::new(
                &settings.client_keys()?,
                &settings.api.admin_keys,
            )),
            client_limit: Arc::new(ClientLimit::new(&settings.namespace, &settings.api)),
            notifier,
            cors_origins: settings
                .api
                .cors_origins
                .iter()
                .map(|o| {
                    HeaderValue::from_str(o).map_err(|_| {
                        ConfigError::Invalid(format!(
                            "MUZE__API__CORS_ORIGINS: {o:?} is not a header value"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            long_polls: Arc::new(Semaphore::new(settings.api.max_long_polls)),
            metrics,
            search: SearchConfig {
                deadline: settings.deadline(),
                done_channel: db::search_done_channel(&settings.namespace),
                providers: settings.search.providers.clone(),
                cache_ttl_secs: settings.search.cache_ttl_secs,
            },
            crawl_sources: settings.crawl.sources.as_slice().into(),
            status: Arc::new(StatusSources::new(settings)),
            published,
        })
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("pool", &self.pool)
            .field("broker", &self.broker)
            .field("keys", &self.keys)
            .field("client_limit", &self.client_limit)
            .field("notifier", &self.notifier)
            .field("search", &self.search)
            .field("crawl_sources", &self.crawl_sources)
            .finish_non_exhaustive()
    }
}
