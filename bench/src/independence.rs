//! Independence from providers over time: how many searches each upstream call answers as
//! the catalog fills, against what an exact-query cache would reach on the same stream, and
//! whether the catalog's answers are as good as the provider's own.
//!
//! A seeded (reproducible) stream over the `--songs` most popular of the sim's songs
//! (`Catalog::generate(42, 3000)`): each search picks a song by Zipf rank (rank = the sim's
//! popularity, then id) and a phrasing of it. `--title-only-pct` of searches type the title
//! alone, `--no-space-pct` drop the spaces ("좋은날 아이유", "좋은날아이유"), the rest one of
//! "title artist", "artist title", "artist - title", lower case, upper case, extra spaces,
//! "title (artist)", and "alias artist" when the song has a title alias. Then `--typo-pct` of
//! all searches get one typo: a letter left out, doubled, replaced or swapped with its
//! neighbour. The stream is cut into simulated days of `per_day` searches and sent one search
//! at a time (POST, then long-poll until final) to a fresh stack with providers
//! "spotify,youtube,shazam". The sim's limits are its defaults × `limit_scale` and ours our
//! defaults × `limit_scale`, so the run is never throttled yet the sim still checks every
//! call against a limit. Days are simulated: the cache TTL (a real day) never expires.
//!
//! Per day: searches; upstream calls (deltas of the sim's `/_stats`, the search endpoints of
//! all providers summed); answered searches per upstream call; the same figure for an ideal
//! exact-query cache (offline: one upstream call for each normalized query,
//! `normalize_text`, never seen before, on any earlier day or earlier that day), and for an
//! exact-query cache in front of the same fallback chain (each such query costs what the chain
//! spends on it: Spotify, then YouTube and Shazam while the answer is still "no results", each
//! answer computed in-process with the sim's own search); the share
//! answered from our catalog; the share whose answer contains the intended song (by ISRC when
//! a result has one, else by normalized title variant + primary artist), and the same share
//! for Spotify's own answer to the same query (computed in-process from the sim's catalog with
//! the sim's own search, so it spends no call); failed searches; and the sim's limit
//! violations (must be 0). After the days, the same figures by phrasing, and the catalog's
//! wrong answers: answered from the catalog without the intended song.

use std::collections::HashSet;

use muze_shared::domain::{normalize_text, song_identity};
use muze_sim::{
    catalog::{SearchQuery, Song},
    config::{DEFAULT_SEED, DEFAULT_SONGS},
};
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
    /// The stream picks among this many of the sim's most popular songs.
    #[arg(long, default_value_t = DEFAULT_SONGS)]
    songs: usize,
    /// Percent of searches naming the title alone.
    #[arg(long, default_value_t = 25)]
    title_only_pct: u32,
    /// Percent of searches typed without spaces.
    #[arg(long, default_value_t = 10)]
    no_space_pct: u32,
    /// Percent of searches (of every phrasing) with one typo.
    #[arg(long, default_value_t = 15)]
    typo_pct: u32,
    /// Print the searches of this day that went upstream, and the catalog's wrong answers.
    #[arg(long)]
    show_day: Option<usize>,
}

/// How a search of the stream was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phrasing {
    TitleArtist,
    TitleOnly,
    NoSpaces,
}

impl Phrasing {
    fn label(self, typo: bool) -> &'static str {
        match (self, typo) {
            (Phrasing::TitleArtist, false) => "title+artist",
            (Phrasing::TitleArtist, true) => "title+artist, typo",
            (Phrasing::TitleOnly, false) => "title only",
            (Phrasing::TitleOnly, true) => "title only, typo",
            (Phrasing::NoSpaces, false) => "no spaces",
            (Phrasing::NoSpaces, true) => "no spaces, typo",
        }
    }
}

