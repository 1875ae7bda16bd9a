//! Logging and metrics set-up, one call per process.
//!
//! Logs are structured `tracing` events: JSON when stdout is not a terminal (or when
//! configured), human-readable otherwise. Field names are dotted (`job.id`, `provider`).
//! `RUST_LOG` overrides the default filter.

use std::io::IsTerminal;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::config::LogFormat;

/// What is logged when `RUST_LOG` is not set: our crates at info, chatty libraries at warn.
const DEFAULT_FILTER: &str = "info,sqlx=warn,lapin=warn,amq_protocol=warn,hyper=warn,reqwest=warn";

/// Installs the global subscriber. Safe to call more than once (later calls do nothing), so
/// tests that build several components in one process can call it freely.
pub fn init(format: Option<LogFormat>) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let format = format.unwrap_or(if std::io::stdout().is_terminal() {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

/// Installs the Prometheus recorder and returns the handle that renders `/metrics`. Returns
/// `None` if a recorder is already installed (a second component in the same test process).
pub fn init_metrics() -> Option<PrometheusHandle> {
    PrometheusBuilder::new().install_recorder().ok()
}
