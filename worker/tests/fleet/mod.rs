//! A whole Muze fleet as separate processes, each with its own metrics recorder: `muze-sim`,
//! `muze-api`, two `muze-worker`s and `muze-scheduler`, on a fresh database and a unique
//! namespace, against the real Postgres, Redis and RabbitMQ. Dropping the [`Fleet`] (also when
//! a test fails) stops every process and deletes the run's queues, budgets and database.
//!
//! The binaries are the workspace's own debug builds. `cargo test --workspace` has built them
//! already; for a single crate's tests [`binaries`] builds the missing ones with cargo.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::{collections::BTreeMap, path::PathBuf, process::Command, sync::OnceLock, time::Duration};

use muze_testkit::{processes::Processes, ApiClient, SimClient, World};
use serde_json::{json, Value};

pub use muze_testkit::{catalog_queries, processes::free_port, wait::eventually};

/// How long each process of the fleet may take to answer after it starts.
const STARTING_WITHIN: Duration = Duration::from_secs(30);

/// The client key of the fleet's API.
pub const KEY: &str = "fleet-key";

/// Where the workspace's binaries are, built once per test process.
fn binaries() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let worker = PathBuf::from(env!("CARGO_BIN_EXE_muze-worker"));
        let dir = worker.parent().expect("a target directory").to_path_buf();
        let release = dir.ends_with("release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // The whole workspace's binaries, with the features the workspace's tests build them.
        build.args(["build", "--locked", "--workspace", "--bins"]);
        if release {
            build.arg("--release");
        }
        // Without the variables cargo set for this test: build scripts that watch them would
        // otherwise rebuild, and the workspace's own `cargo test` would rebuild them back.
        // rustup's own (`RUSTUP_TOOLCHAIN`, `RUSTUP_HOME`) stay: without them every rustc cargo
        // starts picks its toolchain afresh from the directory it runs in, and a dependency's
        // own `rust-toolchain.toml` (sqlx pins 1.78) would be fetched and used.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            let ours = key == "CARGO_HOME" || key == "CARGO_TARGET_DIR";
            let rustup = key.starts_with("RUSTUP_");
            if (key.starts_with("CARGO_") && !ours)
                || key == "OUT_DIR"
                || (key.starts_with("RUST") && !rustup)
            {
                build.env_remove(&key);
            }
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "cargo build of the fleet's binaries failed"
        );
        dir
    })
    .clone()
}

/// A running fleet.
pub struct Fleet {
    pub namespace: String,
    pub api_url: String,
    pub sim_url: String,
    /// Base URL of each worker's operations endpoint.
    pub worker_ops: Vec<String>,
    /// Base URL of the scheduler's operations endpoint.
    pub scheduler_ops: String,
    pub http: reqwest::Client,
    /// Declared before the world: stopped before it is removed.
    processes: Processes,
    world: World,
}

