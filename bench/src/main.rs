//! `muze-bench`: measures the running system, built in release mode, as separate processes
//! against `muze-sim` on loopback. Each run uses a fresh database and namespace.
//!
//! `cargo build --release --bins && target/release/muze-bench latency --rate 20 --seconds 30`

mod catalog_hits;
mod cpu;
mod crawl;
mod faults;
mod independence;
mod latency;
mod limiter;
mod near_keys;
mod publish;
mod stack;
mod throughput;

use clap::{Parser, Subcommand};

/// A count that must be at least one (runs, workers, seconds), as a clap value parser.
fn at_least_one<T: std::str::FromStr + PartialOrd + From<u8>>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    match text.parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A request rate: a finite number of searches per second above zero.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        Ok(_) => Err("a rate is searches per second, above zero".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "muze-bench",
    about = "Benchmarks Muze against muze-sim on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// POST → succeeded latency at a fixed request rate (open loop).
    Latency(latency::Args),
    /// Added latency of one fallback hop (first provider down), against the healthy path.
    FallbackHop(latency::Args),
    /// Searches per second at which p99 stays under a bound, for 1, 2, 4 workers; CPU per
    /// search by process.
    Throughput(throughput::Args),
    /// Limiter utilization and violations, shared vs naive, 1/2/4 workers; acquire latency.
    Limiter(limiter::Args),
    /// Confirmed-publish latency to RabbitMQ.
    Publish(publish::Args),
    /// Catalog-hit throughput of POST /v1/searches, side by side with `pgbench -S`.
    CatalogHits(catalog_hits::Args),
    /// Searches per upstream call over simulated days of a Zipf stream, vs an exact cache.
    Independence(independence::Args),
    /// New-release crawl duration at a given budget, against calls needed ÷ background rate.
    Crawl(crawl::Args),
    /// How often a song's key is one edit from another song's, by key length.
    NearKeys(near_keys::Args),
    /// A steady load through a worker SIGKILL, RabbitMQ, Redis and Postgres restarts and a
    /// provider answering garbage: accepted, succeeded, failed, lost, duplicated, recovery.
    Faults(faults::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Latency(args) => latency::run(args).await,
        Command::Throughput(args) => throughput::run(args).await,
        Command::FallbackHop(args) => latency::fallback_hop(args).await,
        Command::Limiter(args) => limiter::run(args).await,
        Command::Publish(args) => publish::run(args).await,
        Command::CatalogHits(args) => catalog_hits::run(args).await,
        Command::Independence(args) => independence::run(args).await,
        Command::Crawl(args) => crawl::run(args).await,
        Command::NearKeys(args) => near_keys::run(args).await,
        Command::Faults(args) => faults::run(args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        Cli::try_parse_from(std::iter::once("muze-bench").chain(args.iter().copied()))
            .map(|cli| cli.command)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn counts_below_one_and_rates_at_zero_are_refused_by_name() {
        for (args, flag) in [
            (&["latency", "--runs", "0"][..], "--runs"),
            (&["latency", "--workers", "0"], "--workers"),
            (&["latency", "--seconds", "0"], "--seconds"),
            (&["latency", "--rate", "0"], "--rate"),
            (&["latency", "--rate=-5"], "--rate"),
            (&["latency", "--rate", "inf"], "--rate"),
            (&["throughput", "--runs", "0"], "--runs"),
            (&["throughput", "--workers", "1,0,4"], "--workers"),
            (&["throughput", "--rates", "100,0"], "--rates"),
        ] {
            let error = parse(args).expect_err(&format!("{args:?} was accepted"));
            assert!(error.contains(flag), "{args:?}: {error}");
        }
    }

    #[test]
    fn the_documented_commands_parse() {
        let Ok(Command::Latency(latency)) = parse(&[
            "latency",
            "--rate",
            "20",
            "--seconds",
            "20",
            "--runs",
            "3",
            "--warmup-secs",
            "2",
        ]) else {
            panic!("the latency command did not parse");
        };
        assert_eq!(latency.searches(), 400);
        assert!(matches!(
            parse(&["throughput", "--workers", "1,2,4", "--rates", "100,150.5"]),
            Ok(Command::Throughput(_))
        ));
    }
}
