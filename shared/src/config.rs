//! One typed configuration tree for every Muze binary.
//!
//! Layers, later wins: built-in defaults → the TOML file named by `MUZE_CONFIG` → environment
//! variables `MUZE__SECTION__KEY` (lists comma-separated). Secrets are `SecretString`s so they
//! never reach a log line or a `Debug` dump. Validation happens here, once: a process that gets
//! a bad value refuses to start with a one-line reason naming the key.

use std::{collections::BTreeMap, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::{
    cron::CronSchedule,
    domain::{ProviderName, RateLimit, CRAWL_SOURCES},
};

/// The API key accepted in the `dev` profile when `MUZE__API__KEYS` is not set.
pub const DEV_API_KEY: &str = "muze-dev-key";

/// Everything a Muze process can be configured with. Every section refuses a key it does not
/// have (`deny_unknown_fields`): a misspelt variable or file key stops the process at start,
/// naming the keys there are, instead of leaving the default in place without a word. All
/// binaries read this one struct, so a key of another binary's section is known to each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `production` (default; refuses to start without API keys) or `dev` (the dev key exists
    /// when no keys are set). Dev only when asked for: a deployment that forgets the variable
    /// must not be open.
    pub profile: Profile,
    /// Prefix of every queue, exchange and Redis key, and the Postgres notification channel.
    pub namespace: String,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub amqp: AmqpSettings,
    pub api: ApiSettings,
    pub search: SearchSettings,
    pub worker: WorkerSettings,
    pub providers: ProvidersSettings,
    pub scheduler: SchedulerSettings,
    pub crawl: CrawlSettings,
    pub limiter: LimiterSettings,
    #[serde(default)]
    pub log: LogSettings,
}

/// How provider budgets are shared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimiterSettings {
    /// `shared` (fleet-wide, in Redis; the only safe choice) or `naive` (each process limits
    /// itself alone, as in the original design: for benchmarks and comparison only).
    pub mode: crate::rate_limit::LimiterMode,
    /// How long one half-open probe call holds the circuit before another may probe.
    pub probe_timeout_ms: u64,
    /// Names this deployment's egress address: providers that take no credential (Deezer,
    /// MusicBrainz) limit per IP, so every process leaving through one address shares one
    /// budget, and only those.
    pub egress: String,
    /// When a granted call leaves the window: `response` (one window after its response came
    /// back, the latest moment the provider can have counted it; the only safe choice) or
    /// `grant` (one window plus the margin after the grant, the old accounting: for benchmarks
    /// and comparison only).
    pub accounting: crate::rate_limit::Accounting,
}

/// Deployment profile: decides whether development conveniences (the dev API key) exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Dev,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Postgres URL; the database is created if it does not exist.
    pub url: SecretString,
    /// Upper bound on pooled connections per process.
    pub max_connections: u32,
    /// Longest a single statement may run before Postgres cancels it (`statement_timeout`).
    pub statement_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    pub url: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Listen address; port 0 picks a free port (tests).
    pub bind: String,
    /// Client API keys (`Authorization: Bearer <key>`).
    #[serde(default)]
    pub keys: Vec<SecretString>,
    /// Keys that may also call `/v1/admin/*`.
    #[serde(default)]
    pub admin_keys: Vec<SecretString>,
    /// Requests one API key may make per minute across the fleet (a rolling rate: one every
    /// `60 s / requests_per_minute`), after its burst; past it, 429.
    pub requests_per_minute: u32,
    /// Requests one API key may make at once, on top of its rate, after a quiet spell.
    pub request_burst: u32,
    /// Searches one API key may send upstream per minute (those the catalog cannot answer),
    /// counted apart from [`ApiSettings::requests_per_minute`].
    pub searches_per_minute: u32,
    /// Upstream searches one API key may send at once.
    pub search_burst: u32,
    /// Origins a browser may call the API from (CORS); none by default.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Connections served at once by one API process; past it a connection gets 503.
    pub max_connections: usize,
    /// Long-polls (`GET /v1/searches/{id}?wait=`) waiting at once in one API process; past it
    /// a long-poll gets 503.
    pub max_long_polls: usize,
    /// How often the API samples the fleet's gauges (queue depths, provider budgets, crawl
    /// pages) for `/metrics`, in milliseconds.
    pub fleet_sample_ms: u64,
    /// How long a client may take to send a request's headers before its connection is closed.
    pub header_read_timeout_secs: u64,
    /// How long a kept-alive connection may sit with no request before it is closed.
    pub idle_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Fallback order for interactive searches.
    pub providers: Vec<ProviderName>,
    /// A search not answered by then fails with `deadline_exceeded`.
    pub deadline_secs: u64,
    /// Market (ISO 3166-1 alpha-2) passed to providers that need one.
    pub market: String,
    /// A stored answer younger than this is served from the catalog without an upstream call.
    pub cache_ttl_secs: u64,
    /// Once a search holds an answer (an empty one included), how long it may still wait for
    /// another provider's budget before it finishes with what it has, in milliseconds.
    pub answered_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Jobs one worker process handles at once (also the broker prefetch).
    pub concurrency: u16,
    /// How long a worker owns a `running` job before the sweeper may hand it to another.
    pub lease_secs: u64,
    /// How often the sweeper looks for stranded jobs.
    pub sweep_interval_secs: u64,
    /// Deliveries of one message before it is parked as poison.
    pub delivery_limit: u32,
    /// Messages a parking queue keeps at most: past it, the sweeper drops the oldest (each
    /// logged with its id and reason), so poison that nobody re-drives cannot fill the broker.
    pub parked_limit: u64,
    /// Where the worker serves `/metrics` and `/healthz` (port 0: any free port, logged).
    pub metrics_bind: String,
    /// Crawl pages one worker process fetches at once (also the crawl queue's prefetch).
    pub crawl_concurrency: u16,
}

