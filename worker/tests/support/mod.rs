//! A whole Muze system for one test: `muze-sim`, `muze-api` and workers against the real
//! Postgres, Redis and RabbitMQ, isolated by a fresh database and a unique namespace.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use muze_api::Api;
use muze_shared::{domain::ProviderName, Settings};
use muze_sim::{Sim, SimConfig};
use muze_worker::Worker;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sqlx::Connection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const KEY: &str = "test-key";

/// How the system under test is put together.
#[derive(Debug, Clone)]
pub struct Options {
    /// Workers started inside the test process.
    pub workers: usize,
    /// Latency the sim adds to every provider call.
    pub sim_latency_ms: u64,
    /// Interactive fallback order.
    pub providers: &'static str,
    /// Extra `MUZE__*` settings.
    pub extra_env: Vec<(String, String)>,
    /// `MUZE__*` settings removed from the harness's defaults (unset, not set to empty).
    pub unset_env: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: 1,
            sim_latency_ms: 0,
            providers: "spotify",
            extra_env: Vec::new(),
            unset_env: Vec::new(),
        }
    }
}

/// A running sim, API and workers.
pub struct System {
    pub namespace: String,
    pub env: Vec<(String, String)>,
    /// Settings kept out of this system's environment, also for worker processes.
    pub unset_env: Vec<String>,
    pub api_url: String,
    pub sim_url: String,
    pub http: reqwest::Client,
    sim_stop: CancellationToken,
    api_stop: CancellationToken,
    worker_stop: CancellationToken,
    api_task: Option<JoinHandle<()>>,
    worker_tasks: Vec<JoinHandle<()>>,
    /// `/metrics` of each in-process worker.
    pub worker_ops: Vec<std::net::SocketAddr>,
    children: Vec<Child>,
    /// Whether [`System::shutdown`] already deleted the queues, budgets and database.
    torn_down: bool,
}

/// Distinct "title artist" queries for songs the sim's catalog holds.
pub fn catalog_queries(n: usize) -> Vec<String> {
    muze_sim::catalog::Catalog::generate(42, 3000)
        .title_artist_queries()
        .into_iter()
        .take(n)
        .collect()
}

/// Spotify searches the sim counted, and how many of them broke its limit.
pub fn spotify_searches(stats: &Value) -> (u64, u64) {
    let p = &stats["providers"]["spotify"];
    (
        p["endpoints"]["/v1/search"].as_u64().unwrap_or(0),
        p["violations"].as_u64().unwrap_or(0),
    )
}

/// Sends `rate` searches a second for `seconds` on `system`, starting now; returns their ids.
pub async fn demand(system: &System, queries: &[String], rate: u64, seconds: u64) -> Vec<String> {
    let started = Instant::now();
    let mut ids = Vec::new();
    for (i, q) in queries.iter().take((rate * seconds) as usize).enumerate() {
        let due = started + Duration::from_millis(i as u64 * 1000 / rate);
        tokio::time::sleep_until(due.into()).await;
        ids.push(system.search(q).await);
    }
    ids
}

/// A fresh namespace: `t` and 10 hex digits.
pub fn unique_namespace() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

impl System {
    pub async fn start(options: Options) -> System {
        let sim_stop = CancellationToken::new();
        let sim = Sim::build(SimConfig {
            latency_ms: options.sim_latency_ms,
            ..SimConfig::default()
        })
        .await
        .expect("sim starts");
        let sim_url = sim.base_url();
        let stop = sim_stop.clone();
        tokio::spawn(async move {
            let _ = sim.run(async move { stop.cancelled().await }).await;
        });
        Self::start_with_sim(options, sim_url, sim_stop).await
    }

    /// A second system on the same sim as `other` (another deployment calling the same
    /// provider), with a namespace and database of its own.
    pub async fn start_beside(options: Options, other: &System) -> System {
        Self::start_with_sim(options, other.sim_url.clone(), CancellationToken::new()).await
    }

