//! POST → succeeded latency at a fixed request rate, and the cost of a fallback hop.
//!
//! Open loop: a search is sent every 1/rate seconds whatever happened to earlier ones, so a
//! slow system shows up as latency, not as a lower request rate. Each search is a distinct
//! song of the sim's catalog (no shared jobs), followed by long-polls that return when the
//! worker's NOTIFY arrives. Only searches answered upstream are timed: songs an earlier answer
//! already brought into the catalog are answered at once and counted apart. Overhead is latency
//! minus the sim's added latency.
//!
//! Each run also breaks every timed search's time into its stages, from the marks the API and
//! the workers record (`muze_shared::stage`, turned on for the run with
//! `RUST_LOG=warn,muze_stage=trace,muze_worker::jobs::search=info`) and the client's own send and receive times, all on the
//! one machine's clock: the API's share up to the job's insert, the broker's delivery, the
//! claim, the limiter, the provider call beyond the sim's latency, the answer's transaction,
//! the notification, the long-poll's read and the response. `--runs N` repeats the run on
//! fresh stacks and reports the median of the runs' quantiles; the CPU time each process
//! spent per search comes with every run.
//!
//! `fallback-hop` runs the same load twice in one invocation with providers `spotify,youtube`:
//! healthy, then with Spotify answering 503 to every call (its circuit breaker set never to
//! open, so every search really makes the hop), and prints the difference.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use muze_shared::{
    domain::SearchStatus,
    stage::{self, Stage},
};
use muze_sim::config::DEFAULT_SONGS;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{
    cpu,
    stack::{search_until_final, Stack, SIM_URL, UNLIMITED_SIM},
};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Searches per second.
    #[arg(long, default_value_t = 20.0, value_parser = crate::positive_rate)]
    rate: f64,
    /// How long to send for.
    #[arg(long, default_value_t = 30, value_parser = crate::at_least_one::<u64>)]
    seconds: u64,
    /// Latency the sim adds to each provider call, in ms.
    #[arg(long, default_value_t = 50)]
    sim_latency_ms: u64,
    /// Worker processes.
    #[arg(long, default_value_t = 2, value_parser = crate::at_least_one::<usize>)]
    workers: usize,
    /// Runs, each on a fresh stack; with more than one, the median of their quantiles is
    /// reported too.
    #[arg(long, default_value_t = 1, value_parser = crate::at_least_one::<usize>)]
    runs: usize,
    /// Leave the stage marks off (they cost a log line per stage).
    #[arg(long)]
    no_stages: bool,
    /// Searches sent during this many first seconds are not timed (pools and caches warm
    /// up); they count in the CPU figures.
    #[arg(long, default_value_t = 0.0)]
    warmup_secs: f64,
}

impl Args {
    /// The arguments of one run at `rate` with `workers` workers, stage marks off, the first
    /// `warmup_secs` untimed.
    pub fn at(
        rate: f64,
        seconds: u64,
        sim_latency_ms: u64,
        workers: usize,
        warmup_secs: f64,
    ) -> Args {
        Args {
            rate,
            seconds,
            sim_latency_ms,
            workers,
            runs: 1,
            no_stages: true,
            warmup_secs,
        }
    }
}

impl Args {
    /// Searches a run sends.
    pub(crate) fn searches(&self) -> usize {
        (self.rate * self.seconds as f64) as usize
    }

    /// Songs in the sim's catalog for this run: the default catalog, or one with a fifth more
    /// songs than searches (some songs share a title and artist, and count once).
    fn songs(&self) -> usize {
        DEFAULT_SONGS.max(self.searches() * 6 / 5)
    }
}

