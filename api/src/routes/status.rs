//! `GET /v1/admin/status` (admin key, enforced by `auth` for the whole `/v1/admin` prefix):
//! everything the operators' page at `/status` shows, as JSON. The reads are in
//! [`crate::status::gather`]; the shape, with where each number comes from, in
//! [`crate::status::report`].

use axum::{extract::State, Json};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::ApiError, state::AppState, status::report::StatusReport};

/// The status route, relative to `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status))
}

/// Provider budgets and health, queue depths, search rates and latency, the catalog hit
/// ratio, crawls and the next tick, parked messages: the operators' page in one read.
#[utoipa::path(
    get,
    path = "/admin/status",
    operation_id = "get_status",
    tag = "admin",
    responses(
        (status = 200, description = "The fleet's state now", body = StatusReport,
            example = super::examples::status),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin key", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`: Postgres, Redis or RabbitMQ unreachable", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn status(State(state): State<AppState>) -> Result<Json<StatusReport>, ApiError> {
    Ok(Json(crate::status::gather::report(&state).await?))
}
