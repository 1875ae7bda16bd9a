//! POST → succeeded latency at a fixed request rate.
//!
//! Open loop: a search is sent every 1/rate seconds whatever happened to earlier ones, so a
//! slow system shows up as latency, not as a lower request rate. Each search is a distinct
//! song of the sim's catalog (no shared jobs), followed by one long-poll that returns when the
//! worker's NOTIFY arrives. Overhead is latency minus the sim's added latency.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::stack::{Stack, KEY};

#[derive(Debug, clap::Args)]
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

pub async fn run(args: Args) -> anyhow::Result<()> {
    let stack = Stack::start(args.workers, args.sim_latency_ms, &[]).await?;
    let catalog = muze_sim::catalog::Catalog::generate(42, 3000);
    let mut seen = HashSet::new();
    let queries: Vec<String> = catalog
        .songs()
        .iter()
        .map(|s| format!("{} {}", s.title, s.artists[0]))
        .filter(|q| seen.insert(q.to_lowercase()))
        .collect();
    let total = ((args.rate * args.seconds as f64) as usize).min(queries.len());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        120_000_000,
        3,
    )?));
    let failures = Arc::new(Mutex::new(0usize));
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    println!(
        "latency: {total} searches at {} /s, sim latency {} ms, {} workers (namespace {})",
        args.rate, args.sim_latency_ms, args.workers, stack.namespace
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
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            match search_until_done(&client, &api, &query).await {
                Ok(()) => {
                    let us = sent.elapsed().as_micros() as u64;
                    let _ = histogram.lock().await.record(us.max(1));
                }
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
        "sent {total} in {:.1} s; succeeded {}, failed {}",
        elapsed.as_secs_f64(),
        h.len(),
        *failures.lock().await
    );
    println!(
        "POST→succeeded ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
    println!(
        "overhead (minus {sim} ms upstream) ms: p50 {:.1}  p99 {:.1}",
        ms(0.5) - sim,
        ms(0.99) - sim
    );
    let stats: Value = client
        .get(format!("{}/_stats", stack.sim_url))
        .send()
        .await?
        .json()
        .await?;
    println!(
        "upstream: {} Spotify searches, {} limit violations",
        stats["providers"]["spotify"]["endpoints"]["/v1/search"], stats["total_violations"]
    );
    Ok(())
}

async fn search_until_done(client: &reqwest::Client, api: &str, query: &str) -> anyhow::Result<()> {
    let created: Value = client
        .post(format!("{api}/v1/searches"))
        .bearer_auth(KEY)
        .json(&json!({ "query": query }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let mut status = created["status"].as_str().unwrap_or_default().to_string();
    while status == "queued" || status == "running" {
        let search: Value = client
            .get(format!("{api}/v1/searches/{id}?wait=30"))
            .bearer_auth(KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        status = search["status"].as_str().unwrap_or_default().to_string();
    }
    anyhow::ensure!(status == "succeeded", "ended {status}");
    Ok(())
}
