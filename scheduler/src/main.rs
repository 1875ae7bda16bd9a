//! `muze-scheduler` entry point: configuration, telemetry, build, run until SIGINT/SIGTERM.

use clap::Parser;
use muze_scheduler::Scheduler;
use muze_shared::{shutdown, telemetry, Settings};

/// Fires Muze's periodic jobs (the nightly new-release crawl) exactly once per tick however
/// many replicas run. Configured by MUZE_CONFIG (a TOML file) and MUZE__SECTION__KEY
/// environment variables; see the README.
#[derive(Debug, Parser)]
#[command(name = "muze-scheduler", version)]
struct Cli {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse();
    let result = async {
        let settings = Settings::load()?;
        telemetry::init(settings.log.format);
        Scheduler::build(settings)
            .await?
            .run(shutdown::signal())
            .await
    };
    match result.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("muze-scheduler: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