/// One search of the stream.
#[derive(Debug, Clone)]
struct Planned<'a> {
    song: &'a Song,
    query: String,
    phrasing: Phrasing,
    typo: bool,
    /// Whether Spotify's own answer to `query` holds the song.
    provider_has_it: bool,
    /// Search calls the fallback chain (Spotify, YouTube, Shazam) spends on `query` when all
    /// have budget: 1, plus one for each provider after a "no results".
    chain_calls: u64,
}

/// One day's figures.
#[derive(Debug, Default, Clone, Copy)]
struct Day {
    searches: u64,
    answered: u64,
    from_catalog: u64,
    intended: u64,
    provider_intended: u64,
    catalog_wrong: u64,
    failed: u64,
    upstream: u64,
    exact_misses: u64,
    /// Upstream calls of an exact-query cache in front of the same fallback chain.
    chain_cache_calls: u64,
    violations: u64,
}

impl Day {
    fn add(&mut self, d: &Day) {
        self.searches += d.searches;
        self.answered += d.answered;
        self.from_catalog += d.from_catalog;
        self.intended += d.intended;
        self.provider_intended += d.provider_intended;
        self.catalog_wrong += d.catalog_wrong;
        self.failed += d.failed;
        self.upstream += d.upstream;
        self.exact_misses += d.exact_misses;
        self.chain_cache_calls += d.chain_cache_calls;
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
            "{label:>5} {:>8} {:>8} {:>9} {:>11} {:>6} {:>11} {:>8} {:>9.1} % {:>8.1} % {:>8.1} % {:>8} {:>6} {:>6} {:>10}",
            self.searches,
            self.upstream,
            per(self.answered, self.upstream),
            per(self.searches, self.exact_misses),
            self.versus(self.exact_misses),
            per(self.searches, self.chain_cache_calls),
            self.versus(self.chain_cache_calls),
            pct(self.from_catalog),
            pct(self.intended),
            pct(self.provider_intended),
            self.relative_quality(),
            self.catalog_wrong,
            self.failed,
            self.violations
        )
    }

    /// Searches per upstream call as a multiple of a cache's that made `cache_calls`.
    fn versus(&self, cache_calls: u64) -> String {
        if self.upstream == 0 || cache_calls == 0 {
            return "inf".into();
        }
        let ours = self.answered as f64 / self.upstream as f64;
        let cache = self.searches as f64 / cache_calls as f64;
        format!("{:.2}x", ours / cache)
    }

    /// How often the intended song is in our answer, relative to Spotify's own answer.
    fn relative_quality(&self) -> String {
        if self.provider_intended == 0 {
            return "-".into();
        }
        format!(
            "{:.3}",
            self.intended as f64 / self.provider_intended as f64
        )
    }
}

