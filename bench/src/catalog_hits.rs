//! Catalog-hit throughput of `POST /v1/searches`, side by side with `pgbench -S` on the same
//! machine and the same Postgres, in one run.
//!
//! A stack (1 worker, sim latency 0, per-key request limit out of the way, API pool sized for
//! the load) is warmed with `queries` distinct song searches, each waited for until it
//! succeeded. Then `concurrency` clients, each one HTTP/1.1 keep-alive connection (reqwest),
//! repeat `POST /v1/searches` for those same queries in a closed loop for `seconds`: every
//! answer must be a 200 with `"source":"catalog"` (the stored answer to the same normalized
//! search: one indexed `SELECT` of the search and one of its tracks); anything else is
//! counted. Requests/s counts completed requests (body read) in the timed window, which starts
//! once every client has its connection open; latency is per request, body included.
//!
//! Then the stack is stopped and `pgbench -i -s 10` fills a scratch database that
//! `pgbench -S -c <concurrency> -j 2 -T <seconds>` reads (one primary-key `SELECT` per
//! transaction, over TCP like the API). Both rates and their ratio are printed; the scratch
//! database is dropped at the end. The load generators run on the same 2 cores as the server
//! in both cases.

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use hdrhistogram::Histogram;
use muze_shared::domain::SearchStatus;
use serde_json::json;
use tokio::{sync::Barrier, task::JoinSet};

use crate::stack::{search_until_final, song_queries, Stack, KEY};

const PG_ARGS: [&str; 6] = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Distinct song searches warmed, then repeated.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Concurrent keep-alive clients (and pgbench `-c`).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Length of each measured run, in seconds (and pgbench `-T`).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The API's Postgres pool (`MUZE__DATABASE__MAX_CONNECTIONS`); default concurrency + 4.
    #[arg(long)]
    db_pool: Option<u32>,
}

/// What one client saw.
#[derive(Debug)]
struct ClientResult {
    histogram: Histogram<u64>,
    ok: u64,
    non_200: u64,
    not_catalog: u64,
    errors: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.queries > 0 && args.concurrency > 0 && args.seconds > 0,
        "--queries, --concurrency and --seconds must be at least 1"
    );
    let pool = args.db_pool.unwrap_or(args.concurrency as u32 + 4);
    let reproduce = format!(
        "cargo build --release --bins && target/release/muze-bench catalog-hits --queries {} --concurrency {} --seconds {} --db-pool {pool}",
        args.queries, args.concurrency, args.seconds
    );
    let queries: Vec<String> = song_queries().into_iter().take(args.queries).collect();
    anyhow::ensure!(
        queries.len() == args.queries,
        "the sim's catalog has only {} distinct songs",
        queries.len()
    );

    let pool_env = pool.to_string();
    let stack = Stack::start(1, 0, &[("MUZE__DATABASE__MAX_CONNECTIONS", &pool_env)]).await?;
    println!(
        "catalog-hits: {} queries, {} keep-alive clients, {} s; API pool {pool} (namespace {})",
        args.queries, args.concurrency, args.seconds, stack.namespace
    );
    println!("reproduce: {reproduce}");

    let warm_started = Instant::now();
    warm(&stack.api_url, &queries).await?;
    println!(
        "warmed {} searches in {:.1} s",
        queries.len(),
        warm_started.elapsed().as_secs_f64()
    );

    let (rps, ours, non_ok) = drive(&stack.api_url, &queries, &args).await?;
    drop(stack);

    let db = format!("pgbench_{}", uuid::Uuid::new_v4().simple());
    let scratch = ScratchDb::create(&db)?;
    let pg = pgbench(&db, &args);
    drop(scratch);
    let (tps, pg_latency) = pg?;

    println!(
        "POST /v1/searches (catalog hits): {rps:.0} req/s   latency ms p50 {:.2}  p99 {:.2}  max {:.2}",
        ours.value_at_quantile(0.5) as f64 / 1000.0,
        ours.value_at_quantile(0.99) as f64 / 1000.0,
        ours.max() as f64 / 1000.0
    );
    println!(
        "pgbench -S:                       {tps:.0} tps     latency ms average {}",
        pg_latency.map_or("?".into(), |l| format!("{l:.2}"))
    );
    println!(
        "ratio ours / pgbench: {:.1} % (target ≥ 50 %)",
        100.0 * rps / tps
    );
    anyhow::ensure!(
        non_ok == 0,
        "{non_ok} requests were not a 200 catalog answer"
    );
    Ok(())
}

/// Searches each query once and waits until it succeeded (so its answer is stored).
async fn warm(api: &str, queries: &[String]) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for chunk in queries.chunks(8) {
        let mut set = JoinSet::new();
        for query in chunk {
            let client = client.clone();
            let api = api.to_string();
            let query = query.clone();
            set.spawn(async move {
                search_until_done(&client, &api, &query)
                    .await
                    .with_context(|| format!("warming {query:?}"))
            });
        }
        while let Some(done) = set.join_next().await {
            done??;
        }
    }
    Ok(())
}

