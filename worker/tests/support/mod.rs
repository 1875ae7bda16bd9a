//! A whole Muze system for one test: `muze-sim`, `muze-api` and workers against the real
//! Postgres, Redis and RabbitMQ, isolated by a fresh database and a unique namespace.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::{
    path::Path,
    time::{Duration, Instant},
};

use muze_api::Api;
use muze_shared::Settings;
use muze_sim::SimConfig;
use muze_testkit::{
    processes::{Output, Processes},
    ApiClient, RunningSim, SimClient, World,
};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use muze_testkit::worker::READY_WITHIN;

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

/// A running sim, API and workers, in a world of their own.
pub struct System {
    pub namespace: String,
    pub api_url: String,
    pub sim_url: String,
    pub http: reqwest::Client,
    world: World,
    /// The sim, when this system started it (not when it shares another's).
    sim: Option<RunningSim>,
    sim_client: SimClient,
    api_stop: CancellationToken,
    worker_stop: CancellationToken,
    api_task: Option<JoinHandle<()>>,
    worker_tasks: Vec<JoinHandle<()>>,
    /// `/metrics` of each in-process worker.
    pub worker_ops: Vec<std::net::SocketAddr>,
    /// `muze-worker` processes this system started, the settings it unsets kept out of their
    /// environment too.
    processes: Processes,
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

impl System {
    pub async fn start(options: Options) -> System {
        let sim = RunningSim::start(SimConfig {
            latency_ms: options.sim_latency_ms,
            ..SimConfig::default()
        })
        .await;
        let sim_client = sim.client.clone();
        Self::start_with_sim(options, sim_client, Some(sim)).await
    }

    /// A second system on the same sim as `other` (another deployment calling the same
    /// provider), with a namespace and database of its own.
    pub async fn start_beside(options: Options, other: &System) -> System {
        Self::start_with_sim(options, other.sim_client.clone(), None).await
    }

    async fn start_with_sim(
        options: Options,
        sim_client: SimClient,
        sim: Option<RunningSim>,
    ) -> System {
        let mut world = World::new("t");
        for (key, value) in [
            // Each process of a test (API, workers) holds at most this many connections: tests
            // run side by side against one Postgres, whose 100 connections they share.
            ("MUZE__DATABASE__MAX_CONNECTIONS", "6"),
            ("MUZE__API__BIND", "127.0.0.1:0"),
            ("MUZE__API__KEYS", KEY),
            ("MUZE__SEARCH__PROVIDERS", options.providers),
            ("MUZE__WORKER__SWEEP_INTERVAL_SECS", "1"),
            ("MUZE__WORKER__LEASE_SECS", "5"),
        ] {
            world.set(key, value);
        }
        world.lift_client_limits();
        world.point_at_sim(sim_client.base(), "100000/30s");
        for (key, value) in &options.extra_env {
            world.set(key, value.clone());
        }
        for key in &options.unset_env {
            world.unset(key);
        }
        let mut system = System {
            namespace: world.namespace().to_string(),
            api_url: String::new(),
            sim_url: sim_client.base().to_string(),
            http: reqwest::Client::new(),
            world,
            sim,
            sim_client,
            api_stop: CancellationToken::new(),
            worker_stop: CancellationToken::new(),
            api_task: None,
            worker_tasks: Vec::new(),
            worker_ops: Vec::new(),
            processes: Processes::new(
                Path::new(env!("CARGO_BIN_EXE_muze-worker"))
                    .parent()
                    .expect("the binaries' directory"),
            )
            .clearing(&options.unset_env)
            .output(if std::env::var_os("MUZE_TEST_WORKER_LOG").is_some() {
                Output::Inherit
            } else {
                Output::Discard
            }),
        };
        system.start_api().await;
        for _ in 0..options.workers {
            system.start_worker().await;
        }
        system
    }

    /// The API's client, with the test key.
    pub fn api(&self) -> ApiClient {
        ApiClient::new(self.api_url.clone(), KEY)
    }

    /// The sim's client.
    pub fn sim(&self) -> &SimClient {
        &self.sim_client
    }

    pub fn settings(&self) -> Settings {
        self.world.settings()
    }

    /// A limiter on this system's budgets, as a worker of it has.
    pub async fn limiter(&self) -> muze_shared::rate_limit::RateLimiter {
        self.world.limiter().await
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
        let worker = muze_testkit::worker::start(self.settings(), self.worker_stop.clone()).await;
        self.worker_ops.push(worker.ops);
        self.worker_tasks.push(worker.task);
    }

    /// Makes the sim enforce `calls` per rolling `window_ms` for `provider` (the provider's
    /// plan, as the provider itself counts it).
    pub async fn sim_limit(&self, provider: &str, calls: u32, window_ms: u64) {
        self.sim_client.limit(provider, calls, window_ms).await;
    }

