//! The fleet-wide limiter under load: utilization and violations for 1, 2, 4 and 8 worker
//! processes, with calls arriving on time and late, under response-time accounting (a slot
//! leaves the window one window after the call's response) beside the old grant-time + margin
//! accounting, in one run; and the latency of one acquire.
//!
//! Each scenario runs a fresh stack against `muze-sim` enforcing a strict rolling window of
//! `calls` per `window_secs` for Spotify (the only provider), sends distinct searches at
//! three times the budget, and reads the sim's counters after `windows` whole windows from
//! the first search: admitted calls (utilization = admitted ÷ calls × windows) and limit
//! violations. "Late" delays every call's arrival at the sim by 0-200 ms, and one call in ten
//! by a further 0.75-1.5 s (a slow TLS handshake, a retransmit).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use muze_shared::{
    domain::ProviderName,
    rate_limit::{Decision, Outcome, Priority, RateLimiter},
    redis_conn::Redis,
    Settings,
};
use serde_json::{json, Value};

use crate::stack::{song_queries, Stack, KEY};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Calls the sim admits per window.
    #[arg(long, default_value_t = 40)]
    calls: u32,
    /// Window length in seconds.
    #[arg(long, default_value_t = 5)]
    window_secs: u64,
    /// Whole windows measured.
    #[arg(long, default_value_t = 3)]
    windows: u64,
    /// Acquires timed for the latency figure.
    #[arg(long, default_value_t = 20_000)]
    acquires: u64,
    /// Worker process counts to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    workers: Vec<usize>,
    /// Accountings to compare, comma-separated (`response`, `grant`).
    #[arg(long, value_delimiter = ',', default_value = "response,grant")]
    accounting: Vec<String>,
    /// The margin the grant-time accounting adds to the window, in ms (its old default).
    #[arg(long, default_value_t = 250)]
    grant_margin_ms: u64,
}

/// Arrival delays: every call 0-200 ms late, one in ten 0.75-1.5 s more.
const LATE: &[&str] = &[
    "--arrival-jitter-ms",
    "200",
    "--arrival-slow-percent",
    "10",
    "--arrival-slow-ms",
    "750-1500",
];

pub async fn run(args: Args) -> anyhow::Result<()> {
    let queries = song_queries();
    println!(
        "limiter: sim window {}/{}s, demand 3x budget, {} windows measured",
        args.calls, args.window_secs, args.windows
    );
    println!("accounting  arrival  workers  admitted  allowed  utilization  violations");
    for accounting in &args.accounting {
        for late in [false, true] {
            for &workers in &args.workers {
                let (admitted, violations) =
                    scenario(&args, accounting, late, workers, &queries).await?;
                let allowed = u64::from(args.calls) * args.windows;
                println!(
                    "{accounting:<10}  {:<7}  {workers:>7}  {admitted:>8}  {allowed:>7}  {:>10.1} %  {violations:>10}",
                    if late { "late" } else { "on time" },
                    100.0 * admitted as f64 / allowed as f64
                );
            }
        }
    }
    acquire_latency(args.acquires).await
}

async fn scenario(
    args: &Args,
    accounting: &str,
    late: bool,
    workers: usize,
    queries: &[String],
) -> anyhow::Result<(u64, u64)> {
    let limit = format!("{}/{}s", args.calls, args.window_secs);
    let margin = if accounting == "grant" {
        args.grant_margin_ms.to_string()
    } else {
        "0".to_string()
    };
    let mut sim_args = vec!["--spotify-limit", limit.as_str()];
    if late {
        sim_args.extend_from_slice(LATE);
    }
    let stack = Stack::start_with_sim_args(
        workers,
        0,
        &[
            ("MUZE__LIMITER__ACCOUNTING", accounting),
            ("MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS", &margin),
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", &limit),
            ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE", "false"),
            ("MUZE__SEARCH__DEADLINE_SECS", "30"),
        ],
        &sim_args,
    )
    .await?;
    let client = reqwest::Client::new();
    let rate = 3.0 * f64::from(args.calls) / args.window_secs as f64;
    let span = Duration::from_secs(args.window_secs * args.windows);
    let start = Instant::now();
    let mut sent = 0usize;
    while start.elapsed() < span + Duration::from_secs(1) {
        let due = start + Duration::from_secs_f64(sent as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let query = &queries[sent % queries.len()];
        let client = client.clone();
        let api = stack.api_url.clone();
        let query = query.clone();
        tokio::spawn(async move {
            let _ = client
                .post(format!("{api}/v1/searches"))
                .bearer_auth(KEY)
                .json(&json!({ "query": query }))
                .send()
                .await;
        });
        sent += 1;
        if start.elapsed() >= span {
            break;
        }
    }
    tokio::time::sleep_until((start + span).into()).await;
    let stats: Value = client
        .get(format!("{}/_stats", stack.sim_url))
        .send()
        .await?
        .json()
        .await?;
    let spotify = &stats["providers"]["spotify"];
    let calls = spotify["endpoints"]["/v1/search"].as_u64().unwrap_or(0);
    let violations = spotify["violations"].as_u64().unwrap_or(0);
    drop(stack);
    Ok((calls - violations, violations))
}

async fn acquire_latency(n: u64) -> anyhow::Result<()> {
    let namespace = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let database = format!("muze_{namespace}");
    let settings = Settings::load_from(
        None,
        [
            ("MUZE__NAMESPACE".to_string(), namespace.clone()),
            (
                "MUZE__DATABASE__URL".into(),
                format!("postgres://postgres@127.0.0.1:5432/{database}"),
            ),
            (
                "MUZE__PROVIDERS__SPOTIFY__BUDGET_KEY".into(),
                namespace.clone(),
            ),
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                "100000000/30s".into(),
            ),
        ],
    )?;
    let pool = muze_shared::db::connect(&settings.database.url, 2).await?;
    let limiter = Arc::new(RateLimiter::new(
        &settings,
        Redis::connect(&settings.redis.url).await?,
        pool.clone(),
    ));
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)?;
    for _ in 0..n {
        let started = Instant::now();
        let decision = limiter
            .acquire(ProviderName::Spotify, Priority::Interactive)
            .await?;
        histogram.record(started.elapsed().as_micros().max(1) as u64)?;
        let Decision::Granted(grant) = decision else {
            anyhow::bail!("unexpected wait");
        };
        limiter.report(&grant, Outcome::Ok).await?;
    }
    limiter.forget(ProviderName::Spotify).await?;
    pool.close().await;
    let _ = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-q", "-c"])
        .arg(format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        ))
        .status();
    println!(
        "acquire + report latency over {n} sequential calls (one process, loopback Redis): p50 {} µs  p99 {} µs",
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.99)
    );
    Ok(())
}