impl Fleet {
    /// Starts the sim (adding `sim_latency_ms` to every call), the API, `workers` workers and
    /// a scheduler whose crawl fires every five seconds; returns once each answers.
    pub async fn start(workers: usize, sim_latency_ms: u64) -> Fleet {
        let mut world = World::new("f");
        let sim_port = free_port();
        let api_port = free_port();
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        let settings: Vec<(&str, String)> = vec![
            ("MUZE__DATABASE__MAX_CONNECTIONS", "4".into()),
            ("MUZE__API__BIND", format!("127.0.0.1:{api_port}")),
            ("MUZE__API__KEYS", KEY.into()),
            ("MUZE__API__FLEET_SAMPLE_MS", "500".into()),
            ("MUZE__SEARCH__PROVIDERS", "spotify".into()),
            ("MUZE__WORKER__SWEEP_INTERVAL_SECS", "1".into()),
            ("MUZE__WORKER__CONCURRENCY", "8".into()),
            ("MUZE__SCHEDULER__CRAWL_CRON", "*/5 * * * * *".into()),
            // Crawls read Deezer only, so Spotify's calls are the searches' alone.
            ("MUZE__CRAWL__SOURCES", "deezer".into()),
            ("MUZE__LOG__FORMAT", "json".into()),
            ("RUST_LOG", "warn".into()),
        ];
        for (key, value) in settings {
            world.set(key, value);
        }
        world.lift_client_limits();
        // Every provider at the sim; YouTube is configured (its daily quota shows on /metrics)
        // but never searched.
        world.point_at_sim(&sim_url, "1000/30s");
        world.set("MUZE__PROVIDERS__YOUTUBE__DAILY_QUOTA", "10000");
        let mut fleet = Fleet {
            namespace: world.namespace().to_string(),
            api_url: format!("http://127.0.0.1:{api_port}"),
            sim_url: sim_url.clone(),
            worker_ops: Vec::new(),
            scheduler_ops: String::new(),
            http: reqwest::Client::new(),
            processes: Processes::new(binaries()),
            world,
        };
        let latency = sim_latency_ms.to_string();
        let bind = format!("127.0.0.1:{sim_port}");
        let sim_args = [
            "--bind",
            &bind,
            "--latency-ms",
            &latency,
            "--spotify-limit",
            "off",
        ];
        fleet.spawn("muze-sim", &sim_args, &[]);
        fleet
            .wait_ok(&format!("{sim_url}/_health"), "muze-sim")
            .await;
        fleet.spawn("muze-api", &[], &[]);
        let api_ready = format!("{}/readyz", fleet.api_url);
        fleet.wait_ok(&api_ready, "muze-api").await;
        for _ in 0..workers {
            let (_, ops) = fleet
                .processes
                .spawn_worker(&fleet.world, &[], STARTING_WITHIN)
                .await
                .unwrap_or_else(|e| panic!("muze-worker: {e}"));
            fleet.worker_ops.push(ops);
        }
        let ops = format!("127.0.0.1:{}", free_port());
        fleet.spawn(
            "muze-scheduler",
            &[],
            &[("MUZE__SCHEDULER__METRICS_BIND", &ops)],
        );
        fleet.scheduler_ops = format!("http://{ops}");
        let scheduler = format!("{}/healthz", fleet.scheduler_ops);
        fleet.wait_ok(&scheduler, "muze-scheduler").await;
        fleet
    }

    fn spawn(&mut self, name: &str, args: &[&str], env: &[(&str, &str)]) {
        self.processes
            .spawn(&self.world, name, args, env)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Waits (up to 30 s) for `url` to answer 2xx; fails naming `what` if it never does or
    /// a process of the fleet exited.
    async fn wait_ok(&mut self, url: &str, what: &str) {
        self.processes
            .wait_ready(url, STARTING_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }

    /// Every scrape target: (Prometheus job, `host:port`).
    pub fn targets(&self) -> Vec<(&'static str, String)> {
        let host = |url: &str| url.trim_start_matches("http://").to_string();
        let mut targets = vec![("api", host(&self.api_url))];
        targets.extend(self.worker_ops.iter().map(|w| ("worker", host(w))));
        targets.push(("scheduler", host(&self.scheduler_ops)));
        targets
    }

    /// The fleet's API, with its client key.
    pub fn api(&self) -> ApiClient {
        ApiClient::new(self.api_url.clone(), KEY)
    }

    /// POSTs a search; returns its status code and body.
    pub async fn post_search(&self, query: &str) -> (u16, Value) {
        self.api()
            .post_search(&serde_json::json!({ "query": query }))
            .await
    }

    /// Long-polls until the search is final (or 60 s pass); returns its last state.
    pub async fn wait_done(&self, id: &str) -> Value {
        self.api().wait_done(id, Duration::from_secs(60)).await
    }

    /// Sets a fault on one simulated provider.
    pub async fn sim_control(&self, provider: &str, body: Value) {
        SimClient::new(self.sim_url.clone())
            .control(provider, body)
            .await;
    }

    /// The settings every process of the fleet runs with.
    pub fn settings(&self) -> muze_shared::Settings {
        self.world.settings()
    }

    /// A connection to the fleet's database.
    pub async fn db(&self) -> sqlx::PgPool {
        self.world.pool(1).await
    }

    /// A broker on the fleet's namespace.
    pub async fn broker(&self) -> std::sync::Arc<muze_shared::queue::Broker> {
        self.world.broker().await
    }

    /// Stops every process with SIGTERM and waits for them; `true` if all exited 0.
    pub fn stop(&mut self) -> bool {
        self.processes.stop()
    }
}

/// One scrape of `/metrics`, parsed: every sample as (name, labels, value).
#[derive(Debug, Clone)]
pub struct Scrape {
    pub text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// GETs and parses `{base}/metrics`.
    pub async fn of(http: &reqwest::Client, base: &str) -> Scrape {
        let response = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {base}/metrics: {e}"));
        assert!(response.status().is_success(), "GET {base}/metrics");
        Scrape::parse(&response.text().await.expect("text"))
    }

    /// Parses the Prometheus text format (the exporter's output: no timestamps, no escapes
    /// in our label values).
    pub fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("closing brace");
                    let labels = body
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').expect("label=value");
                            (k.to_string(), v.trim_matches('"').to_string())
                        })
                        .collect();
                    (name.to_string(), labels)
                }
                None => (series.to_string(), BTreeMap::new()),
            };
            samples.push((name, labels, value));
        }
        Scrape {
            text: text.to_string(),
            samples,
        }
    }

    /// The sum of every sample of `name` whose labels include `labels`; `None` if no sample
    /// matches (the family is missing).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).is_some_and(|x| x == v))
            })
            .map(|(_, _, v)| *v)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Like [`Scrape::sum`], failing with the whole scrape when the family is missing.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.sum(name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{}", self.text))
    }

    /// Whether the family has HELP text.
    pub fn has_help(&self, family: &str) -> bool {
        self.text.contains(&format!("# HELP {family} "))
    }
}