/// Settings of every provider, keyed by name (`providers.<name>.*`, from
/// `MUZE__PROVIDERS__<P>__*`). Every provider has an entry: each has defaults, and loading
/// fails on a name that is not a provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "BTreeMap<ProviderName, ProviderSettings>")]
pub struct ProvidersSettings(BTreeMap<ProviderName, ProviderSettings>);

impl TryFrom<BTreeMap<ProviderName, ProviderSettings>> for ProvidersSettings {
    type Error = String;

    fn try_from(map: BTreeMap<ProviderName, ProviderSettings>) -> Result<Self, Self::Error> {
        match ProviderName::ALL.into_iter().find(|p| !map.contains_key(p)) {
            Some(missing) => Err(format!("no settings for provider {missing}")),
            None => Ok(ProvidersSettings(map)),
        }
    }
}

impl ProvidersSettings {
    /// The settings of one provider.
    pub fn get(&self, name: ProviderName) -> &ProviderSettings {
        // Present for every provider: checked when the settings were read (`try_from`).
        &self.0[&name]
    }
}

/// One provider's endpoint, credentials and limits. Credential fields only apply to the
/// providers that use them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Explicit on/off; unset means "on if its credentials are set or it needs none".
    pub enabled: Option<bool>,
    /// API root; the client appends the real API's paths.
    pub base_url: Url,
    /// Spotify's client-credentials token endpoint.
    pub token_url: Option<Url>,
    pub client_id: Option<SecretString>,
    pub client_secret: Option<SecretString>,
    pub api_key: Option<SecretString>,
    /// The provider's limit: at most `calls` in any rolling `window`, fleet-wide.
    pub rate_limit: RateLimit,
    /// Per-call timeout.
    pub timeout_ms: u64,
    /// Results asked of the provider per call (its own maximum applies).
    pub page_size: u8,
    /// An optional extra on top of each call's own accounting: a slot leaves the window this
    /// long after the window that follows the call's response (clock differences after a
    /// Redis failover, a provider that counts late).
    pub safety_margin_ms: u64,
    /// Share of each window's calls that only interactive searches may spend.
    pub reserve_percent: u8,
    /// Budget units one call costs.
    pub cost: u32,
    /// For unpublished limits: lower the limit on a 429, climb back slowly on success.
    pub adaptive: bool,
    /// Calls per local day, reset at midnight in `quota_timezone`.
    pub daily_quota: Option<u32>,
    /// IANA zone of the daily quota's reset.
    pub quota_timezone: String,
    /// Consecutive transient failures that open the circuit for every worker.
    pub breaker_failures: u32,
    /// Names the budget this provider's calls spend. Unset: derived from the credential (a
    /// hash of the client id or API key; the egress name for keyless providers), so every
    /// deployment using one credential shares one budget.
    pub budget_key: Option<String>,
    /// How long an open circuit skips the provider before one probe call.
    pub breaker_cooloff_secs: u64,
}

impl ProviderSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Cron expression with seconds, read in `timezone`.
    pub crawl_cron: String,
    /// IANA zone name.
    pub timezone: String,
    /// What to do about crawl ticks that passed while no scheduler was running.
    pub crawl_catch_up: CatchUp,
    /// Where the scheduler serves `/metrics` and `/healthz`; port 0 picks a free one (logged).
    pub metrics_bind: String,
}

