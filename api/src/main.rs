//! `muze-api`: load the configuration, start telemetry, build the API, serve until SIGINT or
//! SIGTERM. Any start-up failure is one line on stderr and exit status 1.

use std::process::ExitCode;

use clap::Parser;
use muze_api::Api;
use muze_shared::{shutdown, telemetry, Settings};

/// Muze Search HTTP API: accepts searches, answers polls, serves the catalog.
#[derive(Debug, Parser)]
#[command(
    name = "muze-api",
    version,
    after_help = "Configuration comes from built-in defaults, then the TOML file named by \
MUZE_CONFIG, then MUZE__SECTION__KEY environment variables (lists comma-separated), e.g.:
  MUZE__DATABASE__URL          Postgres URL, database created if missing [postgres://postgres@127.0.0.1:5432/muze]
  MUZE__REDIS__URL             Redis URL [redis://127.0.0.1:6379]
  MUZE__AMQP__URL              RabbitMQ URL [amqp://guest:guest@127.0.0.1:5672/%2f]
  MUZE__NAMESPACE              prefix of queues, Redis keys and channels [muze]
  MUZE__API__BIND              listen address [127.0.0.1:8080]
  MUZE__PROFILE                production (keys required) or dev (a dev key) [production]
  MUZE__API__KEYS              client API keys (Authorization: Bearer <key>) [a dev key in the dev profile]
  MUZE__API__ADMIN_KEYS        keys that may also call /v1/admin/* [none]
  MUZE__API__REQUESTS_PER_MINUTE  requests per key per minute, fleet-wide, after a burst [12000]
  MUZE__API__SEARCHES_PER_MINUTE  upstream searches per key per minute [1200]
  MUZE__API__CORS_ORIGINS      origins browsers may call from [none]
  MUZE__SEARCH__DEADLINE_SECS  a search not answered by then fails [60]
  MUZE__LOG__FORMAT            json or pretty [pretty on a terminal]
RUST_LOG overrides the log filter."
)]
struct Cli {}

#[tokio::main]
async fn main() -> ExitCode {
    Cli::parse();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("muze-api: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(settings.log.format);
    let api = Api::build(settings).await?;
    api.run(shutdown::signal()).await
}
