//! Logging and metrics set-up, one call per process.
//!
//! Logs are structured `tracing` events: JSON when stdout is not a terminal (or when
//! configured), human-readable otherwise. Field names are dotted (`job.id`, `provider`).
//! `RUST_LOG` overrides the default filter.

use std::{io::IsTerminal, sync::OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::{config::LogFormat, metric_families};

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

/// The process's Prometheus handle, rendering `/metrics`: installs the recorder on first use,
/// with histogram buckets (so latencies aggregate across processes, which summaries cannot)
/// and every family's HELP text ([`metric_families::describe_all`]). Every component of one
/// process (several in a test) shares it. If another recorder was installed first, the handle
/// renders an empty, separate recorder.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| match builder().install_recorder() {
            Ok(handle) => {
                metric_families::describe_all();
                handle
            }
            Err(_) => builder().build_recorder().handle(),
        })
        .clone()
}

/// The exporter: every histogram gets latency buckets, POST → final its own wider ones.
fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets(metric_families::LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(metric_families::SEARCH_LATENCY.to_string()),
                metric_families::SEARCH_LATENCY_BUCKETS,
            )
        })
        // Only an empty bucket list is refused, and both lists are constants.
        .unwrap_or_else(|_| PrometheusBuilder::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_as_buckets_with_help_text() {
        let handle = metrics_handle();
        metrics::histogram!(metric_families::SEARCH_LATENCY, "status" => "succeeded").record(0.3);
        metrics::histogram!(metric_families::HTTP_REQUEST_DURATION, "route" => "/healthz")
            .record(0.002);
        let text = handle.render();
        assert!(
            text.contains("muze_search_latency_seconds_bucket{status=\"succeeded\",le=\"0.5\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "muze_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("# HELP muze_search_latency_seconds"),
            "{text}"
        );
        assert!(!text.contains("quantile="), "no summaries: {text}");
    }
}