/// What a schedule does about ticks missed while every scheduler was down (or stalled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Missed ticks are not fired; the schedule resumes with the next one.
    Skip,
    /// The most recent missed tick is fired once, late; older ones are dropped.
    RunOnce,
    /// Every missed tick is fired, oldest first (at most [`CatchUp::MAX_BACKFILL`]).
    Backfill,
}

impl CatchUp {
    /// Most missed ticks a backfill fires at once.
    pub const MAX_BACKFILL: usize = 100;
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrawlSettings {
    /// Providers a new-release crawl reads (`spotify`, `deezer`), comma-separated.
    pub sources: Vec<ProviderName>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `json` or `pretty`; unset means pretty on a terminal, json otherwise.
    pub format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Budget names become part of Redis keys and hash tags: no braces, no spaces.
fn budget_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// `scheme://host[:port]`, nothing more: what a browser sends in `Origin`.
fn cors_origin_ok(origin: &str) -> bool {
    Url::parse(origin).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.path() == "/"
            && url.query().is_none()
            && !origin.ends_with('/')
    })
}

/// Why configuration could not be loaded; the message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `config` crate's error is the message itself, not a source under it: a process
    /// printing the error with its chain (`{:#}`) would otherwise say it twice.
    #[error("invalid configuration: {0}")]
    Load(config::ConfigError),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl From<config::ConfigError> for ConfigError {
    fn from(e: config::ConfigError) -> Self {
        ConfigError::Load(e)
    }
}

/// Built-in defaults: local services on their standard ports, real provider hosts.
const DEFAULTS: &[(&str, &str)] = &[
    ("profile", "production"),
    ("namespace", "muze"),
    ("database.url", "postgres://postgres@127.0.0.1:5432/muze"),
    ("database.max_connections", "10"),
    // The slowest query here is a catalog search over an index; 5 s means something is stuck,
    // and a stuck statement must not hold a pooled connection forever.
    ("database.statement_timeout_ms", "5000"),
    ("redis.url", "redis://127.0.0.1:6379"),
    ("amqp.url", "amqp://guest:guest@127.0.0.1:5672/%2f"),
    ("api.bind", "127.0.0.1:8080"),
    // Sized for one app-wide key shared by every user of the app: 200 requests a second
    // (catalog hits and polls included) with a burst of 1,000. A runaway client still meets it.
    ("api.requests_per_minute", "12000"),
    ("api.request_burst", "1000"),
    // Upstream searches cost provider budget; the providers' own limits add up to roughly
    // 1,000 calls a minute, so more than that per key would only wait in the queue.
    ("api.searches_per_minute", "1200"),
    ("api.search_burst", "200"),
    // One process serves this many sockets before refusing: well under a default
    // 1,024-descriptor limit, leaving room for the pools and the broker.
    ("api.max_connections", "768"),
    // Each waiting long-poll holds a connection and a notifier slot for up to 30 s.
    ("api.max_long_polls", "512"),
    // A few seconds: fresher than any scrape interval, a handful of Redis and RabbitMQ reads.
    ("api.fleet_sample_ms", "5000"),
    // A real client sends its headers in one packet; 10 s is generous for a bad mobile link.
    ("api.header_read_timeout_secs", "10"),
    // Past the common 60 s proxy idle timeout a kept-alive socket is dead anyway.
    ("api.idle_timeout_secs", "75"),
    ("search.deadline_secs", "60"),
    ("search.market", "KR"),
    ("search.cache_ttl_secs", "86400"),
    // A user holding "no results" should not wait a minute for a provider with no budget; a
    // second covers a window about to free a token.
    ("search.answered_wait_ms", "1000"),
    ("worker.concurrency", "16"),
    ("worker.lease_secs", "30"),
    ("worker.sweep_interval_secs", "5"),
    ("worker.delivery_limit", "5"),
    ("worker.parked_limit", "100000"),
    ("worker.metrics_bind", "127.0.0.1:0"),
    // Crawl pages wait on background budget most of the time; a few at once keep it busy.
    ("worker.crawl_concurrency", "4"),
    ("limiter.mode", "shared"),
    ("limiter.probe_timeout_ms", "10000"),
    ("limiter.egress", "default"),
    ("limiter.accounting", "response"),
    ("scheduler.crawl_cron", "0 0 3 * * *"),
    ("scheduler.timezone", "Asia/Seoul"),
    ("scheduler.crawl_catch_up", "run_once"),
    ("scheduler.metrics_bind", "127.0.0.1:0"),
];

