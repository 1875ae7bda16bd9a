//! One isolated world per test or benchmark run: a namespace (queues, Redis keys, notification
//! channel), a database of its own and budgets of its own, on the real Postgres, Redis and
//! RabbitMQ (or on private instances, when the environment points there).
//!
//! [`World::teardown`] deletes the namespace's queues, its budgets and Redis keys, and drops
//! its database. A world dropped without it (a test that panicked) does the same from `drop`,
//! on a thread of its own with its own runtime, since the test's runtime may be gone or be the
//! one running the drop. Every step is best effort and bounded in time: a dependency the test
//! stopped makes its step give up, not the teardown hang.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    sync::Arc,
    time::Duration,
};

use muze_shared::{
    db,
    domain::ProviderName,
    queue::{Broker, Topology},
    rate_limit::RateLimiter,
    redis_conn::Redis,
    Settings,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgPool};

/// The shared Postgres server every world's database lives on by default.
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
/// The shared RabbitMQ every world's queues live on by default.
pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The shared Redis every world's keys live on by default.
pub const REDIS: &str = "redis://127.0.0.1:6379";
/// How long one teardown step may take before it is given up.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// A namespace, database and budgets of one's own, and the `MUZE__*` settings that select
/// them; removed by [`World::teardown`] or, failing that, when dropped.
#[derive(Debug)]
pub struct World {
    namespace: String,
    env: Vec<(String, String)>,
    torn_down: AtomicBool,
}

impl World {
    /// A new world whose namespace is `prefix` and 10 random hex digits, its database
    /// `muze_test_<namespace>`, and every provider's budget keyed by the namespace (budgets
    /// belong to credentials, which tests share: each world spends its own).
    pub fn new(prefix: &str) -> World {
        let namespace = format!(
            "{prefix}{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let mut env: Vec<(String, String)> = vec![
            ("MUZE__NAMESPACE".into(), namespace.clone()),
            (
                "MUZE__DATABASE__URL".into(),
                format!("{POSTGRES}/muze_test_{namespace}"),
            ),
            ("MUZE__AMQP__URL".into(), AMQP.into()),
            ("MUZE__REDIS__URL".into(), REDIS.into()),
        ];
        env.extend(ProviderName::ALL.map(|p| {
            (
                format!("MUZE__PROVIDERS__{}__BUDGET_KEY", p.env_name()),
                namespace.clone(),
            )
        }));
        World {
            namespace,
            env,
            torn_down: AtomicBool::new(false),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Every `MUZE__*` setting of the world, for a process or [`Settings::load_from`].
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Sets (or replaces) one setting.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.into()));
    }

    /// Builder form of [`World::set`].
    pub fn with(mut self, key: &str, value: impl Into<String>) -> World {
        self.set(key, value);
        self
    }

    /// Removes one setting (the default applies).
    pub fn unset(&mut self, key: &str) {
        self.env.retain(|(k, _)| k != key);
    }

    /// Points every provider at the sim at `sim_url` (base URLs, test credentials) with
    /// `rate_limit` as each provider's budget.
    pub fn point_at_sim(&mut self, sim_url: &str, rate_limit: &str) {
        for (key, value) in ProviderName::ALL
            .into_iter()
            .flat_map(|p| p.sim_env(sim_url, rate_limit))
        {
            self.set(&key, value);
        }
    }

    /// Lifts the API's per-key allowances (requests, and searches that go upstream) far above
    /// anything a test or benchmark sends: a 429 from our own API would hide what it checks or
    /// measures. Tests of the allowance itself set their own.
    pub fn lift_client_limits(&mut self) {
        for (key, value) in [
            ("MUZE__API__REQUESTS_PER_MINUTE", "10000000"),
            ("MUZE__API__REQUEST_BURST", "1000000"),
            ("MUZE__API__SEARCHES_PER_MINUTE", "10000000"),
            ("MUZE__API__SEARCH_BURST", "1000000"),
        ] {
            self.set(key, value);
        }
    }

    /// The world's settings, as its processes load them.
    pub fn settings(&self) -> Settings {
        Settings::load_from(None, self.env.clone()).expect("the world's settings are valid")
    }

    /// A pool on the world's database, which is created and migrated if it does not exist.
    pub async fn pool(&self, max_connections: u32) -> PgPool {
        db::connect(&self.settings().database.url, max_connections)
            .await
            .expect("the world's database")
    }

    /// A broker on the world's queues.
    pub async fn broker(&self) -> Arc<Broker> {
        let settings = self.settings();
        Broker::connect(settings.amqp.url.clone(), topology(&settings))
            .await
            .expect("the world's broker")
    }

    /// A limiter on the world's budgets, as a worker of it has.
    pub async fn limiter(&self) -> RateLimiter {
        let settings = self.settings();
        let redis = Redis::connect(&settings.redis.url)
            .await
            .expect("the world's Redis");
        let pool = self.pool(2).await;
        RateLimiter::new(&settings, redis, pool)
    }

    /// Deletes the world's queues, budgets and Redis keys and drops its database. Stop every
    /// process using it first: a process still running would declare its queues again.
    pub async fn teardown(&self) {
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return;
        }
        remove(&self.settings(), &self.namespace).await;
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(settings) = Settings::load_from(None, self.env.clone()) else {
            return;
        };
        let namespace = self.namespace.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(remove(&settings, &namespace));
            }
        })
        .join();
    }
}

