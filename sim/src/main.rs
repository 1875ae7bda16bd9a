//! `muze-sim` — serves the provider stand-ins until SIGINT/SIGTERM. See the library docs.

use std::process::ExitCode;

use clap::Parser;
use muze_sim::cli::Cli;
use muze_sim::{shutdown_signal, telemetry, Sim};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let shutdown = shutdown_signal();
    match Sim::build(cli.config()).await {
        Ok(sim) => match sim.run(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
        Err(error) => fail(&error),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("muze-sim: {error:#}");
    ExitCode::FAILURE
}