/// The sum of `name` over several scrapes (each worker's, say).
pub fn total(scrapes: &[Scrape], name: &str, labels: &[(&str, &str)]) -> f64 {
    scrapes.iter().filter_map(|s| s.sum(name, labels)).sum()
}

/// What [`small_load`] did, for the tests to compare the metrics with.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Distinct searches posted, each answered by Spotify through a job.
    pub searches: u64,
    /// Searches that joined one of those while it ran.
    pub joined: u64,
    /// The same searches posted again once answered: catalog hits.
    pub repeats: u64,
    /// 429s Spotify sent (one, injected), each retried.
    pub throttled: u64,
    /// Jobs past their deadline the sweeper failed.
    pub expired: u64,
    /// Unreadable messages parked.
    pub parked: u64,
    /// Jobs recorded without a message (as if the API died before publishing), which the
    /// sweeper re-published and Spotify answered.
    pub stranded: u64,
}

impl Load {
    /// Jobs Spotify answered: the searches posted and the stranded one.
    pub fn answered(&self) -> u64 {
        self.searches + self.stranded
    }
}

/// A small load on `fleet`: six searches (the first meets one 429 and one joiner), repeated
/// once answered; a job left past its deadline; an unreadable message; and the scheduler's
/// crawl ticks meanwhile. Returns once every effect is visible in the metrics.
pub async fn small_load(fleet: &Fleet) -> Load {
    let load = Load {
        searches: 6,
        joined: 1,
        repeats: 6,
        throttled: 1,
        expired: 1,
        parked: 1,
        stranded: 1,
    };
    let mut queries = catalog_queries(load.answered() as usize);
    let stranded_query = queries.pop().expect("a query");
    // A stranded job, answered only once the sweeper re-publishes it (after 10 s): a
    // long-poll on it surely waits while the rest of the load runs.
    let stranded = record_job(fleet, &stranded_query, chrono::Duration::seconds(60)).await;
    fleet
        .sim_control(
            "spotify",
            json!({"fault": "rate_limited", "count": 1, "retry_after_secs": 1}),
        )
        .await;
    let mut ids = Vec::new();
    for q in &queries {
        let (status, body) = fleet.post_search(q).await;
        assert_eq!(status, 202, "{q}: {body}");
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    let (status, joined) = fleet.post_search(&queries[0]).await;
    assert_eq!(
        (status, joined["id"].as_str()),
        (202, Some(ids[0].as_str())),
        "joined"
    );
    // A long-poll waits for the stranded job: the API counts it.
    let poll = {
        let http = fleet.http.clone();
        let url = format!("{}/v1/searches/{stranded}?wait=30", fleet.api_url);
        tokio::spawn(async move { http.get(url).bearer_auth(KEY).send().await })
    };
    let waiting = eventually(Duration::from_secs(5), || async {
        let api = Scrape::of(&fleet.http, &fleet.api_url).await;
        (api.sum(muze_shared::metric_families::LONG_POLL_WAITERS, &[]) >= Some(1.0)).then_some(())
    })
    .await;
    assert!(
        waiting.is_some(),
        "the long-poll was never counted as waiting"
    );
    for id in &ids {
        let done = fleet.wait_done(id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    for q in &queries {
        let (status, body) = fleet.post_search(q).await;
        assert_eq!(
            (status, body["source"].as_str()),
            (200, Some("catalog")),
            "{q}: {body}"
        );
    }
    record_job(
        fleet,
        "a search nobody answered in time",
        chrono::Duration::seconds(-1),
    )
    .await;
    let broker = fleet.broker().await;
    let work = broker.topology().search.work.clone();
    broker
        .publish(&work, b"not a search message", "unreadable", &[])
        .await
        .expect("published");
    broker.close().await;
    // Every effect reaches the metrics: the parked message and the fleet gauges (sampled),
    // the expired job (swept), a scheduled crawl page (the cron fires every 5 s).
    let seen = eventually(Duration::from_secs(30), || async {
        let api = Scrape::of(&fleet.http, &fleet.api_url).await;
        let workers = fleet.scrape_workers().await;
        let parked = api.sum(
            "muze_queue_messages",
            &[("kind", "search"), ("state", "parked")],
        );
        let crawled = total(
            &workers,
            "muze_jobs_finished_total",
            &[("kind", "crawl_page")],
        );
        let failed = total(
            &workers,
            "muze_jobs_finished_total",
            &[("kind", "search"), ("status", "failed")],
        );
        (parked == Some(load.parked as f64) && crawled >= 1.0 && failed >= load.expired as f64)
            .then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "the load's effects never all reached the metrics"
    );
    let polled = poll.await.expect("poll task").expect("long-poll answered");
    let polled: Value = polled.json().await.expect("JSON");
    let polled = if polled["status"] == "succeeded" {
        polled
    } else {
        fleet.wait_done(&stranded.to_string()).await
    };
    assert_eq!(polled["status"], "succeeded", "the stranded job: {polled}");
    // Two sampling intervals (500 ms): the fleet gauges show the state after the load.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    load
}

/// Records a search job for `query` due `deadline` from now without publishing it, as an
/// API that died between its commit and its publish leaves one: the sweeper re-publishes it
/// (after 10 s), or fails it if its deadline has passed.
async fn record_job(fleet: &Fleet, query: &str, deadline: chrono::Duration) -> uuid::Uuid {
    use muze_shared::{
        db::searches::{create_or_join, NewSearch},
        domain::{Query, ResultLimit, SearchType},
    };
    let pool = fleet.db().await;
    let query = Query::parse(query).expect("query");
    let new = NewSearch {
        id: uuid::Uuid::now_v7(),
        normalized: query.normalize(),
        query,
        search_type: SearchType::Track,
        limit: ResultLimit::default(),
        deadline_at: chrono::Utc::now() + deadline,
    };
    let id = create_or_join(&pool, &new, 60)
        .await
        .expect("job recorded")
        .id();
    pool.close().await;
    id
}

impl Fleet {
    /// Every worker's `/metrics`.
    pub async fn scrape_workers(&self) -> Vec<Scrape> {
        let mut scrapes = Vec::new();
        for w in &self.worker_ops {
            scrapes.push(Scrape::of(&self.http, w).await);
        }
        scrapes
    }
}