fn topology(settings: &Settings) -> Topology {
    Topology::new(&settings.namespace, settings.worker.delivery_limit)
}

async fn bounded<F: std::future::Future>(what: &str, step: F) {
    if tokio::time::timeout(STEP_TIMEOUT, step).await.is_err() {
        eprintln!("test teardown: gave up {what} after {STEP_TIMEOUT:?}");
    }
}

/// Removes everything of `namespace`: queues, budgets and Redis keys, database.
async fn remove(settings: &Settings, namespace: &str) {
    bounded("deleting the queues", async {
        if let Ok(broker) = Broker::connect(settings.amqp.url.clone(), topology(settings)).await {
            if let Err(e) = broker.delete_namespace_queues().await {
                eprintln!("test teardown: the queues of {namespace}: {e}");
            }
            broker.close().await;
        }
    })
    .await;
    bounded("deleting the Redis keys", async {
        let Ok(redis) = Redis::connect(&settings.redis.url).await else {
            return;
        };
        if let Ok(pool) = sqlx::PgPool::connect_lazy(settings.database.url.expose_secret()) {
            let limiter = RateLimiter::new(settings, redis.clone(), pool);
            for p in ProviderName::ALL {
                let _ = limiter.forget(p).await;
            }
        }
        // The namespace's own keys: per-key limits, the status page's answer counts.
        let pattern = format!("{namespace}:*");
        let _ = redis
            .run(|mut c| async move {
                let mut cursor = 0u64;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut c)
                        .await?;
                    if !keys.is_empty() {
                        redis::cmd("DEL")
                            .arg(keys)
                            .query_async::<()>(&mut c)
                            .await?;
                    }
                    if next == 0 {
                        return Ok(());
                    }
                    cursor = next;
                }
            })
            .await;
    })
    .await;
    bounded(
        "dropping the database",
        drop_database(&settings.database.url),
    )
    .await;
}

/// Drops the database `url` names, from the server's `postgres` database.
async fn drop_database(url: &SecretString) {
    let Ok(mut admin_url) = url::Url::parse(url.expose_secret()) else {
        return;
    };
    let name = admin_url.path().trim_start_matches('/').to_string();
    if name.is_empty() || name == "postgres" {
        return;
    }
    admin_url.set_path("/postgres");
    match sqlx::PgConnection::connect(admin_url.as_str()).await {
        Ok(mut admin) => {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            if let Err(e) = sqlx::query(&drop).execute(&mut admin).await {
                eprintln!("test teardown: could not drop {name}: {e}");
            }
            let _ = admin.close().await;
        }
        Err(e) => eprintln!("test teardown: could not drop {name}: {e}"),
    }
}
