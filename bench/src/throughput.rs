//! Throughput: the highest rate of searches answered upstream at which POST → succeeded p99
//! stays under a bound (100 ms by default), for each number of workers, and the CPU time each
//! process spends per search on the way.
//!
//! For each worker count, rates are tried in increasing order, each on a fresh stack, each an
//! open-loop latency run (`latency.rs`) of distinct songs with stage marks off; the sweep
//! stops at the first rate whose p99 reaches the bound (or that fails a search); with
//! `--runs N` each rate is run N times and judged by its median run. CPU time is
//! per process of the stack, the services it uses (Postgres, Redis, RabbitMQ) and the bench's
//! own client, from `/proc`; on this machine all of them share the same cores, so the sum at
//! the ceiling against the cores there are says whether CPU is what sets it.

use std::collections::BTreeMap;

use crate::latency;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Worker counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4",
          value_parser = crate::at_least_one::<usize>)]
    workers: Vec<usize>,
    /// Rates to try, searches per second, in increasing order, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,200,300,400,500,600",
          value_parser = crate::positive_rate)]
    rates: Vec<f64>,
    /// How long each rate is sent for (the sim's catalog grows past its 3000 songs when a
    /// rate sends more, so every search is a distinct song).
    #[arg(long, default_value_t = 5, value_parser = crate::at_least_one::<u64>)]
    seconds: u64,
    /// Latency the sim adds to each provider call, in ms.
    #[arg(long, default_value_t = 50)]
    sim_latency_ms: u64,
    /// Searches sent in the first seconds of each rate are not timed (pools and caches warm
    /// up).
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,
    /// The p99 bound, in ms.
    #[arg(long, default_value_t = 100.0)]
    p99_under_ms: f64,
    /// Runs of each rate, each on a fresh stack: a rate is within the bound when the median
    /// of its runs' p99 is (and no run failed a search or fell behind), so one stall of a
    /// noisy machine does not decide the ceiling. Its figures are the median run's.
    #[arg(long, default_value_t = 1, value_parser = crate::at_least_one::<usize>)]
    runs: usize,
}

/// One rate's outcome.
#[derive(Debug)]
struct Point {
    rate: f64,
    p50: f64,
    p99: f64,
    failed: usize,
    /// The client sent at the rate asked for.
    kept_up: bool,
    cpu_per_search: BTreeMap<String, f64>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut summary = Vec::new();
    for &workers in &args.workers {
        let mut points = Vec::new();
        for &rate in &args.rates {
            let run = latency::Args::at(
                rate,
                args.seconds,
                args.sim_latency_ms,
                workers,
                args.warmup_secs,
            );
            let mut runs = Vec::with_capacity(args.runs);
            for _ in 0..args.runs {
                runs.push(latency::measure(&run, "spotify", None).await?);
            }
            // A client that could not send at the rate measured a lower one.
            let kept_up = runs
                .iter()
                .all(|r| r.sent_for.as_secs_f64() <= args.seconds as f64 * 1.05 + 0.1);
            let failed = runs.iter().map(|r| r.failed).sum();
            let p99s = runs
                .iter()
                .map(|r| format!("{:.1}", r.p99))
                .collect::<Vec<_>>();
            runs.sort_by(|a, b| a.p99.total_cmp(&b.p99));
            let median = runs.swap_remove(runs.len() / 2);
            let within = median.p99 < args.p99_under_ms && failed == 0 && kept_up;
            if args.runs > 1 {
                println!(
                    "  {rate} /s, {workers} worker(s): p99 of the runs {}",
                    p99s.join(" / ")
                );
            }
            points.push(Point {
                rate,
                p50: median.p50,
                p99: median.p99,
                failed,
                kept_up,
                cpu_per_search: median.cpu_per_search,
            });
            if !within {
                break;
            }
        }
        summary.push((workers, points));
    }
    println!();
    println!(
        "throughput, sim latency {} ms, bound p99 < {} ms, {cores} cores:",
        args.sim_latency_ms, args.p99_under_ms
    );
    for (workers, points) in &summary {
        let best = points
            .iter()
            .filter(|p| p.p99 < args.p99_under_ms && p.failed == 0 && p.kept_up)
            .map(|p| p.rate)
            .fold(None, |best: Option<f64>, r| {
                Some(best.map_or(r, |b| b.max(r)))
            });
        println!(
            "  {workers} worker(s): highest rate within the bound {}",
            best.map_or("none of those tried".to_string(), |r| format!("{r} /s"))
        );
        for p in points {
            let total: f64 = p.cpu_per_search.values().sum();
            println!(
                "    {:>5} /s{}: p50 {:.1} ms, p99 {:.1} ms, failed {}; CPU ms per search: {} (total {:.2}: {:.0} % of {cores} cores at this rate)",
                p.rate,
                if p.kept_up { "" } else { " (the client fell behind)" },
                p.p50,
                p.p99,
                p.failed,
                p.cpu_per_search
                    .iter()
                    .map(|(label, secs)| format!("{label} {:.2}", secs * 1000.0))
                    .collect::<Vec<_>>()
                    .join(", "),
                total * 1000.0,
                total * p.rate * 100.0 / cores as f64,
            );
        }
    }
    Ok(())
}