    async fn start_with_sim(
        options: Options,
        sim_url: String,
        sim_stop: CancellationToken,
    ) -> System {
        let namespace = unique_namespace();
        let mut env: Vec<(String, String)> = [
            ("MUZE__NAMESPACE", namespace.clone()),
            (
                "MUZE__DATABASE__URL",
                format!("postgres://postgres@127.0.0.1:5432/muze_test_{namespace}"),
            ),
            // Each process of a test (API, workers) holds at most this many connections: tests
            // run side by side against one Postgres, whose 100 connections they share.
            ("MUZE__DATABASE__MAX_CONNECTIONS", "6".into()),
            ("MUZE__API__BIND", "127.0.0.1:0".into()),
            ("MUZE__API__KEYS", KEY.into()),
            ("MUZE__API__REQUESTS_PER_MINUTE", "100000".into()),
            ("MUZE__API__SEARCHES_PER_MINUTE", "100000".into()),
            ("MUZE__API__SEARCH_BURST", "10000".into()),
            ("MUZE__SEARCH__PROVIDERS", options.providers.into()),
            ("MUZE__WORKER__SWEEP_INTERVAL_SECS", "1".into()),
            ("MUZE__WORKER__LEASE_SECS", "5".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        // Every provider of the list points at the sim.
        env.extend(
            ProviderName::ALL
                .into_iter()
                .flat_map(|p| p.sim_env(&sim_url, "100000/30s")),
        );
        // Budgets belong to credentials, which tests share: each test spends its own.
        env.extend(ProviderName::ALL.map(|p| {
            (
                format!("MUZE__PROVIDERS__{}__BUDGET_KEY", p.env_name()),
                namespace.clone(),
            )
        }));
        for (key, value) in &options.extra_env {
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.clone()));
        }
        env.retain(|(k, _)| !options.unset_env.contains(k));
        let mut system = System {
            namespace,
            env,
            unset_env: options.unset_env.clone(),
            api_url: String::new(),
            sim_url,
            http: reqwest::Client::new(),
            sim_stop,
            api_stop: CancellationToken::new(),
            worker_stop: CancellationToken::new(),
            api_task: None,
            worker_tasks: Vec::new(),
            worker_ops: Vec::new(),
            children: Vec::new(),
            torn_down: false,
        };
        system.start_api().await;
        for _ in 0..options.workers {
            system.start_worker().await;
        }
        system
    }

    pub fn settings(&self) -> Settings {
        Settings::load_from(None, self.env.clone()).expect("test settings are valid")
    }

    /// A limiter on this system's budgets, as a worker of it has.
    pub async fn limiter(&self) -> muze_shared::rate_limit::RateLimiter {
        let settings = self.settings();
        let redis = muze_shared::redis_conn::Redis::connect(&settings.redis.url)
            .await
            .expect("redis");
        muze_shared::rate_limit::RateLimiter::new(&settings, redis, self.db().await)
    }

    /// Starts (or restarts) the API in this process.
    pub async fn start_api(&mut self) {
        let api = Api::build(self.settings()).await.expect("api starts");
        self.api_url = format!("http://{}", api.local_addr());
        self.api_stop = CancellationToken::new();
        let stop = self.api_stop.clone();
        self.api_task = Some(tokio::spawn(async move {
            api.run(async move { stop.cancelled().await })
                .await
                .expect("api runs");
        }));
    }

    /// Stops the API gracefully and waits for it.
    pub async fn stop_api(&mut self) {
        self.api_stop.cancel();
        if let Some(task) = self.api_task.take() {
            task.await.expect("api task");
        }
    }

    /// Starts a worker inside this process.
    pub async fn start_worker(&mut self) {
        let worker = Worker::build(self.settings()).await.expect("worker starts");
        self.worker_ops
            .push(worker.ops_addr().expect("ops address"));
        let stop = self.worker_stop.clone();
        self.worker_tasks.push(tokio::spawn(async move {
            worker
                .run(async move { stop.cancelled().await })
                .await
                .expect("worker runs");
        }));
    }

    /// Makes the sim enforce `calls` per rolling `window_ms` for `provider` (the provider's
    /// plan, as the provider itself counts it).
    pub async fn sim_limit(&self, provider: &str, calls: u32, window_ms: u64) {
        self.sim_control(
            provider,
            json!({"limit": {"calls": calls, "window_ms": window_ms}}),
        )
        .await;
    }

