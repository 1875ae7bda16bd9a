//! The scheduler's operations endpoint: `GET /metrics` (ticks fired, lost, skipped, failed
//! rounds, when the next tick is due) and `GET /healthz` (the process answers), on
//! `MUZE__SCHEDULER__METRICS_BIND`. The default port 0 picks a free one (logged); give each
//! replica a fixed port in production.

use std::{future::Future, net::SocketAddr};

use anyhow::Context;
use axum::{extract::State, http::header, response::IntoResponse, routing::get, Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tokio::net::TcpListener;

/// A bound operations listener.
#[derive(Debug)]
pub struct Ops {
    listener: TcpListener,
    handle: PrometheusHandle,
}

impl Ops {
    /// Binds `bind`.
    pub async fn bind(bind: &str, handle: PrometheusHandle) -> anyhow::Result<Ops> {
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind} (MUZE__SCHEDULER__METRICS_BIND)"))?;
        Ok(Ops { listener, handle })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let app = Router::new()
            .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
            .route("/metrics", get(metrics))
            .with_state(self.handle);
        if let Err(e) = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "operations endpoint stopped");
        }
    }
}

async fn metrics(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}
