//! The fault run: a steady search load on the whole system (release binaries: sim, API, two
//! workers) whose Postgres, Redis and RabbitMQ are private instances of this run, and one
//! fault after another: a worker SIGKILLed (and started again, as an orchestrator would),
//! RabbitMQ, Redis and Postgres each stopped and started again, and Spotify answering garbage
//! (HTTP 200 with a truncated body) while Deezer stands behind it.
//!
//! Each search is a distinct song of the sim's catalog, counted in the window in which it was
//! posted. Per window it reports: accepted, succeeded, failed by code, refused (503 while a
//! dependency was down), lost (accepted and never final), duplicated results, and the time from
//! the dependency being back until a fresh search is answered end to end. At the end: the
//! sim's limit violations (each budget equals the sim's limit) and tracks stored twice.
//!
//! `cargo build --release --bins && target/release/muze-bench faults`

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use muze_shared::domain::{ProviderName, SearchStatus};
use muze_testkit::private::{
    postgres::PrivatePostgres, rabbitmq::PrivateRabbitMq, redis::PrivateRedis,
};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::stack::{search_until_final, song_queries, Stack, KEY};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Searches per second, all through the run.
    #[arg(long, default_value_t = 4.0)]
    rate: f64,
    /// How long each dependency stays down (and Spotify answers garbage).
    #[arg(long, default_value_t = 10)]
    down_secs: u64,
    /// Steady load before the first fault and after each one.
    #[arg(long, default_value_t = 15)]
    steady_secs: u64,
    /// Which faults, in order (default: all): worker, rabbitmq, redis, postgres, garbage.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "worker,rabbitmq,redis,postgres,garbage"
    )]
    faults: Vec<FaultArg>,
}

/// A fault, as named on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FaultArg {
    Worker,
    Rabbitmq,
    Redis,
    Postgres,
    Garbage,
}

impl FaultArg {
    fn window(self) -> Window {
        match self {
            FaultArg::Worker => Window::WorkerKilled,
            FaultArg::Rabbitmq => Window::RabbitMqRestart,
            FaultArg::Redis => Window::RedisRestart,
            FaultArg::Postgres => Window::PostgresRestart,
            FaultArg::Garbage => Window::ProviderGarbage,
        }
    }
}

