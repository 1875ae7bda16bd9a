//! Independence from providers over time: how many searches each upstream call answers as
//! the catalog fills, against what an exact-query cache would reach on the same stream.
//!
//! A seeded (reproducible) stream over the sim's songs (`Catalog::generate(42, 3000)`): each
//! search picks a song by Zipf rank (s = 1.0; rank = the sim's popularity, then id) and one of
//! its phrasings at random: "title artist", "artist title", "artist - title", lower case,
//! upper case, extra spaces, "title (artist)", and "alias artist" when the song has a title
//! alias. The stream is cut into simulated days of `per_day` searches and sent one search at a
//! time (POST, then long-poll until final) to a fresh stack with providers
//! "spotify,youtube,shazam". The sim's limits are its defaults × `limit_scale` and ours our
//! defaults × `limit_scale`, so the run is never throttled yet the sim still checks every
//! call against a limit. Days are simulated: the cache TTL (a real day) never expires.
//!
//! Per day: searches; upstream calls (deltas of the sim's `/_stats`, the search endpoints of
//! all providers summed); answered searches per upstream call; the same figure for an ideal
//! exact-query cache (offline: one upstream call for each normalized query,
//! `normalize_text`, never seen before, on any earlier day or earlier that day); the share
//! answered from our catalog; the share whose answer contains the intended song (by ISRC when
//! a result has one, else by normalized title variant + primary artist); failed searches; and
//! the sim's limit violations (must be 0).

use std::collections::HashSet;

use muze_shared::domain::{normalize_text, song_identity};
use muze_sim::catalog::Song;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::Value;

use crate::stack::{search_until_final, Stack, SIM_URL};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Simulated days.
    #[arg(long, default_value_t = 5)]
    days: usize,
    /// Searches per simulated day.
    #[arg(long, default_value_t = 400)]
    per_day: usize,
    /// Seed of the stream.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Zipf exponent.
    #[arg(long, default_value_t = 1.0)]
    zipf_s: f64,
    /// Both the sim's and our provider limits are their defaults times this.
    #[arg(long, default_value_t = 10)]
    limit_scale: u32,
    /// Worker processes.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

/// One day's figures.
#[derive(Debug, Default, Clone, Copy)]
struct Day {
    searches: u64,
    answered: u64,
    from_catalog: u64,
    intended: u64,
    failed: u64,
    upstream: u64,
    exact_misses: u64,
    violations: u64,
}

impl Day {
    fn add(&mut self, d: &Day) {
        self.searches += d.searches;
        self.answered += d.answered;
        self.from_catalog += d.from_catalog;
        self.intended += d.intended;
        self.failed += d.failed;
        self.upstream += d.upstream;
        self.exact_misses += d.exact_misses;
        self.violations += d.violations;
    }

    fn row(&self, label: &str) -> String {
        let per = |n: u64, d: u64| {
            if d == 0 {
                "inf".to_string()
            } else {
                format!("{:.2}", n as f64 / d as f64)
            }
        };
        let pct = |n: u64| 100.0 * n as f64 / self.searches.max(1) as f64;
        format!(
            "{label:>5} {:>8} {:>8} {:>9} {:>11} {:>9.1} % {:>8.1} % {:>6} {:>10}",
            self.searches,
            self.upstream,
            per(self.answered, self.upstream),
            per(self.searches, self.exact_misses),
            pct(self.from_catalog),
            pct(self.intended),
            self.failed,
            self.violations
        )
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.days > 0 && args.per_day > 0 && args.limit_scale > 0,
        "--days, --per-day and --limit-scale must be at least 1"
    );
    let catalog = muze_sim::catalog::Catalog::generate(42, 3000);
    let mut ranked: Vec<&Song> = catalog.songs().iter().collect();
    ranked.sort_by(|a, b| b.popularity.cmp(&a.popularity).then(a.id.cmp(&b.id)));
    let stream = stream(&ranked, &args);

    let x = args.limit_scale;
    let (sim_spotify, sim_youtube, sim_shazam) = (
        format!("{}/30s", 300 * x),
        (100 * x).to_string(),
        format!("{}/1m", 60 * x),
    );
    let (our_spotify, our_youtube, our_quota, our_shazam) = (
        format!("{}/30s", 250 * x),
        format!("{}/1d", 100 * x),
        (100 * x).to_string(),
        format!("{}/1m", 60 * x),
    );
    let youtube_url = format!("{SIM_URL}/youtube/youtube/v3");
    let shazam_url = format!("{SIM_URL}/shazam");
    let stack = Stack::start_with_sim_args(
        args.workers,
        0,
        &[
            ("MUZE__SEARCH__PROVIDERS", "spotify,youtube,shazam"),
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", &our_spotify),
            ("MUZE__PROVIDERS__YOUTUBE__BASE_URL", &youtube_url),
            ("MUZE__PROVIDERS__YOUTUBE__API_KEY", "bench-youtube-key"),
            ("MUZE__PROVIDERS__YOUTUBE__RATE_LIMIT", &our_youtube),
            ("MUZE__PROVIDERS__YOUTUBE__DAILY_QUOTA", &our_quota),
            ("MUZE__PROVIDERS__SHAZAM__BASE_URL", &shazam_url),
            ("MUZE__PROVIDERS__SHAZAM__API_KEY", "bench-shazam-key"),
            ("MUZE__PROVIDERS__SHAZAM__RATE_LIMIT", &our_shazam),
        ],
        &[
            "--spotify-limit",
            &sim_spotify,
            "--youtube-daily-quota",
            &sim_youtube,
            "--shazam-limit",
            &sim_shazam,
        ],
    )
    .await?;
    println!(
        "independence: {} days × {} searches, Zipf s={} over {} songs, seed {}, {} worker(s), namespace {}",
        args.days,
        args.per_day,
        args.zipf_s,
        ranked.len(),
        args.seed,
        args.workers,
        stack.namespace
    );
    println!(
        "limits: sim spotify {sim_spotify}, youtube {sim_youtube}/day, shazam {sim_shazam}; ours spotify {our_spotify}, youtube {our_youtube} (quota {our_quota}), shazam {our_shazam}"
    );
    println!(
        "reproduce: target/release/muze-bench independence --days {} --per-day {} --seed {} --zipf-s {} --limit-scale {} --workers {}",
        args.days, args.per_day, args.seed, args.zipf_s, args.limit_scale, args.workers
    );
    println!(
        "  day searches upstream  per call  exact-cache   catalog   intended failed violations"
    );

