//! How long a new-release crawl takes at a given budget, against the theoretical minimum.
//!
//! The sim gets `albums` new albums of `tracks` songs each. A crawl over Spotify alone needs
//! `ceil(albums / 10)` `tag:new` search pages, `albums × ceil(tracks / 50)` album-track pages
//! and one `/tracks/{id}` call per song. Crawl pages may only spend the background share of the
//! budget, `calls × (1 - reserve)` per window, so the fastest a crawl can possibly be is
//! `calls needed ÷ background rate` (the first window's burst aside). The limiter's exact bound
//! counts that burst and the safety margin: `background` calls at once, then `background` more
//! every `window + margin`, i.e. `floor((calls - 1) / background) × (window + margin)`. The
//! crawl is started with
//! `POST /v1/admin/crawls` and timed until `GET /v1/admin/crawls/{id}` says it ended; the sim
//! enforces the same limit and reports any violation.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::stack::Stack;

/// The limiter's default safety margin (`MUZE__PROVIDERS__<P>__SAFETY_MARGIN_MS`).
const SAFETY_MARGIN: Duration = Duration::from_millis(250);

/// The admin key the bench's API accepts.
const ADMIN_KEY: &str = "bench-admin-key";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// New albums to crawl; several values run one crawl each on a fresh stack.
    #[arg(long, value_delimiter = ',', default_value = "10,30")]
    albums: Vec<u32>,
    /// Songs per album.
    #[arg(long, default_value_t = 10)]
    tracks: u32,
    /// Spotify's limit: calls per window (ours and the sim's).
    #[arg(long, default_value_t = 60)]
    calls: u32,
    /// Spotify's window in seconds.
    #[arg(long, default_value_t = 10)]
    window_secs: u32,
    /// Share of the budget reserved for interactive searches.
    #[arg(long, default_value_t = 20)]
    reserve_percent: u32,
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Latency the sim adds to each call.
    #[arg(long, default_value_t = 20)]
    sim_latency_ms: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let reserve = args.calls * args.reserve_percent / 100;
    let background = args.calls - reserve;
    let rate = f64::from(background) / f64::from(args.window_secs);
    println!(
        "spotify {}/{}s, {}% reserved → background {background}/{}s = {rate:.2} calls/s; \
         {} songs per album; {} workers; sim latency {} ms",
        args.calls,
        args.window_secs,
        args.reserve_percent,
        args.window_secs,
        args.tracks,
        args.workers,
        args.sim_latency_ms
    );
    println!(
        "| albums | songs | calls needed | calls made | crawl (s) | calls ÷ rate (s) | crawl ÷ that | exact bound (s) | crawl ÷ bound | tracks added | violations |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &albums in &args.albums {
        let figures = crawl_once(&args, albums).await?;
        let needed = albums.div_ceil(10) + albums * args.tracks.div_ceil(50) + albums * args.tracks;
        let minimum = f64::from(needed) / rate;
        let bound = f64::from((needed - 1) / background)
            * (f64::from(args.window_secs) + SAFETY_MARGIN.as_secs_f64());
        let secs = figures.elapsed.as_secs_f64();
        println!(
            "| {albums} | {} | {needed} | {} | {secs:.1} | {minimum:.1} | {:.2} | {bound:.1} | {:.2} | {} | {} |",
            albums * args.tracks,
            figures.calls,
            secs / minimum,
            secs / bound,
            figures.tracks_added,
            figures.violations
        );
    }
    Ok(())
}

struct Figures {
    elapsed: Duration,
    calls: u64,
    tracks_added: u64,
    violations: u64,
}

async fn crawl_once(args: &Args, albums: u32) -> anyhow::Result<Figures> {
    let limit = format!("{}/{}s", args.calls, args.window_secs);
    let reserve = args.reserve_percent.to_string();
    let stack = Stack::start_with_sim_args(
        args.workers,
        args.sim_latency_ms,
        &[
            ("MUZE__API__ADMIN_KEYS", ADMIN_KEY),
            ("MUZE__CRAWL__SOURCES", "spotify"),
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", &limit),
            ("MUZE__PROVIDERS__SPOTIFY__RESERVE_PERCENT", &reserve),
            ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE", "false"),
        ],
        &["--spotify-limit", &limit],
    )
    .await?;
    let http = reqwest::Client::new();
    http.post(format!("{}/_control/releases", stack.sim_url))
        .json(&json!({"albums": albums, "tracks_per_album": args.tracks}))
        .send()
        .await?
        .error_for_status()
        .context("adding releases to the sim")?;
    let before = spotify_calls(&http, &stack).await?;
    let started = Instant::now();
    let crawl: Value = http
        .post(format!("{}/v1/admin/crawls", stack.api_url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await?
        .error_for_status()
        .context("POST /v1/admin/crawls")?
        .json()
        .await?;
    let id = crawl["id"].as_str().context("crawl id")?.to_string();
    let view = loop {
        let view: Value = http
            .get(format!("{}/v1/admin/crawls/{id}", stack.api_url))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if view["status"] != "running" {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed();
    anyhow::ensure!(view["status"] == "succeeded", "crawl ended as {view}");
    let stats = sim_stats(&http, &stack).await?;
    Ok(Figures {
        elapsed,
        calls: spotify_calls_in(&stats) - before,
        tracks_added: view["tracks_added"].as_u64().unwrap_or(0),
        violations: stats["total_violations"].as_u64().unwrap_or(0),
    })
}

async fn sim_stats(http: &reqwest::Client, stack: &Stack) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{}/_stats", stack.sim_url))
        .send()
        .await?
        .json()
        .await?)
}

async fn spotify_calls(http: &reqwest::Client, stack: &Stack) -> anyhow::Result<u64> {
    Ok(spotify_calls_in(&sim_stats(http, stack).await?))
}

/// Spotify API calls counted by the sim (token requests are not API calls).
fn spotify_calls_in(stats: &Value) -> u64 {
    ["/v1/search", "/v1/albums/{id}/tracks", "/v1/tracks/{id}"]
        .iter()
        .map(|e| {
            stats["providers"]["spotify"]["endpoints"][e]
                .as_u64()
                .unwrap_or(0)
        })
        .sum()
}
