//! `/v1/admin/*`: operator endpoints (admin key required, enforced by `auth` for the whole
//! prefix).
//!
//! `GET /v1/admin/providers` shows each provider's shared budget as every worker sees it: the
//! configured limit and the one in force, calls in the current rolling window, cooldown after a
//! 429, calendar quota left, and circuit-breaker state. The crawl endpoints, also below
//! `/v1/admin`, are in [`super::crawls`].

use axum::{extract::State, Json};
use muze_shared::{domain::ProviderName, rate_limit::ProviderStatus};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::ApiError, state::AppState};

/// The admin routes, relative to `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(providers))
}

/// Every provider's limiter state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderList {
    pub providers: Vec<ProviderEntry>,
}

/// One provider: whether interactive searches use it, and its budget.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderEntry {
    /// Position in the interactive fallback order, if it is in it.
    pub fallback_position: Option<usize>,
    #[serde(flatten)]
    pub status: ProviderStatus,
}

/// Per provider: limit, calls in the current window, cooldown, quota left, circuit state.
#[utoipa::path(
    get,
    path = "/admin/providers",
    operation_id = "list_providers",
    tag = "admin",
    responses(
        (status = 200, description = "Each provider's shared budget and health", body = ProviderList,
            example = super::examples::providers),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin key", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`: Redis unreachable", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn providers(State(state): State<AppState>) -> Result<Json<ProviderList>, ApiError> {
    let mut providers = Vec::with_capacity(ProviderName::ALL.len());
    for name in ProviderName::ALL {
        let status = state
            .limiter
            .status(name)
            .await
            .map_err(|e| ApiError::Unavailable(e.into()))?;
        providers.push(ProviderEntry {
            fallback_position: state.search.providers.iter().position(|p| *p == name),
            status,
        });
    }
    Ok(Json(ProviderList { providers }))
}