/// Defaults every provider shares unless its own ([`ProviderName::defaults`]) say otherwise.
const PROVIDER_DEFAULTS: &[(&str, &str)] = &[
    // Each call's slot is held until one window after its response, which already covers any
    // late arrival; the margin is an extra for operators who want one.
    ("safety_margin_ms", "0"),
    ("reserve_percent", "20"),
    ("cost", "1"),
    ("adaptive", "false"),
    ("quota_timezone", "UTC"),
    ("breaker_failures", "5"),
    ("breaker_cooloff_secs", "30"),
];

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "api.keys",
    "api.admin_keys",
    "api.cors_origins",
    "search.providers",
    "crawl.sources",
];

/// The environment variable of a configuration key: `api.keys` → `MUZE__API__KEYS`.
fn env_name(key: &str) -> String {
    format!("MUZE__{}", key.to_ascii_uppercase().replace('.', "__"))
}

/// `"k1, k2 ,k3"` → `["k1", "k2", "k3"]`: items trimmed, empty ones dropped.
fn list_items(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

impl Settings {
    /// Loads defaults, then `MUZE_CONFIG` (if set), then `MUZE__*` from the process environment.
    pub fn load() -> Result<Settings, ConfigError> {
        let file = std::env::var("MUZE_CONFIG").ok();
        Self::load_from(file.as_deref(), std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit file and environment (tests use this).
    pub fn load_from(
        file: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder();
        // Shared provider defaults first, so each provider's own override them.
        for name in ProviderName::ALL {
            for (key, value) in PROVIDER_DEFAULTS.iter().chain(name.defaults()) {
                builder = builder.set_default(format!("providers.{name}.{key}"), *value)?;
            }
        }
        for (key, value) in DEFAULTS {
            builder = builder.set_default(*key, *value)?;
        }
        builder = builder.set_default("search.providers", vec!["spotify", "youtube", "shazam"])?;
        builder = builder.set_default("crawl.sources", vec!["spotify", "deezer"])?;
        if let Some(path) = file {
            builder = builder.add_source(config::File::new(path, config::FileFormat::Toml));
        }
        let mut env: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("MUZE__"))
            .collect();
        // Lists are split here, items trimmed, and set as the top layer (the environment's
        // place); every other value goes through `Environment` as a string. No `try_parsing`:
        // values stay strings and are converted to each field's type when deserialized, so a
        // numeric-looking secret ("007") or key is kept exactly as written.
        for key in LIST_KEYS {
            if let Some(value) = env.remove(&env_name(key)) {
                builder = builder.set_override(*key, list_items(&value))?;
            }
        }
        let environment = config::Environment::with_prefix("MUZE")
            .prefix_separator("__")
            .separator("__")
            .source(Some(env.into_iter().collect()));
        builder = builder.add_source(environment);
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        if self.namespace.is_empty()
            || !self
                .namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return invalid(format!(
                "MUZE__NAMESPACE must be non-empty ASCII letters, digits, '_' or '-', got {:?}",
                self.namespace
            ));
        }
        if self.namespace.len() > 48 {
            return invalid("MUZE__NAMESPACE must be at most 48 characters".into());
        }
        if self.search.providers.is_empty() {
            return invalid("MUZE__SEARCH__PROVIDERS must name at least one provider".into());
        }
        if !(1..=600).contains(&self.search.deadline_secs) {
            return invalid("MUZE__SEARCH__DEADLINE_SECS must be between 1 and 600".into());
        }
        if self.search.answered_wait_ms > self.search.deadline_secs * 1000 {
            return invalid(format!(
                "MUZE__SEARCH__ANSWERED_WAIT_MS must not exceed the deadline ({} ms), got {}",
                self.search.deadline_secs * 1000,
                self.search.answered_wait_ms
            ));
        }
        if self.worker.concurrency == 0 {
            return invalid("MUZE__WORKER__CONCURRENCY must be at least 1".into());
        }
        if self.worker.lease_secs == 0 {
            return invalid("MUZE__WORKER__LEASE_SECS must be at least 1".into());
        }
        if self.worker.parked_limit == 0 {
            return invalid(
                "MUZE__WORKER__PARKED_LIMIT must be at least 1 (a parking queue that keeps nothing loses every poison message)"
                    .into(),
            );
        }
        for (name, value) in [
            (
                "MUZE__API__REQUESTS_PER_MINUTE",
                self.api.requests_per_minute,
            ),
            ("MUZE__API__REQUEST_BURST", self.api.request_burst),
            (
                "MUZE__API__SEARCHES_PER_MINUTE",
                self.api.searches_per_minute,
            ),
            ("MUZE__API__SEARCH_BURST", self.api.search_burst),
        ] {
            if value == 0 {
                return invalid(format!("{name} must be at least 1"));
            }
        }
        if self.api.max_connections == 0 || self.api.max_long_polls == 0 {
            return invalid(
                "MUZE__API__MAX_CONNECTIONS and MUZE__API__MAX_LONG_POLLS must be at least 1"
                    .into(),
            );
        }
        if self.api.header_read_timeout_secs == 0 || self.api.idle_timeout_secs == 0 {
            return invalid(
                "MUZE__API__HEADER_READ_TIMEOUT_SECS and MUZE__API__IDLE_TIMEOUT_SECS must be at least 1"
                    .into(),
            );
        }
        if self.database.statement_timeout_ms == 0 {
            return invalid("MUZE__DATABASE__STATEMENT_TIMEOUT_MS must be at least 1".into());
        }
        if let Some(origin) = self.api.cors_origins.iter().find(|o| !cors_origin_ok(o)) {
            return invalid(format!(
                "MUZE__API__CORS_ORIGINS: {origin:?} is not an origin like https://app.example.com"
            ));
        }

        if self.search.market.len() != 2 {
            return invalid("MUZE__SEARCH__MARKET must be a two-letter country code".into());
        }
        for name in ProviderName::ALL {
            let p = self.providers.get(name);
            if p.timeout_ms == 0 {
                return invalid(format!(
                    "MUZE__PROVIDERS__{}__TIMEOUT_MS must be at least 1",
                    name.env_name()
                ));
            }
            if p.reserve_percent > 90 {
                return invalid(format!(
                    "MUZE__PROVIDERS__{}__RESERVE_PERCENT must be at most 90",
                    name.env_name()
                ));
            }
            if p.cost == 0 || p.breaker_failures == 0 {
                return invalid(format!(
                    "MUZE__PROVIDERS__{}__COST and __BREAKER_FAILURES must be at least 1",
                    name.env_name()
                ));
            }
            if p.quota_timezone.parse::<chrono_tz::Tz>().is_err() {
                return invalid(format!(
                    "MUZE__PROVIDERS__{}__QUOTA_TIMEZONE {:?} is not an IANA zone",
                    name.env_name(),
                    p.quota_timezone
                ));
            }
            if p.page_size == 0 {
                return invalid(format!(
                    "MUZE__PROVIDERS__{}__PAGE_SIZE must be at least 1",
                    name.env_name()
                ));
            }
            if let Some(key) = &p.budget_key {
                if !budget_name_ok(key) {
                    return invalid(format!(
                        "MUZE__PROVIDERS__{}__BUDGET_KEY must be 1-64 ASCII letters, digits, '_', '-', '.' or ':', got {key:?}",
                        name.env_name()
                    ));
                }
            }
        }
        if !budget_name_ok(&self.limiter.egress) {
            return invalid(format!(
                "MUZE__LIMITER__EGRESS must be 1-64 ASCII letters, digits, '_', '-', '.' or ':', got {:?}",
                self.limiter.egress
            ));
        }
        if self.scheduler.timezone.parse::<chrono_tz::Tz>().is_err() {
            return invalid(format!(
                "MUZE__SCHEDULER__TIMEZONE {:?} is not an IANA zone",
                self.scheduler.timezone
            ));
        }
        if let Err(e) = self.crawl_schedule() {
            return invalid(format!("MUZE__SCHEDULER__CRAWL_CRON: {e}"));
        }
        if self.worker.crawl_concurrency == 0 {
            return invalid("MUZE__WORKER__CRAWL_CONCURRENCY must be at least 1".into());
        }
        if self.crawl.sources.is_empty() {
            return invalid("MUZE__CRAWL__SOURCES must name at least one provider".into());
        }
        if let Some(p) = self
            .crawl
            .sources
            .iter()
            .find(|p| !CRAWL_SOURCES.contains(p))
        {
            return invalid(format!(
                "MUZE__CRAWL__SOURCES: {p} has no new-release listing to crawl (spotify or deezer)"
            ));
        }
        Ok(())
    }

    /// Client keys in force: the configured ones, or the dev key in the dev profile. In the
    /// production profile (the default) no keys is an error: an API nobody can call is a
    /// misconfiguration, and an API anyone can call with a published key is worse. Only the
    /// API asks, so workers and schedulers need no API keys.
    pub fn client_keys(&self) -> Result<Vec<SecretString>, ConfigError> {
        match (self.api.keys.is_empty(), self.profile) {
            (false, _) => Ok(self.api.keys.clone()),
            (true, Profile::Dev) => Ok(vec![SecretString::from(DEV_API_KEY)]),
            (true, Profile::Production) => Err(ConfigError::Invalid(
                "MUZE__API__KEYS must be set in the production profile (the default; MUZE__PROFILE=dev accepts the dev key)"
                    .into(),
            )),
        }
    }

    /// The new-release crawl's schedule.
    pub fn crawl_schedule(&self) -> Result<CronSchedule, crate::cron::CronError> {
        CronSchedule::parse(&self.scheduler.crawl_cron, &self.scheduler.timezone)
    }

    /// The search deadline as a duration.
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.search.deadline_secs)
    }

    /// How long a search holding an answer may still wait for another provider's budget.
    pub fn answered_wait(&self) -> Duration {
        Duration::from_millis(self.search.answered_wait_ms)
    }
}

