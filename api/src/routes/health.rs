//! `GET /healthz`, `GET /readyz` and `GET /metrics`: for orchestrators and Prometheus, no key.
//!
//! `healthz` says the process answers. `readyz` checks the three dependencies concurrently,
//! each within [`CHECK_TIMEOUT`], and names the failing ones, so a load balancer stops sending
//! traffic to a process that cannot do its job.

use std::{future::Future, time::Duration};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::ErrorDetail, state::AppState};

/// A dependency that does not answer within this is reported as failing. Short, because a
/// readiness probe is itself on a timeout (typically 1-5 s).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The health routes, at the root.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// `{"status": "ok"}` or `{"status": "ready", ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// State of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Ok,
    Unavailable,
}

/// Each dependency's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Checks {
    pub postgres: CheckState,
    pub redis: CheckState,
    pub rabbitmq: CheckState,
}

impl Checks {
    fn failing(&self) -> Vec<&'static str> {
        [
            ("Postgres", self.postgres),
            ("Redis", self.redis),
            ("RabbitMQ", self.rabbitmq),
        ]
        .into_iter()
        .filter(|(_, state)| *state != CheckState::Ok)
        .map(|(name, _)| name)
        .collect()
    }
}

/// 200 from `/readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: &'static str,
    pub checks: Checks,
}

/// 503 from `/readyz`: the usual error, plus every dependency's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotReady {
    pub error: ErrorDetail,
    pub checks: Checks,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health, example = json!({"status": "ok"}))))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Postgres, Redis and RabbitMQ are all reachable.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses(
        (status = 200, description = "Every dependency answers", body = Ready,
            example = json!({"status": "ready", "checks": {"postgres": "ok", "redis": "ok", "rabbitmq": "ok"}})),
        (status = 503, description = "`unavailable`; the message names the failing dependencies", body = NotReady),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (postgres, redis, rabbitmq) = tokio::join!(
        check(async { sqlx::query("SELECT 1").execute(&state.pool).await.is_ok() }),
        check(state.redis.is_ready()),
        check(state.broker.is_ready()),
    );
    let checks = Checks {
        postgres,
        redis,
        rabbitmq,
    };
    let failing = checks.failing();
    if failing.is_empty() {
        return Json(Ready {
            status: "ready",
            checks,
        })
        .into_response();
    }
    let message = format!("Not ready: {} unreachable.", failing.join(", "));
    tracing::warn!(readiness.failing = %failing.join(","), "not ready");
    let body = NotReady {
        error: ErrorDetail {
            code: crate::error::ErrorCode::Unavailable,
            message,
        },
        checks,
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

async fn check(probe: impl Future<Output = bool>) -> CheckState {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(true) => CheckState::Ok,
        _ => CheckState::Unavailable,
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain",
        example = "muze_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1\n")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