async fn search_until_done(client: &reqwest::Client, api: &str, query: &str) -> anyhow::Result<()> {
    let view = search_until_final(client, api, query).await?;
    anyhow::ensure!(
        view.status == SearchStatus::Succeeded,
        "ended {:?}",
        view.status
    );
    Ok(())
}

/// The closed-loop load: requests/s, the merged latency histogram (µs), and how many
/// requests were not a 200 catalog answer.
async fn drive(
    api: &str,
    queries: &[String],
    args: &Args,
) -> anyhow::Result<(f64, Histogram<u64>, u64)> {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        queries
            .iter()
            .map(|q| serde_json::to_vec(&json!({ "query": q })))
            .collect::<Result<_, _>>()?,
    );
    let url = format!("{api}/v1/searches");
    let barrier = Arc::new(Barrier::new(args.concurrency + 1));
    let window = Duration::from_secs(args.seconds);
    let mut set = JoinSet::new();
    for c in 0..args.concurrency {
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .build()?;
        let bodies = bodies.clone();
        let url = url.clone();
        let barrier = barrier.clone();
        let mut next = c * bodies.len() / args.concurrency;
        let histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        set.spawn(async move {
            let mut result = ClientResult {
                histogram,
                ok: 0,
                non_200: 0,
                not_catalog: 0,
                errors: 0,
            };
            // Opens the connection before the timed window.
            let _ = post(&client, &url, bodies[next].clone()).await;
            barrier.wait().await;
            let end = Instant::now() + window;
            while Instant::now() < end {
                next = (next + 1) % bodies.len();
                let sent = Instant::now();
                let outcome = post(&client, &url, bodies[next].clone()).await;
                let us = sent.elapsed().as_micros() as u64;
                match outcome {
                    Ok((200, true)) => {
                        result.ok += 1;
                        result.histogram.saturating_record(us.max(1));
                    }
                    Ok((200, false)) => result.not_catalog += 1,
                    Ok(_) => result.non_200 += 1,
                    Err(_) => result.errors += 1,
                }
            }
            result
        });
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut merged = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut non_200, mut not_catalog, mut errors) = (0, 0, 0, 0);
    while let Some(done) = set.join_next().await {
        let r = done?;
        merged.add(&r.histogram)?;
        ok += r.ok;
        non_200 += r.non_200;
        not_catalog += r.not_catalog;
        errors += r.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = ok + non_200 + not_catalog + errors;
    println!(
        "sent {total} in {elapsed:.1} s: 200 from catalog {ok}, non-200 {non_200}, 200 not from catalog {not_catalog}, transport errors {errors}"
    );
    Ok((
        total as f64 / elapsed,
        merged,
        non_200 + not_catalog + errors,
    ))
}

/// One POST: its status and whether the body says `"source":"catalog"`.
async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> anyhow::Result<(u16, bool)> {
    let response = client
        .post(url)
        .bearer_auth(KEY)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    let needle = br#""source":"catalog""#;
    let catalog = bytes.windows(needle.len()).any(|w| w == needle);
    Ok((status, catalog))
}

/// A scratch database, dropped (with any leftover connections) when this is dropped.
#[derive(Debug)]
struct ScratchDb(String);

impl ScratchDb {
    fn create(name: &str) -> anyhow::Result<ScratchDb> {
        let status = Command::new("createdb")
            .args(PG_ARGS)
            .arg(name)
            .status()
            .context("running createdb")?;
        anyhow::ensure!(status.success(), "createdb {name} failed");
        Ok(ScratchDb(name.to_string()))
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let dropped = Command::new("dropdb")
            .args(PG_ARGS)
            .args(["--force", "--if-exists", &self.0])
            .status();
        if !dropped.is_ok_and(|s| s.success()) {
            eprintln!("could not drop the scratch database {}", self.0);
        }
    }
}

/// `pgbench -i -s 10`, then `pgbench -S`: its tps and average latency (ms).
fn pgbench(db: &str, args: &Args) -> anyhow::Result<(f64, Option<f64>)> {
    let init = [PG_ARGS.as_slice(), &["-i", "-s", "10", "-q", db]].concat();
    println!("$ pgbench {}", init.join(" "));
    let out = Command::new("pgbench")
        .args(&init)
        .output()
        .context("running pgbench -i")?;
    anyhow::ensure!(
        out.status.success(),
        "pgbench -i failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (c, t) = (args.concurrency.to_string(), args.seconds.to_string());
    let select = [
        PG_ARGS.as_slice(),
        &["-S", "-c", &c, "-j", "2", "-T", &t, db],
    ]
    .concat();
    println!("$ pgbench {}", select.join(" "));
    let out = Command::new("pgbench")
        .args(&select)
        .output()
        .context("running pgbench -S")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench -S failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let number_after = |prefix: &str| {
        stdout.lines().find_map(|l| {
            l.trim()
                .strip_prefix(prefix)?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
    };
    let tps = number_after("tps = ").with_context(|| format!("no tps line in: {stdout}"))?;
    Ok((tps, number_after("latency average = ")))
}
