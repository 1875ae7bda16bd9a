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
