//! `muze-worker` entry point: configuration, telemetry, build, run until SIGINT/SIGTERM.

use clap::Parser;
use muze_shared::{shutdown, telemetry, Settings};
use muze_worker::Worker;

/// Consumes Muze search jobs from RabbitMQ, calls music providers under their limits with
/// fallback, and stores answers in Postgres. Configured by MUZE_CONFIG (a TOML file) and
/// MUZE__SECTION__KEY environment variables; see the README.
#[derive(Debug, Parser)]
#[command(name = "muze-worker", version)]
struct Cli {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse();
    let result = async {
        let settings = Settings::load()?;
        telemetry::init(settings.log.format);
        Worker::build(settings).await?.run(shutdown::signal()).await
    };
    match result.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("muze-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