    let client = reqwest::Client::new();
    let mut seen_normalized: HashSet<String> = HashSet::new();
    let mut before = sim_counts(&client, &stack.sim_url).await?;
    let mut total = Day::default();
    for (n, day_stream) in stream.iter().enumerate() {
        let mut day = Day::default();
        for (song, query) in day_stream {
            day.searches += 1;
            if seen_normalized.insert(normalize_text(query)) {
                day.exact_misses += 1;
            }
            match search_until_final(&client, &stack.api_url, query).await {
                Ok(view) if view.status == muze_shared::domain::SearchStatus::Succeeded => {
                    day.answered += 1;
                    if view.source.as_deref() == Some("catalog") {
                        day.from_catalog += 1;
                    }
                    if view.results.iter().any(|t| is_song(t, song)) {
                        day.intended += 1;
                    }
                }
                Ok(view) => {
                    eprintln!("search {query:?} ended {:?}: {:?}", view.status, view.error);
                    day.failed += 1;
                }
                Err(e) => {
                    eprintln!("search {query:?}: {e:#}");
                    day.failed += 1;
                }
            }
        }
        let after = sim_counts(&client, &stack.sim_url).await?;
        day.upstream = after.searches - before.searches;
        day.violations = after.violations - before.violations;
        before = after;
        println!("{}", day.row(&(n + 1).to_string()));
        total.add(&day);
    }
    println!("{}", total.row("all"));
    println!(
        "upstream search calls by provider: {}",
        before
            .by_provider
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    anyhow::ensure!(
        total.violations == 0,
        "{} limit violations",
        total.violations
    );
    Ok(())
}

/// The whole stream, day by day: (song, query as typed).
fn stream<'a>(ranked: &[&'a Song], args: &Args) -> Vec<Vec<(&'a Song, String)>> {
    let mut cumulative = Vec::with_capacity(ranked.len());
    let mut sum = 0.0;
    for k in 1..=ranked.len() {
        sum += 1.0 / (k as f64).powf(args.zipf_s);
        cumulative.push(sum);
    }
    let mut rng = StdRng::seed_from_u64(args.seed);
    (0..args.days)
        .map(|_| {
            (0..args.per_day)
                .map(|_| {
                    let u = rng.random::<f64>() * sum;
                    let rank = cumulative.partition_point(|&c| c < u).min(ranked.len() - 1);
                    let song = ranked[rank];
                    let phrasings = phrasings(song);
                    let query = phrasings[rng.random_range(0..phrasings.len())].clone();
                    (song, query)
                })
                .collect()
        })
        .collect()
}

/// The ways a user may type one song.
fn phrasings(song: &Song) -> Vec<String> {
    let (title, artist) = (song.title.as_str(), song.primary_artist());
    let mut out = vec![
        format!("{title} {artist}"),
        format!("{artist} {title}"),
        format!("{artist} - {title}"),
        format!("{title} {artist}").to_lowercase(),
        format!("{artist} {title}").to_uppercase(),
        format!("  {}   {artist} ", title.replace(' ', "  ")),
        format!("{title} ({artist})"),
    ];
    if let Some(alias) = &song.title_alias {
        out.push(format!("{alias} {artist}"));
    }
    out
}

/// Whether a result is the song: same ISRC when the result has one, else a shared
/// normalized title variant with the same primary artist.
fn is_song(track: &muze_shared::domain::Track, song: &Song) -> bool {
    match &track.isrc {
        Some(isrc) => isrc.eq_ignore_ascii_case(&song.isrc),
        None => {
            let ours = song_identity::match_keys(&track.title, &track.artists);
            song_identity::match_keys(&song.title, &song.artists)
                .iter()
                .any(|k| ours.contains(k))
        }
    }
}

/// The sim's search-endpoint calls (summed over providers, and by provider) and violations.
#[derive(Debug)]
struct SimCounts {
    searches: u64,
    by_provider: Vec<(String, u64)>,
    violations: u64,
}

async fn sim_counts(client: &reqwest::Client, sim: &str) -> anyhow::Result<SimCounts> {
    let stats: Value = client
        .get(format!("{sim}/_stats"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut by_provider = Vec::new();
    if let Some(providers) = stats["providers"].as_object() {
        for (name, p) in providers {
            let n: u64 = p["endpoints"]
                .as_object()
                .map(|e| {
                    e.iter()
                        .filter(|(path, _)| path.ends_with("/search"))
                        .filter_map(|(_, n)| n.as_u64())
                        .sum()
                })
                .unwrap_or(0);
            by_provider.push((name.clone(), n));
        }
    }
    Ok(SimCounts {
        searches: by_provider.iter().map(|(_, n)| n).sum(),
        by_provider,
        violations: stats["total_violations"].as_u64().unwrap_or(0),
    })
}