    /// Changes one setting for every process started from now on (an operator editing the
    /// deployment's configuration before a rollout); running ones keep theirs.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.world.set(key, value);
    }

    /// Starts a `muze-worker` process with this system's configuration and waits until it is
    /// ready (its `/readyz` answers 200); returns its pid. With `MUZE_TEST_WORKER_LOG` set, its
    /// log, at that level, goes to this test's output.
    pub async fn spawn_worker_process(&mut self) -> u32 {
        let log_level = std::env::var("MUZE_TEST_WORKER_LOG").ok();
        let env = [
            ("MUZE__LOG__FORMAT", "json"),
            ("RUST_LOG", log_level.as_deref().unwrap_or("warn")),
        ];
        let (pid, _) = self
            .processes
            .spawn_worker(&self.world, &env, READY_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("the worker process becomes ready: {e}"));
        pid
    }

    /// Sends SIGTERM to a worker process and waits for it to exit; returns whether it exited 0.
    pub fn terminate_process(&mut self, pid: u32) -> bool {
        self.processes
            .terminate(pid)
            .expect("the worker process stops")
            .success()
    }

    /// Kills a worker process outright (SIGKILL: no cleanup, leases left behind).
    pub fn kill_process(&mut self, pid: u32) {
        self.processes.kill(pid).expect("kill");
    }

    /// Adds new-release albums to the sim's catalog; returns the new songs as the sim lists
    /// them (with `isrc`, `spotify_id`, `deezer_id`, ...).
    pub async fn add_releases(&self, albums: usize, tracks_per_album: usize) -> Vec<Value> {
        self.sim_client.add_releases(albums, tracks_per_album).await
    }

    /// Starts a crawl over the configured sources, as `POST /v1/admin/crawls` does.
    pub async fn start_crawl(&self, pool: &sqlx::PgPool) -> uuid::Uuid {
        let broker = self.world.broker().await;
        let crawl = muze_shared::crawl::start(
            pool,
            &broker,
            muze_shared::db::crawls::Trigger::Admin,
            &self.settings().crawl.sources,
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
        self.api().post_search(&body).await
    }

    /// POSTs a search for `query` and returns its id.
    pub async fn search(&self, query: &str) -> String {
        self.api().search(query).await
    }

    pub async fn get_search(&self, id: &str, wait: u64) -> Value {
        self.api().get_search(id, wait).await
    }

    /// Long-polls until the search is final or `timeout` passes; returns its last state.
    pub async fn wait_done(&self, id: &str, timeout: Duration) -> Value {
        self.api().wait_done(id, timeout).await
    }

    /// The sim's call counters.
    pub async fn sim_stats(&self) -> Value {
        self.sim_client.stats().await
    }

    /// How many calls the sim counted to one provider endpoint (e.g. `"spotify"`, `"/v1/search"`).
    pub async fn sim_calls(&self, provider: &str, endpoint: &str) -> u64 {
        self.sim_client.calls(provider, endpoint).await
    }

    /// `GET path` on the API with `key`, as JSON.
    pub async fn get_json(&self, path: &str, key: &str) -> Value {
        self.api().with_key(key).get_json(path).await
    }

    /// Sets a fault or latency on one simulated provider.
    pub async fn sim_control(&self, provider: &str, body: Value) {
        self.sim_client.control(provider, body).await;
    }

    /// A connection to this system's broker, on its namespace's queues.
    pub async fn broker(&self) -> std::sync::Arc<muze_shared::queue::Broker> {
        self.world.broker().await
    }

    /// A direct connection to this system's database.
    pub async fn db(&self) -> sqlx::PgPool {
        self.world.pool(2).await
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

    /// Stops everything this system started, then removes its world.
    pub async fn shutdown(mut self) {
        self.worker_stop.cancel();
        for task in self.worker_tasks.drain(..) {
            let _ = task.await;
        }
        self.stop_api().await;
        self.processes.kill_all();
        if let Some(sim) = &self.sim {
            sim.stop();
        }
        self.world.teardown().await;
    }
}

impl Drop for System {
    /// Also when a test fails before [`System::shutdown`]: the processes are killed and the
    /// tasks stopped; the world then removes its queues, budgets and database as it drops.
    fn drop(&mut self) {
        self.processes.kill_all();
        self.worker_stop.cancel();
        self.api_stop.cancel();
        // Not polled again: none re-declares a queue while the world is removed.
        for task in &self.worker_tasks {
            task.abort();
        }
        if let Some(task) = &self.api_task {
            task.abort();
        }
    }
}