/// Figures by phrasing over the whole run.
#[derive(Debug, Default, Clone, Copy)]
struct ByPhrasing {
    searches: u64,
    from_catalog: u64,
    intended: u64,
    provider_intended: u64,
    catalog_wrong: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.days > 0 && args.per_day > 0 && args.limit_scale > 0 && args.songs > 0,
        "--days, --per-day, --limit-scale and --songs must be at least 1"
    );
    anyhow::ensure!(
        args.title_only_pct + args.no_space_pct <= 100 && args.typo_pct <= 100,
        "--title-only-pct + --no-space-pct and --typo-pct must each be at most 100"
    );
    let catalog = muze_sim::catalog::Catalog::generate(DEFAULT_SEED, DEFAULT_SONGS);
    let mut ranked: Vec<&Song> = catalog.songs().iter().collect();
    ranked.sort_by(|a, b| b.popularity.cmp(&a.popularity).then(a.id.cmp(&b.id)));
    ranked.truncate(args.songs);
    let stream = stream(&catalog, &ranked, &args);

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
        "phrasings: {} % title only, {} % without spaces, the rest title and artist; {} % with one typo",
        args.title_only_pct, args.no_space_pct, args.typo_pct
    );
    println!(
        "limits: sim spotify {sim_spotify}, youtube {sim_youtube}/day, shazam {sim_shazam}; ours spotify {our_spotify}, youtube {our_youtube} (quota {our_quota}), shazam {our_shazam}"
    );
    println!(
        "reproduce: target/release/muze-bench independence --days {} --per-day {} --seed {} --zipf-s {} --limit-scale {} --workers {} --songs {} --title-only-pct {} --no-space-pct {} --typo-pct {}",
        args.days,
        args.per_day,
        args.seed,
        args.zipf_s,
        args.limit_scale,
        args.workers,
        args.songs,
        args.title_only_pct,
        args.no_space_pct,
        args.typo_pct
    );
    println!(
        "  day searches upstream  per call  exact-cache vs-exact  chain-cache vs-chain   catalog   intended  spotify's  relative    wrong failed violations"
    );

    let client = reqwest::Client::new();
    let mut seen_normalized: HashSet<String> = HashSet::new();
    let mut before = sim_counts(&client, &stack.sim_url).await?;
    let mut total = Day::default();
    let mut phrased: std::collections::BTreeMap<(Phrasing, bool), ByPhrasing> =
        std::collections::BTreeMap::new();
    for (n, day_stream) in stream.iter().enumerate() {
        let mut day = Day::default();
        for planned in day_stream {
            let query = &planned.query;
            let by = phrased.entry((planned.phrasing, planned.typo)).or_default();
            day.searches += 1;
            by.searches += 1;
            if planned.provider_has_it {
                day.provider_intended += 1;
                by.provider_intended += 1;
            }
            if seen_normalized.insert(normalize_text(query)) {
                day.exact_misses += 1;
                day.chain_cache_calls += planned.chain_calls;
            }
            match search_until_final(&client, &stack.api_url, query).await {
                Ok(view) if view.status == muze_shared::domain::SearchStatus::Succeeded => {
                    day.answered += 1;
                    let from_catalog = view.source.as_deref() == Some("catalog");
                    let has_it = view.results.iter().any(|t| is_song(t, planned.song));
                    if from_catalog {
                        day.from_catalog += 1;
                        by.from_catalog += 1;
                    }
                    if has_it {
                        day.intended += 1;
                        by.intended += 1;
                    }
                    if from_catalog && !has_it {
                        day.catalog_wrong += 1;
                        by.catalog_wrong += 1;
                    }
                    if args.show_day == Some(n + 1) && (!from_catalog || !has_it) {
                        eprintln!(
                            "day {}: {:?} [{}] for {:?} by {:?}: {} {}",
                            n + 1,
                            query,
                            planned.phrasing.label(planned.typo),
                            planned.song.title,
                            planned.song.primary_artist(),
                            if from_catalog {
                                "catalog, wrong:"
                            } else {
                                "upstream:"
                            },
                            view.results
                                .iter()
                                .take(3)
                                .map(|t| format!("{} / {}", t.title, t.artists.join(", ")))
                                .collect::<Vec<_>>()
                                .join("; ")
                        );
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
    println!();
    println!("by phrasing (whole run):");
    println!("  phrasing             searches   catalog   intended  spotify's   wrong");
    for ((phrasing, typo), by) in &phrased {
        let pct = |n: u64| 100.0 * n as f64 / by.searches.max(1) as f64;
        println!(
            "  {:<20} {:>8} {:>7.1} % {:>8.1} % {:>8.1} % {:>7}",
            phrasing.label(*typo),
            by.searches,
            pct(by.from_catalog),
            pct(by.intended),
            pct(by.provider_intended),
            by.catalog_wrong
        );
    }
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

/// The whole stream, day by day.
fn stream<'a>(
    catalog: &muze_sim::catalog::Catalog,
    ranked: &[&'a Song],
    args: &Args,
) -> Vec<Vec<Planned<'a>>> {
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
                    let roll = rng.random_range(0..100);
                    let phrasing = if roll < args.title_only_pct {
                        Phrasing::TitleOnly
                    } else if roll < args.title_only_pct + args.no_space_pct {
                        Phrasing::NoSpaces
                    } else {
                        Phrasing::TitleArtist
                    };
                    let options = phrasings(song, phrasing);
                    let mut query = options[rng.random_range(0..options.len())].clone();
                    let typo = rng.random_range(0..100) < args.typo_pct;
                    if typo {
                        query = with_typo(&query, &mut rng);
                    }
                    let spotify =
                        catalog.search_page(&SearchQuery::parse(&query).forgiving_typos(), 0, 10);
                    let provider_has_it = spotify.items.iter().any(|s| s.id == song.id);
                    // YouTube and Shazam search the plain text, forgiving typos too; asked
                    // only after Spotify's "no results".
                    let chain_calls = if !spotify.items.is_empty() {
                        1
                    } else if catalog
                        .search_page(&SearchQuery::text(&query).forgiving_typos(), 0, 10)
                        .items
                        .is_empty()
                    {
                        3
                    } else {
                        2
                    };
                    Planned {
                        song,
                        query,
                        phrasing,
                        typo,
                        provider_has_it,
                        chain_calls,
                    }
                })
                .collect()
        })
        .collect()
}