/// Renders a URL with any password replaced, for log lines and error messages.
pub fn redact_url(url: &SecretString) -> String {
    match Url::parse(url.expose_secret()) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparseable url>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_point_at_local_services() {
        let s = Settings::load_from(None, env(&[])).expect("defaults load");
        assert_eq!(s.namespace, "muze");
        assert_eq!(
            s.database.url.expose_secret(),
            "postgres://postgres@127.0.0.1:5432/muze"
        );
        assert_eq!(s.api.bind, "127.0.0.1:8080");
        assert_eq!(
            s.search.providers,
            vec![
                ProviderName::Spotify,
                ProviderName::Youtube,
                ProviderName::Shazam
            ]
        );
        assert_eq!(s.search.deadline_secs, 60);
        assert_eq!(s.worker.concurrency, 16);
        assert_eq!(s.worker.parked_limit, 100_000);
        assert_eq!(s.scheduler.crawl_cron, "0 0 3 * * *");
        assert_eq!(s.scheduler.crawl_catch_up, CatchUp::RunOnce);
        assert_eq!(
            s.crawl.sources,
            vec![ProviderName::Spotify, ProviderName::Deezer]
        );
        assert_eq!(s.profile, Profile::Production);
        assert!(s.api.cors_origins.is_empty());
        assert!(s.providers.get(ProviderName::Spotify).adaptive);
        assert!(!s.providers.get(ProviderName::Deezer).adaptive);
        assert_eq!(
            s.providers.get(ProviderName::Youtube).daily_quota,
            Some(100)
        );
        assert_eq!(
            s.providers.get(ProviderName::Youtube).quota_timezone,
            "America/Los_Angeles"
        );
        assert_eq!(s.providers.get(ProviderName::Shazam).quota_timezone, "UTC");
    }

    #[test]
    fn environment_overrides_with_lists() {
        let s = Settings::load_from(
            None,
            env(&[
                ("MUZE__NAMESPACE", "t1"),
                ("MUZE__API__KEYS", "k1,k2"),
                ("MUZE__SEARCH__PROVIDERS", "deezer,spotify"),
                ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "40/10s"),
                ("MUZE__PROVIDERS__SPOTIFY__CLIENT_ID", "abc"),
                ("MUZE__WORKER__CONCURRENCY", "4"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.namespace, "t1");
        let keys: Vec<_> = s.api.keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(keys, ["k1", "k2"]);
        assert_eq!(
            s.search.providers,
            vec![ProviderName::Deezer, ProviderName::Spotify]
        );
        assert_eq!(s.providers.get(ProviderName::Spotify).rate_limit.calls, 40);
        assert_eq!(s.worker.concurrency, 4);
    }

    #[test]
    fn bad_values_are_refused_with_the_key_named() {
        let err = Settings::load_from(None, env(&[("MUZE__SEARCH__PROVIDERS", "spotify,napster")]))
            .expect_err("unknown provider");
        assert!(err.to_string().contains("napster"), "{err}");
        let err = Settings::load_from(None, env(&[("MUZE__NAMESPACE", "a b")])).expect_err("ns");
        assert!(err.to_string().contains("MUZE__NAMESPACE"), "{err}");
        let err = Settings::load_from(None, env(&[("MUZE__API__CORS_ORIGINS", "app.example.com")]))
            .expect_err("not an origin");
        assert!(err.to_string().contains("MUZE__API__CORS_ORIGINS"), "{err}");
        let err = Settings::load_from(
            None,
            env(&[("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "lots")]),
        )
        .expect_err("rate limit");
        assert!(err.to_string().contains("rate limit"), "{err}");
        let err = Settings::load_from(None, env(&[("MUZE__SCHEDULER__CRAWL_CRON", "0 3 * * *")]))
            .expect_err("five-field cron");
        assert!(
            err.to_string().contains("MUZE__SCHEDULER__CRAWL_CRON"),
            "{err}"
        );
        let err = Settings::load_from(None, env(&[("MUZE__SCHEDULER__CRAWL_CATCH_UP", "twice")]))
            .expect_err("unknown policy");
        assert!(err.to_string().contains("twice"), "{err}");
        let err = Settings::load_from(None, env(&[("MUZE__CRAWL__SOURCES", "youtube")]))
            .expect_err("not crawlable");
        assert!(err.to_string().contains("MUZE__CRAWL__SOURCES"), "{err}");
        let err = Settings::load_from(None, env(&[("MUZE__WORKER__PARKED_LIMIT", "0")]))
            .expect_err("a parking queue that keeps nothing");
        assert!(
            err.to_string().contains("MUZE__WORKER__PARKED_LIMIT"),
            "{err}"
        );
        let s = Settings::load_from(
            None,
            env(&[
                ("MUZE__SCHEDULER__CRAWL_CATCH_UP", "backfill"),
                ("MUZE__CRAWL__SOURCES", "deezer"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.scheduler.crawl_catch_up, CatchUp::Backfill);
        assert_eq!(s.crawl.sources, vec![ProviderName::Deezer]);
    }

    #[test]
    fn the_wait_of_a_search_holding_an_answer_is_bounded_by_its_deadline() {
        let s = Settings::load_from(None, env(&[])).expect("defaults");
        assert_eq!(s.answered_wait(), Duration::from_secs(1));
        let s = Settings::load_from(None, env(&[("MUZE__SEARCH__ANSWERED_WAIT_MS", "0")]))
            .expect("no wait at all is valid");
        assert_eq!(s.answered_wait(), Duration::ZERO);
        let err = Settings::load_from(
            None,
            env(&[
                ("MUZE__SEARCH__DEADLINE_SECS", "10"),
                ("MUZE__SEARCH__ANSWERED_WAIT_MS", "10001"),
            ]),
        )
        .expect_err("past the deadline");
        assert!(
            err.to_string().contains("MUZE__SEARCH__ANSWERED_WAIT_MS"),
            "{err}"
        );
        let err = Settings::load_from(None, env(&[("MUZE__SEARCH__ANSWERED_WAIT_MS", "soon")]))
            .expect_err("not a number");
        assert!(err.to_string().contains("answered_wait_ms"), "{err}");
    }

    #[test]
    fn without_a_profile_or_keys_the_api_has_no_key_to_accept() {
        let s = Settings::load_from(None, env(&[])).expect("workers need no API keys");
        let err = s.client_keys().expect_err("production needs keys");
        assert!(err.to_string().contains("MUZE__API__KEYS"), "{err}");
        assert!(!err.to_string().contains('\n'), "one line: {err}");
        let dev = Settings::load_from(None, env(&[("MUZE__PROFILE", "dev")])).expect("dev");
        let keys = dev.client_keys().expect("the dev key");
        let keys: Vec<_> = keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(keys, [DEV_API_KEY]);
    }

    #[test]
    fn strings_stay_as_written_and_list_items_are_trimmed() {
        let s = Settings::load_from(
            None,
            env(&[
                ("MUZE__API__KEYS", "k1, k2"),
                ("MUZE__API__ADMIN_KEYS", "0042 , 7"),
                ("MUZE__PROVIDERS__SPOTIFY__CLIENT_SECRET", "007"),
                ("MUZE__PROVIDERS__SHAZAM__API_KEY", "1e3"),
                ("MUZE__SEARCH__PROVIDERS", " deezer , spotify "),
                (
                    "MUZE__API__CORS_ORIGINS",
                    "https://app.example.com, http://localhost:3000",
                ),
                ("MUZE__WORKER__CONCURRENCY", "4"),
            ]),
        )
        .expect("loads");
        let keys: Vec<_> = s.api.keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(keys, ["k1", "k2"]);
        let admin: Vec<_> = s.api.admin_keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(admin, ["0042", "7"]);
        let secret = s
            .providers
            .get(ProviderName::Spotify)
            .client_secret
            .as_ref()
            .expect("set");
        assert_eq!(secret.expose_secret(), "007");
        let key = s
            .providers
            .get(ProviderName::Shazam)
            .api_key
            .as_ref()
            .expect("set");
        assert_eq!(key.expose_secret(), "1e3");
        assert_eq!(
            s.search.providers,
            vec![ProviderName::Deezer, ProviderName::Spotify]
        );
        assert_eq!(
            s.api.cors_origins,
            ["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(s.worker.concurrency, 4);
    }

    #[test]
    fn every_provider_is_configured_by_its_env_keys_and_its_own_defaults() {
        let s = Settings::load_from(
            None,
            env(&[
                (
                    "MUZE__PROVIDERS__MUSICBRAINZ__BASE_URL",
                    "http://127.0.0.1:9/mb/ws/2",
                ),
                ("MUZE__PROVIDERS__DEEZER__PAGE_SIZE", "25"),
                ("MUZE__PROVIDERS__YOUTUBE__API_KEY", "k"),
            ]),
        )
        .expect("valid");
        for name in ProviderName::ALL {
            let p = s.providers.get(name);
            let default_url = name
                .defaults()
                .iter()
                .find(|(k, _)| *k == "base_url")
                .map(|(_, v)| *v)
                .expect("every provider has a default API root");
            if name != ProviderName::Musicbrainz {
                assert_eq!(
                    p.base_url.as_str().trim_end_matches('/'),
                    default_url,
                    "{name}"
                );
            }
            assert_eq!(p.reserve_percent, 20, "{name}: the shared default");
        }
        let mb = s.providers.get(ProviderName::Musicbrainz);
        assert_eq!(mb.base_url.as_str(), "http://127.0.0.1:9/mb/ws/2");
        assert_eq!(s.providers.get(ProviderName::Deezer).page_size, 25);
        assert!(s.providers.get(ProviderName::Youtube).api_key.is_some());
        // A provider we do not have is a configuration error, not silently ignored.
        let unknown =
            Settings::load_from(None, env(&[("MUZE__PROVIDERS__NAPSTER__ENABLED", "true")]));
        assert!(unknown.is_err());
    }

    #[test]
    fn a_key_no_setting_has_is_refused_with_the_keys_there_are() {
        // A misspelt key would otherwise be ignored, and its default used without a word.
        for (var, unknown, section, expected) in [
            (
                "MUZE__WORKER__CONCURENCY",
                "concurency",
                "worker",
                "`concurrency`",
            ),
            (
                "MUZE__PROVIDERS__SPOTIFY__RATELIMIT",
                "ratelimit",
                "providers.spotify",
                "`rate_limit`",
            ),
            (
                "MUZE__DATABASE__MAX_CONN",
                "max_conn",
                "database",
                "`max_connections`",
            ),
            ("MUZE__LOG__LEVEL", "level", "log", "`format`"),
            ("MUZE__NAMESPCE", "namespce", "", "`namespace`"),
        ] {
            let err = Settings::load_from(None, env(&[(var, "4")])).expect_err(var);
            let message = err.to_string();
            assert!(
                message.contains(&format!("unknown field `{unknown}`")),
                "{var}: {message}"
            );
            assert!(message.contains(expected), "{var}: {message}");
            if !section.is_empty() {
                assert!(
                    message.contains(&format!("for key `{section}`")),
                    "{var}: {message}"
                );
            }
        }
    }

    #[test]
    fn a_key_no_setting_has_in_the_file_is_refused_too() {
        let path = std::env::temp_dir().join(format!("muze-config-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&path, "[worker]\nconcurrency = 4\nlease_sec = 10\n").expect("write");
        let loaded = Settings::load_from(path.to_str(), env(&[]));
        std::fs::remove_file(&path).expect("remove");
        let message = loaded.expect_err("a misspelt key").to_string();
        assert!(message.contains("unknown field `lease_sec`"), "{message}");
        assert!(message.contains("`lease_secs`"), "{message}");
    }

    #[test]
    fn a_refusal_says_its_reason_once() {
        // The binaries print the error with its chain (`{:#}`).
        let err = Settings::load_from(None, env(&[("MUZE__WORKER__CONCURRENCY", "many")]))
            .expect_err("not a number");
        let printed = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(printed.matches("many").count(), 1, "{printed}");
        assert!(printed.starts_with("invalid configuration: "), "{printed}");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = Settings::load_from(
            None,
            env(&[
                ("MUZE__API__KEYS", "supersecretkey"),
                ("MUZE__PROVIDERS__SPOTIFY__CLIENT_SECRET", "hunter2hunter2"),
            ]),
        )
        .expect("loads");
        let dump = format!("{s:?}");
        assert!(!dump.contains("supersecretkey"));
        assert!(!dump.contains("hunter2hunter2"));
    }

    #[test]
    fn redacts_passwords_in_urls() {
        let url = SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(redact_url(&url), "amqp://guest:***@127.0.0.1:5672/%2f");
    }
}