    /// Changes one setting for every process started from now on (an operator editing the
    /// deployment's configuration before a rollout); running ones keep theirs.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Starts a `muze-worker` process with this system's configuration.
    pub fn spawn_worker_process(&mut self) -> u32 {
        let mut command = Command::new(env!("CARGO_BIN_EXE_muze-worker"));
        for key in &self.unset_env {
            command.env_remove(key);
        }
        let child = command
            .envs(self.env.iter().cloned())
            .env("MUZE__LOG__FORMAT", "json")
            .env(
                "RUST_LOG",
                std::env::var("MUZE_TEST_WORKER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(if std::env::var_os("MUZE_TEST_WORKER_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::inherit())
            .spawn()
            .expect("worker process starts");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Sends SIGTERM to a worker process and waits for it to exit; returns whether it exited 0.
    pub fn terminate_process(&mut self, pid: u32) -> bool {
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid}");
        self.take_child(pid).wait().expect("child exits").success()
    }

    /// Kills a worker process outright (SIGKILL: no cleanup, leases left behind).
    pub fn kill_process(&mut self, pid: u32) {
        let mut child = self.take_child(pid);
        child.kill().expect("kill");
        let _ = child.wait();
    }

    /// Removes a started process from those this system stops at the end.
    fn take_child(&mut self, pid: u32) -> Child {
        let index = self
            .children
            .iter()
            .position(|c| c.id() == pid)
            .expect("known child");
        self.children.remove(index)
    }

    /// Adds new-release albums to the sim's catalog; returns the new songs as the sim lists
    /// them (with `isrc`, `spotify_id`, `deezer_id`, ...).
    pub async fn add_releases(&self, albums: usize, tracks_per_album: usize) -> Vec<Value> {
        let response = self
            .http
            .post(format!("{}/_control/releases", self.sim_url))
            .json(&json!({"albums": albums, "tracks_per_album": tracks_per_album}))
            .send()
            .await
            .expect("sim releases");
        assert!(response.status().is_success(), "sim releases");
        let body: Value = response.json().await.expect("json");
        body["songs"].as_array().cloned().expect("songs")
    }

    /// Starts a crawl over the configured sources, as `POST /v1/admin/crawls` does.
    pub async fn start_crawl(&self, pool: &sqlx::PgPool) -> uuid::Uuid {
        let settings = self.settings();
        let topology =
            muze_shared::queue::Topology::new(&settings.namespace, settings.worker.delivery_limit);
        let broker = muze_shared::queue::Broker::connect(settings.amqp.url.clone(), topology)
            .await
            .expect("broker");
        let crawl = muze_shared::crawl::start(
            pool,
            &broker,
            muze_shared::db::crawls::Trigger::Admin,
            &settings.crawl.sources,
        )
        .await
        .expect("crawl starts");
        broker.close().await;
        crawl.id
    }

    /// Waits until the crawl has ended (or `timeout` passes) and returns its last view.
    pub async fn wait_crawl(
        &self,
        pool: &sqlx::PgPool,
        id: uuid::Uuid,
        timeout: Duration,
    ) -> muze_shared::db::crawls::CrawlView {
        let started = Instant::now();
        loop {
            let view = muze_shared::db::crawls::view(pool, id)
                .await
                .expect("crawl view")
                .expect("crawl exists");
            if view.status != muze_shared::db::crawls::CrawlStatus::Running
                || started.elapsed() > timeout
            {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn post_search(&self, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/v1/searches", self.api_url))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .expect("POST /v1/searches");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a search for `query` and returns its id.
    pub async fn search(&self, query: &str) -> String {
        let (status, body) = self.post_search(json!({ "query": query })).await;
        assert!(
            status == 202 || status == 200,
            "POST {query:?} → {status} {body}"
        );
        body["id"].as_str().expect("id").to_string()
    }

    pub async fn get_search(&self, id: &str, wait: u64) -> Value {
        let response = self
            .http
            .get(format!("{}/v1/searches/{id}?wait={wait}", self.api_url))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("GET /v1/searches/{id}");
        assert_eq!(response.status().as_u16(), 200, "GET search {id}");
        response.json().await.expect("json")
    }

    /// Long-polls until the search is final or `timeout` passes; returns its last state.
    pub async fn wait_done(&self, id: &str, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            let search = self.get_search(id, 5).await;
            let status = search["status"].as_str().unwrap_or_default();
            if status == "succeeded" || status == "failed" || started.elapsed() > timeout {
                return search;
            }
        }
    }

    /// The sim's call counters.
    pub async fn sim_stats(&self) -> Value {
        self.http
            .get(format!("{}/_stats", self.sim_url))
            .send()
            .await
            .expect("sim stats")
            .json()
            .await
            .expect("json")
    }

    /// How many calls the sim counted to one provider endpoint (e.g. `"spotify"`, `"/v1/search"`).
    pub async fn sim_calls(&self, provider: &str, endpoint: &str) -> u64 {
        self.sim_stats().await["providers"][provider]["endpoints"][endpoint]
            .as_u64()
            .unwrap_or(0)
    }

    /// `GET path` on the API with `key`, as JSON.
    pub async fn get_json(&self, path: &str, key: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.api_url))
            .bearer_auth(key)
            .send()
            .await
            .expect("API answers");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }

    /// Sets a fault or latency on one simulated provider.
    pub async fn sim_control(&self, provider: &str, body: Value) {
        let response = self
            .http
            .post(format!("{}/_control/{provider}", self.sim_url))
            .json(&body)
            .send()
            .await
            .expect("sim control");
        assert!(response.status().is_success(), "sim control {body}");
    }

    /// A connection to this system's broker, on its namespace's queues.
    pub async fn broker(&self) -> std::sync::Arc<muze_shared::queue::Broker> {
        let settings = self.settings();
        muze_shared::queue::Broker::connect(
            settings.amqp.url.clone(),
            muze_shared::queue::Topology::new(&self.namespace, settings.worker.delivery_limit),
        )
        .await
        .expect("broker")
    }

    /// A direct connection to this system's database.
    pub async fn db(&self) -> sqlx::PgPool {
        let settings = self.settings();
        muze_shared::db::connect(&settings.database.url, 2)
            .await
            .expect("db")
    }

    /// Starts one more API process (in this process) on the same database and namespace, and
    /// returns its base URL.
    pub async fn start_another_api(&mut self) -> String {
        let api = Api::build(self.settings()).await.expect("api starts");
        let url = format!("http://{}", api.local_addr());
        let stop = self.worker_stop.clone();
        self.worker_tasks.push(tokio::spawn(async move {
            api.run(async move { stop.cancelled().await })
                .await
                .expect("api runs");
        }));
        url
    }

    /// Stops everything this system started.
    pub async fn shutdown(mut self) {
        self.worker_stop.cancel();
        for task in self.worker_tasks.drain(..) {
            let _ = task.await;
        }
        self.stop_api().await;
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.sim_stop.cancel();
        self.teardown().await;
        self.torn_down = true;
    }

    /// Deletes this system's queues, budgets and database, so repeated runs leave nothing
    /// behind.
    async fn teardown(&self) {
        let settings = self.settings();
        if let (Ok(redis), Ok(pool)) = (
            muze_shared::redis_conn::Redis::connect(&settings.redis.url).await,
            sqlx::PgPool::connect_lazy(settings.database.url.expose_secret()),
        ) {
            let limiter = muze_shared::rate_limit::RateLimiter::new(&settings, redis.clone(), pool);
            for p in ProviderName::ALL {
                let _ = limiter.forget(p).await;
            }
            // The namespace's own keys: the per-key limits and the status page's answer counts.
            let pattern = format!("{}:*", self.namespace);
            let _ = redis
                .run(|mut c| async move {
                    let keys: Vec<String> =
                        redis::cmd("KEYS").arg(pattern).query_async(&mut c).await?;
                    if !keys.is_empty() {
                        redis::cmd("DEL")
                            .arg(keys)
                            .query_async::<()>(&mut c)
                            .await?;
                    }
                    Ok(())
                })
                .await;
        }
        let topology =
            muze_shared::queue::Topology::new(&settings.namespace, settings.worker.delivery_limit);
        if let Ok(broker) =
            muze_shared::queue::Broker::connect(settings.amqp.url.clone(), topology).await
        {
            let _ = broker.delete_namespace_queues().await;
            broker.close().await;
        }
        if let Ok(mut admin) =
            sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await
        {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"muze_test_{}\" WITH (FORCE)",
                self.namespace
            ))
            .execute(&mut admin)
            .await;
        }
    }
}

impl Drop for System {
    /// Also when a test fails before [`System::shutdown`]: the processes are killed and the
    /// queues, budgets and database deleted (on a thread of its own, with its own runtime, as
    /// this may run inside the test's).
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.torn_down {
            return;
        }
        self.worker_stop.cancel();
        self.api_stop.cancel();
        self.sim_stop.cancel();
        let this = &*self;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(this.teardown());
                }
            });
        });
    }
}
