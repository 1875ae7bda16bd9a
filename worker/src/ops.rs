//! The worker's operations endpoint: `GET /metrics` (Prometheus text: jobs finished by
//! status, provider calls by outcome, limiter grants, parked messages) and `GET /healthz`.
//! Bound to `MUZE__WORKER__METRICS_BIND`; the default port 0 picks a free one (logged), so
//! several workers on one host never collide — give each a fixed port in production.

use std::{future::Future, net::SocketAddr};

use anyhow::Context;
use axum::{http::header, response::IntoResponse, routing::get, Router};
use metrics_exporter_prometheus::PrometheusHandle;
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
            .with_context(|| format!("cannot listen on {bind} (MUZE__WORKER__METRICS_BIND)"))?;
        Ok(Ops { listener, handle })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let handle = self.handle;
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/metrics",
                get(move || {
                    let handle = handle.clone();
                    async move {
                        (
                            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                            handle.render(),
                        )
                            .into_response()
                    }
                }),
            );
        if let Err(e) = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "operations endpoint stopped");
        }
    }
}