/// Each searched provider's limit at the sim, and the budget the workers hold it to: one
/// table, so no provider is enforced at the sim without being budgeted in the workers.
/// Spotify's is short so that a fault shows within a run; Deezer's is its documented 50 calls
/// per 5 s (the sim's default).
const LIMITS: [(ProviderName, &str); 2] = [
    (ProviderName::Spotify, "60/10s"),
    (ProviderName::Deezer, "50/5s"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Window {
    Steady,
    WorkerKilled,
    RabbitMqRestart,
    RedisRestart,
    PostgresRestart,
    ProviderGarbage,
}

impl Window {
    fn name(self) -> &'static str {
        match self {
            Window::Steady => "steady",
            Window::WorkerKilled => "worker SIGKILLed",
            Window::RabbitMqRestart => "RabbitMQ restarted",
            Window::RedisRestart => "Redis restarted",
            Window::PostgresRestart => "Postgres restarted",
            Window::ProviderGarbage => "Spotify answers garbage",
        }
    }
}

/// One POST of the load.
#[derive(Debug, Clone)]
struct Posted {
    window: Window,
    status: u16,
    id: Option<String>,
}

/// The private dependencies of the run.
struct Dependencies {
    postgres: PrivatePostgres,
    redis: PrivateRedis,
    rabbitmq: PrivateRabbitMq,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let deps = blocking(|| Dependencies {
        postgres: PrivatePostgres::start(),
        redis: PrivateRedis::start(),
        rabbitmq: PrivateRabbitMq::start(),
    })
    .await;
    let mut env: Vec<(String, String)> = vec![
        ("MUZE__DATABASE__URL".into(), deps.postgres.url("muze")),
        ("MUZE__REDIS__URL".into(), deps.redis.url()),
        ("MUZE__AMQP__URL".into(), deps.rabbitmq.url()),
        (
            "MUZE__SEARCH__PROVIDERS".into(),
            LIMITS.map(|(p, _)| p.as_str()).join(","),
        ),
        ("MUZE__WORKER__LEASE_SECS".into(), "5".into()),
        ("MUZE__WORKER__SWEEP_INTERVAL_SECS".into(), "1".into()),
    ];
    env.extend(LIMITS.map(|(p, limit)| {
        (
            format!("MUZE__PROVIDERS__{}__RATE_LIMIT", p.env_name()),
            limit.to_string(),
        )
    }));
    let sim_args: Vec<String> = LIMITS
        .iter()
        .flat_map(|(p, limit)| [format!("--{}-limit", p.as_str()), limit.to_string()])
        .collect();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let stack = Stack::start_with_sim_args(
        2,
        20,
        &env_refs,
        &sim_args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await
    .context("the stack")?;
    let stack = Arc::new(Mutex::new(stack));
    let (api, sim) = {
        let s = stack.lock().await;
        (s.api_url.clone(), s.sim_url.clone())
    };
    let deps = Arc::new(std::sync::Mutex::new(deps));
    let client = reqwest::Client::new();
    let mut queries = song_queries().into_iter();
    let probes: Vec<String> = queries.by_ref().take(200).collect();
    let mut probes = probes.into_iter();

    // The load: one POST every 1/rate s, each on its own task.
    let window = Arc::new(std::sync::Mutex::new(Window::Steady));
    let posted: Arc<Mutex<Vec<Posted>>> = Arc::default();
    let load = tokio::spawn({
        let (client, api, window, posted) =
            (client.clone(), api.clone(), window.clone(), posted.clone());
        let every = Duration::from_secs_f64(1.0 / args.rate.max(0.1));
        async move {
            let mut ticker = tokio::time::interval(every);
            for query in queries {
                ticker.tick().await;
                let (client, api, posted) = (client.clone(), api.clone(), posted.clone());
                let at = *window.lock().expect("window");
                tokio::spawn(async move {
                    let sent = client
                        .post(format!("{api}/v1/searches"))
                        .bearer_auth(KEY)
                        .json(&json!({ "query": query }))
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await;
                    let (status, id) = match sent {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let body: Value = response.json().await.unwrap_or(Value::Null);
                            (status, body["id"].as_str().map(str::to_string))
                        }
                        Err(_) => (0, None),
                    };
                    posted.lock().await.push(Posted {
                        window: at,
                        status,
                        id,
                    });
                });
            }
        }
    });

    let down = Duration::from_secs(args.down_secs);
    let steady = Duration::from_secs(args.steady_secs);
    let mut recoveries: BTreeMap<Window, Duration> = BTreeMap::new();
    tokio::time::sleep(steady).await;
    for fault in args.faults.iter().map(|f| f.window()) {
        *window.lock().expect("window") = fault;
        eprintln!("--- {}", fault.name());
        match fault {
            Window::WorkerKilled => {
                let pid = stack.lock().await.kill_worker()?;
                eprintln!("    killed worker {pid}");
                tokio::time::sleep(down).await;
                stack.lock().await.spawn_worker().await?;
            }
            Window::RabbitMqRestart | Window::RedisRestart | Window::PostgresRestart => {
                let d = deps.clone();
                blocking(move || {
                    let mut d = d.lock().expect("deps");
                    match fault {
                        Window::RabbitMqRestart => d.rabbitmq.stop(),
                        Window::RedisRestart => d.redis.stop(),
                        _ => d.postgres.stop(),
                    }
                })
                .await;
                tokio::time::sleep(down).await;
                let d = deps.clone();
                blocking(move || {
                    let mut d = d.lock().expect("deps");
                    match fault {
                        Window::RabbitMqRestart => d.rabbitmq.start_again(),
                        Window::RedisRestart => d.redis.restart(),
                        _ => d.postgres.start_again(),
                    }
                })
                .await;
            }
            Window::ProviderGarbage => {
                sim_fault(&client, &sim, json!({"fault": "malformed"})).await?;
                tokio::time::sleep(down).await;
                sim_fault(&client, &sim, json!({"fault": "none"})).await?;
            }
            Window::Steady => {}
        }
        // Back: how long until a fresh search is answered end to end.
        let back = Instant::now();
        loop {
            let probe = probes.next().context("out of probe queries")?;
            let answered = tokio::time::timeout(
                Duration::from_secs(10),
                search_until_final(&client, &api, &probe),
            )
            .await;
            if let Ok(Ok(view)) = answered {
                if view.status == SearchStatus::Succeeded {
                    break;
                }
            }
            anyhow::ensure!(
                back.elapsed() < Duration::from_secs(120),
                "{} never recovered",
                fault.name()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        recoveries.insert(fault, back.elapsed());
        eprintln!(
            "    answering again {:.1} s after",
            back.elapsed().as_secs_f64()
        );
        *window.lock().expect("window") = Window::Steady;
        tokio::time::sleep(steady).await;
    }
    load.abort();
    tokio::time::sleep(Duration::from_secs(31)).await; // POSTs in flight

    // Every accepted search, final or lost.
    let posted = posted.lock().await.clone();
    let mut rows: BTreeMap<Window, Row> = BTreeMap::new();
    for p in &posted {
        let row = rows.entry(p.window).or_default();
        match (p.status, &p.id) {
            (200 | 202, Some(id)) => {
                row.accepted += 1;
                match final_view(&client, &api, id).await {
                    Some(view) if view["status"] == "succeeded" => {
                        row.succeeded += 1;
                        let ids: Vec<&str> = view["results"]
                            .as_array()
                            .map(|r| r.iter().filter_map(|t| t["id"].as_str()).collect())
                            .unwrap_or_default();
                        let mut unique = ids.clone();
                        unique.sort_unstable();
                        unique.dedup();
                        if unique.len() != ids.len() {
                            row.duplicated += 1;
                        }
                    }
                    Some(view) if view["status"] == "failed" => {
                        let code = view["error"]["code"].as_str().unwrap_or("?").to_string();
                        *row.failed.entry(code).or_default() += 1;
                    }
                    _ => row.lost += 1,
                }
            }
            (503, _) => row.refused += 1,
            (status, _) => *row.other.entry(status).or_default() += 1,
        }
    }
    let stats: Value = client
        .get(format!("{sim}/_stats"))
        .send()
        .await?
        .json()
        .await?;
    let violations: Vec<(String, u64)> = stats["providers"]
        .as_object()
        .map(|p| {
            p.iter()
                .filter_map(|(name, v)| Some((name.clone(), v["violations"].as_u64()?)))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default();
    if !violations.is_empty() {
        eprintln!("sim stats: {}", stats["providers"]);
    }
    let url = deps.lock().expect("deps").postgres.url("muze");
    let pool = muze_shared::db::connect(&secrecy::SecretString::from(url), 1).await?;
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT isrc FROM tracks WHERE isrc IS NOT NULL
                               GROUP BY isrc HAVING count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;

    println!("| window | accepted | succeeded | failed (reason) | refused (503) | lost | duplicated results | answering again after |");
    println!("|---|---:|---:|---|---:|---:|---:|---:|");
    for (window, row) in &rows {
        let failed = if row.failed.is_empty() {
            "0".to_string()
        } else {
            row.failed
                .iter()
                .map(|(code, n)| format!("{n} `{code}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let other = if row.other.is_empty() {
            String::new()
        } else {
            format!(" (other: {:?})", row.other)
        };
        let recovery = recoveries
            .get(window)
            .map_or("—".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
        println!(
            "| {} | {} | {} | {} | {}{other} | {} | {} | {recovery} |",
            window.name(),
            row.accepted,
            row.succeeded,
            failed,
            row.refused,
            row.lost,
            row.duplicated
        );
    }
    println!();
    let total: u64 = violations.iter().map(|(_, n)| n).sum();
    println!(
        "limit violations at the sim: {total} {violations:?}; tracks stored twice (by ISRC): {twice}"
    );
    drop(stack);
    Ok(())
}

#[derive(Debug, Default)]
struct Row {
    accepted: u64,
    succeeded: u64,
    failed: BTreeMap<String, u64>,
    refused: u64,
    lost: u64,
    duplicated: u64,
    other: BTreeMap<u16, u64>,
}

async fn sim_fault(client: &reqwest::Client, sim: &str, body: Value) -> anyhow::Result<()> {
    client
        .post(format!("{sim}/_control/spotify"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// The search's state once final, long-polling up to two minutes; `None` if it never is.
async fn final_view(client: &reqwest::Client, api: &str, id: &str) -> Option<Value> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let view: Value = client
            .get(format!("{api}/v1/searches/{id}?wait=30"))
            .bearer_auth(KEY)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        if view["status"] == "succeeded" || view["status"] == "failed" {
            return Some(view);
        }
    }
    None
}
