//! POST → succeeded latency at a fixed request rate, and the cost of a fallback hop.
//!
//! Open loop: a search is sent every 1/rate seconds whatever happened to earlier ones, so a
//! slow system shows up as latency, not as a lower request rate. Each search is a distinct
//! song of the sim's catalog (no shared jobs), followed by long-polls that return when the
//! worker's NOTIFY arrives. Only searches answered upstream are timed: songs an earlier answer
//! already brought into the catalog are answered at once and counted apart. Overhead is latency
//! minus the sim's added latency.
//!
//! `fallback-hop` runs the same load twice in one invocation with providers `spotify,youtube`:
//! healthy, then with Spotify answering 503 to every call (its circuit breaker set never to
//! open, so every search really makes the hop), and prints the difference.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use muze_shared::domain::SearchStatus;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::stack::{search_until_final, song_queries, Stack, SIM_URL};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Searches per second.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// How long to send for.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Latency the sim adds to each provider call, in ms.
    #[arg(long, default_value_t = 50)]
    sim_latency_ms: u64,
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

/// Latency quantiles of one run, in ms.
#[derive(Debug)]
struct Summary {
    p50: f64,
    p99: f64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    measure(&args, "spotify", None).await?;
    Ok(())
}

pub async fn fallback_hop(args: Args) -> anyhow::Result<()> {
    let healthy = measure(&args, "spotify,youtube", None).await?;
    let hop = measure(&args, "spotify,youtube", Some("spotify")).await?;
    println!(
        "fallback hop (first provider answering 503): adds p50 {:.1} ms, p99 {:.1} ms",
        hop.p50 - healthy.p50,
        hop.p99 - healthy.p99
    );
    Ok(())
}

async fn measure(args: &Args, providers: &str, down: Option<&str>) -> anyhow::Result<Summary> {
    let youtube_url = format!("{SIM_URL}/youtube/youtube/v3");
    let mut env = vec![
        ("MUZE__SEARCH__PROVIDERS", providers),
        ("MUZE__PROVIDERS__YOUTUBE__BASE_URL", youtube_url.as_str()),
        ("MUZE__PROVIDERS__YOUTUBE__API_KEY", "muze-sim-key"),
        ("MUZE__PROVIDERS__YOUTUBE__RATE_LIMIT", "1000000/1s"),
        ("MUZE__PROVIDERS__YOUTUBE__DAILY_QUOTA", "100000000"),
    ];
    if down.is_some() {
        // Measure the hop itself: with the breaker open no call would be made at all.
        env.push(("MUZE__PROVIDERS__SPOTIFY__BREAKER_FAILURES", "1000000000"));
    }
    let stack = Stack::start(args.workers, args.sim_latency_ms, &env).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    if let Some(provider) = down {
        client
            .post(format!("{}/_control/{provider}", stack.sim_url))
            .json(&json!({"fault": "outage"}))
            .send()
            .await?
            .error_for_status()?;
    }
    let queries = song_queries();
    let total = ((args.rate * args.seconds as f64) as usize).min(queries.len());
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        120_000_000,
        3,
    )?));
    let failures = Arc::new(Mutex::new(0usize));
    let from_catalog = Arc::new(Mutex::new(0usize));
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    println!(
        "latency: {total} searches at {} /s, sim latency {} ms, {} workers, providers {providers}{} (namespace {})",
        args.rate,
        args.sim_latency_ms,
        args.workers,
        down.map(|p| format!(", {p} down")).unwrap_or_default(),
        stack.namespace
    );
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for (i, query) in queries.into_iter().take(total).enumerate() {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let api = stack.api_url.clone();
        let histogram = histogram.clone();
        let failures = failures.clone();
        let from_catalog = from_catalog.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            match search_until_done(&client, &api, &query).await {
                Ok(Answer::Upstream) => {
                    let us = sent.elapsed().as_micros() as u64;
                    let _ = histogram.lock().await.record(us.max(1));
                }
                // Songs that earlier answers already brought into the catalog: not timed.
                Ok(Answer::Catalog) => *from_catalog.lock().await += 1,
                Err(e) => {
                    eprintln!("search {query:?}: {e}");
                    *failures.lock().await += 1;
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    let h = histogram.lock().await;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let sim = args.sim_latency_ms as f64;
    println!(
        "  sent {total} in {:.1} s; answered upstream {} (timed), from the catalog {}, failed {}",
        elapsed.as_secs_f64(),
        h.len(),
        *from_catalog.lock().await,
        *failures.lock().await
    );
    println!(
        "  POST→succeeded ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
    println!(
        "  overhead (minus {sim} ms upstream) ms: p50 {:.1}  p99 {:.1}",
        ms(0.5) - sim,
        ms(0.99) - sim
    );
    let stats: Value = client
        .get(format!("{}/_stats", stack.sim_url))
        .send()
        .await?
        .json()
        .await?;
    let calls = |p: &str| {
        stats["providers"][p]["endpoints"]["/v1/search"]
            .as_u64()
            .unwrap_or(0)
            + stats["providers"][p]["endpoints"]["/youtube/v3/search"]
                .as_u64()
                .unwrap_or(0)
    };
    println!(
        "  upstream: spotify {} calls, youtube {} calls; {} limit violations",
        calls("spotify"),
        calls("youtube"),
        stats["total_violations"]
    );
    Ok(Summary {
        p50: ms(0.5),
        p99: ms(0.99),
    })
}

/// Where a search's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Upstream,
    Catalog,
}

async fn search_until_done(
    client: &reqwest::Client,
    api: &str,
    query: &str,
) -> anyhow::Result<Answer> {
    let view = search_until_final(client, api, query).await?;
    anyhow::ensure!(
        view.status == SearchStatus::Succeeded,
        "ended {:?}",
        view.status
    );
    Ok(if view.source.as_deref() == Some("catalog") {
        Answer::Catalog
    } else {
        Answer::Upstream
    })
}
