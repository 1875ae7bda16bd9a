//! The worker's operations endpoint: `GET /metrics` (Prometheus text: jobs finished, provider
//! calls and their latency, limiter grants, parked messages, sweeper repairs), `GET /healthz`
//! (the process answers) and `GET /readyz` (it can do its job: both consumers subscribed and
//! Postgres, Redis and RabbitMQ reachable; 503 naming what is not, in the API's `/readyz`
//! shape). Bound to `MUZE__WORKER__METRICS_BIND`; the default port 0 picks a free one
//! (logged), so several workers on one host never collide — give each a fixed port in
//! production.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use metrics_exporter_prometheus::PrometheusHandle;
use muze_shared::{queue::Broker, redis_conn::Redis};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::runtime::consume::Subscribed;

/// A dependency that does not answer within this is reported as failing. Short, because a
/// readiness probe is itself on a timeout (typically 1-5 s).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub pool: PgPool,
    pub redis: Redis,
    pub broker: Arc<Broker>,
    /// The search queue's consumer.
    pub search_consumer: Subscribed,
    /// The crawl queue's consumer.
    pub crawl_consumer: Subscribed,
}

/// State of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum CheckState {
    Ok,
    Unavailable,
}

/// Each check's state, as `/readyz` shows it.
#[derive(Debug, Serialize)]
struct Checks {
    postgres: CheckState,
    redis: CheckState,
    rabbitmq: CheckState,
    search_consumer: CheckState,
    crawl_consumer: CheckState,
}

impl Checks {
    /// What is down, in words for the message.
    fn failing(&self) -> Vec<&'static str> {
        [
            ("Postgres unreachable", self.postgres),
            ("Redis unreachable", self.redis),
            ("RabbitMQ unreachable", self.rabbitmq),
            ("no consumer on the search queue", self.search_consumer),
            ("no consumer on the crawl queue", self.crawl_consumer),
        ]
        .into_iter()
        .filter(|(_, state)| *state != CheckState::Ok)
        .map(|(what, _)| what)
        .collect()
    }
}

/// A bound operations listener.
#[derive(Debug)]
pub struct Ops {
    listener: TcpListener,
    handle: PrometheusHandle,
    readiness: Readiness,
}

#[derive(Clone)]
struct OpsState {
    handle: PrometheusHandle,
    readiness: Readiness,
}

impl Ops {
    /// Binds `bind`.
    pub async fn bind(
        bind: &str,
        handle: PrometheusHandle,
        readiness: Readiness,
    ) -> anyhow::Result<Ops> {
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind} (MUZE__WORKER__METRICS_BIND)"))?;
        Ok(Ops {
            listener,
            handle,
            readiness,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let app = Router::new()
            .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(OpsState {
                handle: self.handle,
                readiness: self.readiness,
            });
        if let Err(e) = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "operations endpoint stopped");
        }
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.handle.render(),
    )
        .into_response()
}

async fn readyz(State(state): State<OpsState>) -> Response {
    let r = &state.readiness;
    let (postgres, redis, rabbitmq) = tokio::join!(
        check(async { sqlx::query("SELECT 1").execute(&r.pool).await.is_ok() }),
        check(r.redis.is_ready()),
        check(r.broker.is_ready()),
    );
    let up = |s: &Subscribed| {
        if s.get() {
            CheckState::Ok
        } else {
            CheckState::Unavailable
        }
    };
    let checks = Checks {
        postgres,
        redis,
        rabbitmq,
        search_consumer: up(&r.search_consumer),
        crawl_consumer: up(&r.crawl_consumer),
    };
    let failing = checks.failing();
    if failing.is_empty() {
        return Json(json!({"status": "ready", "checks": checks})).into_response();
    }
    let message = format!("Not ready: {}.", failing.join(", "));
    tracing::warn!(readiness.failing = %failing.join(", "), "not ready");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "error": {"code": "unavailable", "message": message},
            "checks": checks,
        })),
    )
        .into_response()
}

async fn check(probe: impl Future<Output = bool>) -> CheckState {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(true) => CheckState::Ok,
        _ => CheckState::Unavailable,
    }
}