/// The ways a user may type one song in one phrasing.
fn phrasings(song: &Song, phrasing: Phrasing) -> Vec<String> {
    let (title, artist) = (song.title.as_str(), song.primary_artist());
    let tight = |s: &str| s.replace(' ', "");
    match phrasing {
        Phrasing::TitleOnly => {
            let mut out = vec![title.to_string(), title.to_lowercase(), format!("{title} ")];
            if let Some(alias) = &song.title_alias {
                out.push(alias.clone());
            }
            out
        }
        Phrasing::NoSpaces => vec![
            format!("{} {artist}", tight(title)),
            format!("{artist} {}", tight(title)),
            tight(&format!("{title}{artist}")),
        ],
        Phrasing::TitleArtist => {
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
    }
}

/// `query` with one typo in one of its letters: left out, doubled, replaced by another letter
/// of its script (one jamo of a Hangul syllable), or swapped with the next letter.
fn with_typo(query: &str, rng: &mut StdRng) -> String {
    let chars: Vec<char> = query.chars().collect();
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    if letters.is_empty() {
        return query.to_string();
    }
    loop {
        let at = letters[rng.random_range(0..letters.len())];
        let mut out = chars.clone();
        match rng.random_range(0..4) {
            0 => {
                out.remove(at);
            }
            1 => out.insert(at, chars[at]),
            2 => out[at] = another_letter(chars[at], rng),
            _ => {
                if at + 1 >= chars.len() || !chars[at + 1].is_alphabetic() {
                    continue;
                }
                out.swap(at, at + 1);
            }
        }
        let typed: String = out.into_iter().collect();
        if normalize_text(&typed) != normalize_text(query) {
            return typed;
        }
    }
}

/// A different letter of the same script: for a Hangul syllable, the syllable with one of its
/// jamo (initial, vowel or final) changed, as a slip on a Korean keyboard does; else another
/// Latin letter.
fn another_letter(c: char, rng: &mut StdRng) -> char {
    if ('\u{AC00}'..='\u{D7A3}').contains(&c) {
        let s = c as u32 - 0xAC00;
        let (mut initial, mut vowel, mut last) = (s / 588, (s % 588) / 28, s % 28);
        let (slot, count) = match rng.random_range(0..3) {
            0 => (&mut initial, 19),
            1 => (&mut vowel, 21),
            _ => (&mut last, 28),
        };
        let was = *slot;
        while *slot == was {
            *slot = rng.random_range(0..count);
        }
        return char::from_u32(0xAC00 + initial * 588 + vowel * 28 + last).unwrap_or(c);
    }
    loop {
        let other = char::from(rng.random_range(b'a'..=b'z'));
        if other != c.to_lowercase().next().unwrap_or(c) {
            return other;
        }
    }
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