/// What one run measured.
#[derive(Debug)]
pub struct Summary {
    /// POST → succeeded, ms.
    pub p50: f64,
    pub p99: f64,
    /// Searches that did not succeed.
    pub failed: usize,
    /// How long sending took, against the `seconds` asked for.
    pub sent_for: Duration,
    /// CPU seconds per timed search, by process.
    pub cpu_per_search: BTreeMap<String, f64>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut runs = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        if args.runs > 1 {
            println!("run {} of {}", run + 1, args.runs);
        }
        runs.push(measure(&args, "spotify", None).await?);
    }
    if runs.len() > 1 {
        let sim = args.sim_latency_ms as f64;
        let median = |pick: fn(&Summary) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let list = |pick: fn(&Summary) -> f64| {
            runs.iter()
                .map(|r| format!("{:.1}", pick(r) - sim))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!(
            "median of {} runs: overhead p50 {:.1} ms (runs {}), p99 {:.1} ms (runs {})",
            runs.len(),
            median(|r| r.p50) - sim,
            list(|r| r.p50),
            median(|r| r.p99) - sim,
            list(|r| r.p99),
        );
    }
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

/// One search the client timed: its id and when (µs since the epoch) it was sent and its
/// final answer received.
#[derive(Debug, Clone, Copy)]
struct Timed {
    id: Uuid,
    sent_us: u64,
    done_us: u64,
}

pub async fn measure(args: &Args, providers: &str, down: Option<&str>) -> anyhow::Result<Summary> {
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
    // The default catalog unless the run sends more searches than it has songs: a larger one
    // (the same seed), so every search is a distinct song however long the run.
    let songs = args.songs().to_string();
    let mut sim_args = UNLIMITED_SIM.to_vec();
    sim_args.extend(["--songs", songs.as_str()]);
    let logs = (!args.no_stages)
        .then(|| std::env::temp_dir().join(format!("muze-bench-stages-{}", Uuid::new_v4())));
    if logs.is_some() {
        // The marks, and the worker's job span, which names the search of the marks made
        // inside it (the limiter's grant, the provider call).
        env.push((
            "RUST_LOG",
            "warn,muze_stage=trace,muze_worker::jobs::search=info",
        ));
    }
    let stack = Stack::start_logged(
        args.workers,
        args.sim_latency_ms,
        &env,
        &sim_args,
        logs.clone(),
    )
    .await?;
    let measured = measure_on(args, &stack, providers, down).await;
    // Stopped before the logs are read: every process has written its last line.
    drop(stack);
    let result = match (measured, &logs) {
        (Ok((summary, timed)), Some(dir)) => {
            stage_report(dir, &timed, args.sim_latency_ms).map(|()| summary)
        }
        (measured, _) => measured.map(|(summary, _)| summary),
    };
    if let Some(dir) = logs {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

async fn measure_on(
    args: &Args,
    stack: &Stack,
    providers: &str,
    down: Option<&str>,
) -> anyhow::Result<(Summary, Vec<Timed>)> {
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
    let queries = muze_testkit::catalog_queries_of(args.songs());
    let total = args.searches();
    anyhow::ensure!(
        queries.len() >= total,
        "the sim's catalog has {} distinct songs for {total} searches",
        queries.len()
    );
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        120_000_000,
        3,
    )?));
    let timed = Arc::new(Mutex::new(Vec::with_capacity(total)));
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
    let mut processes = stack.processes();
    processes.push(("bench client".to_string(), std::process::id()));
    let cpu_before = cpu::Sample::take(&processes);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for (i, query) in queries.into_iter().take(total).enumerate() {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let api = stack.api_url.clone();
        let histogram = histogram.clone();
        let timed = timed.clone();
        let failures = failures.clone();
        let from_catalog = from_catalog.clone();
        let warming = (i as f64) / args.rate < args.warmup_secs;
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let sent_us = stage::now_us();
            match search_until_done(&client, &api, &query).await {
                Ok(_) if warming => {}
                Ok((Answer::Upstream, id)) => {
                    let done_us = stage::now_us();
                    let us = sent.elapsed().as_micros() as u64;
                    let _ = histogram.lock().await.record(us.max(1));
                    timed.lock().await.push(Timed {
                        id,
                        sent_us,
                        done_us,
                    });
                }
                // Songs that earlier answers already brought into the catalog: not timed.
                Ok((Answer::Catalog, _)) => *from_catalog.lock().await += 1,
                Err(e) => {
                    eprintln!("search {query:?}: {e}");
                    *failures.lock().await += 1;
                }
            }
        }));
    }
    let sent_for = started.elapsed();
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    let cpu_used = cpu::Sample::take(&processes).since(&cpu_before);
    let h = histogram.lock().await;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let sim = args.sim_latency_ms as f64;
    let failed = *failures.lock().await;
    println!(
        "  sent {total} in {:.1} s (done after {:.1} s); answered upstream {} (timed), from the catalog {}, failed {failed}",
        sent_for.as_secs_f64(),
        elapsed.as_secs_f64(),
        h.len(),
        *from_catalog.lock().await,
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
    let searches = (total - failed).max(1) as f64;
    let cpu_per_search: BTreeMap<String, f64> = cpu_used
        .into_iter()
        .map(|(label, secs)| (label, secs / searches))
        .collect();
    println!(
        "  CPU per search (ms): {}",
        cpu_per_search
            .iter()
            .map(|(label, secs)| format!("{label} {:.2}", secs * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let summary = Summary {
        p50: ms(0.5),
        p99: ms(0.99),
        failed,
        sent_for,
        cpu_per_search,
    };
    drop(h);
    let timed = timed.lock().await.clone();
    Ok((summary, timed))
}

/// One segment of a search's time: from one mark to the next.
struct Segment {
    name: &'static str,
    from: Mark,
    to: Mark,
    /// Subtracted from the segment (the sim's own latency).
    less_sim: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Sent,
    At(Stage),
    Done,
}

/// The critical path of a search answered upstream, in order; these add up to its latency.
const PATH: [Segment; 13] = [
    Segment {
        name: "request reaches the API's handler",
        from: Mark::Sent,
        to: Mark::At(Stage::Received),
        less_sim: false,
    },
    Segment {
        name: "API: parse, catalog lookup (a miss)",
        from: Mark::At(Stage::Received),
        to: Mark::At(Stage::LookedUp),
        less_sim: false,
    },
    Segment {
        name: "API: the key's search allowance",
        from: Mark::At(Stage::LookedUp),
        to: Mark::At(Stage::Allowed),
        less_sim: false,
    },
    Segment {
        name: "API: job row inserted",
        from: Mark::At(Stage::Allowed),
        to: Mark::At(Stage::Inserted),
        less_sim: false,
    },
    Segment {
        name: "publish → worker has the message",
        from: Mark::At(Stage::Inserted),
        to: Mark::At(Stage::Delivered),
        less_sim: false,
    },
    Segment {
        name: "claim",
        from: Mark::At(Stage::Delivered),
        to: Mark::At(Stage::Claimed),
        less_sim: false,
    },
    Segment {
        name: "limiter grant",
        from: Mark::At(Stage::Claimed),
        to: Mark::At(Stage::Granted),
        less_sim: false,
    },
    Segment {
        name: "provider call, beyond the sim's latency",
        from: Mark::At(Stage::Granted),
        to: Mark::At(Stage::Called),
        less_sim: true,
    },
    Segment {
        name: "outcome reported to the limiter",
        from: Mark::At(Stage::Called),
        to: Mark::At(Stage::Reported),
        less_sim: false,
    },
    Segment {
        name: "result transaction (commit, NOTIFY)",
        from: Mark::At(Stage::Reported),
        to: Mark::At(Stage::Committed),
        less_sim: false,
    },
    Segment {
        name: "notification reaches the API",
        from: Mark::At(Stage::Committed),
        to: Mark::At(Stage::Woken),
        less_sim: false,
    },
    Segment {
        name: "wake → long-poll answer read",
        from: Mark::At(Stage::Woken),
        to: Mark::At(Stage::Answered),
        less_sim: false,
    },
    Segment {
        name: "response reaches the client",
        from: Mark::At(Stage::Answered),
        to: Mark::Done,
        less_sim: false,
    },
];

/// Beside the path: the POST's own answer, which the client waits for before it long-polls.
const BESIDE: [Segment; 2] = [
    Segment {
        name: "(beside) publish confirmed",
        from: Mark::At(Stage::Inserted),
        to: Mark::At(Stage::Confirmed),
        less_sim: false,
    },
    Segment {
        name: "(beside) confirmed → 202 ready",
        from: Mark::At(Stage::Confirmed),
        to: Mark::At(Stage::Accepted),
        less_sim: false,
    },
];

/// Every search's marks, by id, from the stack's logs in `dir`: the first time each stage
/// was marked (a search calls its provider once when all goes well).
fn read_marks(dir: &Path) -> anyhow::Result<HashMap<Uuid, BTreeMap<Stage, u64>>> {
    let mut marks: HashMap<Uuid, BTreeMap<Stage, u64>> = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        for line in text.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if event["target"] != stage::TARGET {
                continue;
            }
            let Some(stage) = event["stage"].as_str().and_then(Stage::parse) else {
                continue;
            };
            let Some(at) = event["at_us"].as_u64() else {
                continue;
            };
            // The event's own id, else the worker's job span around it.
            let id = event["search.id"].as_str().or_else(|| {
                event["spans"]
                    .as_array()?
                    .iter()
                    .rev()
                    .find_map(|span| span["job.id"].as_str())
            });
            let Some(id) = id.and_then(|id| id.parse().ok()) else {
                continue;
            };
            marks.entry(id).or_default().entry(stage).or_insert(at);
        }
    }
    Ok(marks)
}

/// Prints each stage's quantiles over the timed searches, and what the slowest of them spent
/// in each: the mean over the searches whose overhead is at or above the run's p99, which
/// says which stage makes the tail.
fn stage_report(dir: &Path, timed: &[Timed], sim_latency_ms: u64) -> anyhow::Result<()> {
    let marks = read_marks(dir)?;
    let sim_us = sim_latency_ms * 1000;
    let mut late_poll = 0usize;
    let segments: Vec<&Segment> = PATH.iter().chain(BESIDE.iter()).collect();
    // One row per search with every mark: its overhead, then each segment (if both ends).
    let mut rows: Vec<(i64, Vec<Option<i64>>)> = Vec::new();
    for search in timed {
        let Some(of) = marks.get(&search.id) else {
            continue;
        };
        let at = |mark: Mark| match mark {
            Mark::Sent => Some(search.sent_us),
            Mark::Done => Some(search.done_us),
            Mark::At(stage) => of.get(&stage).copied(),
        };
        if PATH
            .iter()
            .any(|s| at(s.from).is_none() || at(s.to).is_none())
        {
            continue;
        }
        // The long-poll arrived after the notification: its first read answered it.
        if at(Mark::At(Stage::Answered)) < at(Mark::At(Stage::Woken)) {
            late_poll += 1;
        }
        let lasted = |segment: &Segment| {
            let (from, to) = (at(segment.from)?, at(segment.to)?);
            let less = if segment.less_sim { sim_us } else { 0 };
            Some(to as i64 - from as i64 - less as i64)
        };
        let overhead = search.done_us as i64 - search.sent_us as i64 - sim_us as i64;
        rows.push((overhead, segments.iter().map(|s| lasted(s)).collect()));
    }
    println!(
        "  stages of {} of {} timed searches (every mark found); {late_poll} long-polls came after the notification",
        rows.len(),
        timed.len()
    );
    let mut overheads: Vec<i64> = rows.iter().map(|(o, _)| *o).collect();
    overheads.sort_unstable();
    let p99 = quantile(&overheads, 0.99);
    let tail: Vec<&Vec<Option<i64>>> = rows
        .iter()
        .filter(|(o, _)| Some(*o) >= p99)
        .map(|(_, r)| r)
        .collect();
    println!(
        "  {:<44} {:>8} {:>8} {:>8} {:>12}",
        "stage (ms)",
        "p50",
        "p90",
        "p99",
        format!("slowest {}", tail.len())
    );
    let ms = |v: Option<i64>| v.map_or(f64::NAN, |v| v as f64 / 1000.0);
    for (i, segment) in segments.iter().enumerate() {
        let mut values: Vec<i64> = rows.iter().filter_map(|(_, r)| r[i]).collect();
        values.sort_unstable();
        let in_tail: Vec<i64> = tail.iter().filter_map(|r| r[i]).collect();
        let tail_mean =
            (!in_tail.is_empty()).then(|| in_tail.iter().sum::<i64>() / in_tail.len() as i64);
        println!(
            "  {:<44} {:>8.2} {:>8.2} {:>8.2} {:>12.2}",
            segment.name,
            ms(quantile(&values, 0.5)),
            ms(quantile(&values, 0.9)),
            ms(quantile(&values, 0.99)),
            ms(tail_mean),
        );
    }
    Ok(())
}

/// The `q` quantile of sorted `values` (nearest rank), if there are any.
fn quantile(values: &[i64], q: f64) -> Option<i64> {
    let last = values.len().checked_sub(1)?;
    Some(values[(last as f64 * q).round() as usize])
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
) -> anyhow::Result<(Answer, Uuid)> {
    let view = search_until_final(client, api, query).await?;
    anyhow::ensure!(
        view.status == SearchStatus::Succeeded,
        "ended {:?}",
        view.status
    );
    let answer = if view.source.as_deref() == Some("catalog") {
        Answer::Catalog
    } else {
        Answer::Upstream
    };
    Ok((answer, view.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_read_by_search_id_or_by_the_job_span_around_them() {
        let dir = std::env::temp_dir().join(format!("muze-bench-marks-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let id = Uuid::now_v7();
        let api = format!(
            "{{\"level\":\"TRACE\",\"stage\":\"inserted\",\"search.id\":\"{id}\",\"at_us\":100,\"target\":\"muze_stage\"}}\n\
             not json\n\
             {{\"level\":\"INFO\",\"stage\":\"inserted\",\"search.id\":\"{id}\",\"at_us\":1,\"target\":\"muze_api\"}}\n\
             {{\"level\":\"TRACE\",\"stage\":\"answered\",\"search.id\":\"{id}\",\"at_us\":900,\"target\":\"muze_stage\"}}\n"
        );
        let worker = format!(
            "{{\"level\":\"TRACE\",\"stage\":\"granted\",\"at_us\":300,\"target\":\"muze_stage\",\"spans\":[{{\"job.id\":\"{id}\",\"name\":\"run\"}}]}}\n\
             {{\"level\":\"TRACE\",\"stage\":\"granted\",\"at_us\":700,\"target\":\"muze_stage\",\"spans\":[{{\"job.id\":\"{id}\",\"name\":\"run\"}}]}}\n\
             {{\"level\":\"TRACE\",\"stage\":\"called\",\"at_us\":400,\"target\":\"muze_stage\"}}\n"
        );
        std::fs::write(dir.join("muze-api-1.log"), api).unwrap();
        std::fs::write(dir.join("muze-worker-2.log"), worker).unwrap();
        let marks = read_marks(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let of = &marks.unwrap()[&id];
        assert_eq!(
            of.get(&Stage::Inserted),
            Some(&100),
            "only muze_stage events"
        );
        assert_eq!(of.get(&Stage::Answered), Some(&900));
        assert_eq!(
            of.get(&Stage::Granted),
            Some(&300),
            "the first time a stage is marked"
        );
        assert_eq!(
            of.get(&Stage::Called),
            None,
            "a mark naming no search is dropped"
        );
    }
}
