//! `GET /v1/tracks?q=` and `GET /v1/tracks/{id}`: our own catalog, never an upstream call.
//!
//! The catalog is what workers have stored from provider answers, one track per song with a
//! link per provider. Searching it uses the normalized text and Postgres trigram matching.

use axum::{
    extract::{
        rejection::{PathRejection, QueryRejection},
        Path, Query, State,
    },
    Json,
};
use muze_shared::{db::tracks, domain::Track};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::params::{self, CatalogParams};
use crate::{error::ApiError, state::AppState};

/// The catalog routes, relative to `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(show))
}

/// Tracks found in the catalog, best match first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrackList {
    pub results: Vec<Track>,
}

/// Searches the catalog by title and artist.
#[utoipa::path(
    get,
    path = "/tracks",
    operation_id = "search_catalog",
    tag = "catalog",
    params(CatalogParams),
    responses(
        (status = 200, description = "Matching catalog tracks, exact title matches first, then by similarity", body = TrackList,
            example = super::examples::track_list),
        (status = 400, description = "`invalid_query`, `control_characters` or `invalid_limit`", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    query: Result<Query<CatalogParams>, QueryRejection>,
) -> Result<Json<TrackList>, ApiError> {
    let request = params::catalog_search(query)?;
    let normalized = request.query.normalize();
    // A query of only punctuation normalizes to nothing, which would match every track.
    let results = if normalized.as_str().is_empty() {
        Vec::new()
    } else {
        tracks::search(
            &state.pool,
            normalized.as_str(),
            i64::from(request.limit.get()),
        )
        .await?
    };
    Ok(Json(TrackList { results }))
}

/// One catalog track.
#[utoipa::path(
    get,
    path = "/tracks/{id}",
    operation_id = "show_track",
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Our track id")),
    responses(
        (status = 200, description = "The track with all its provider links", body = Track,
            example = super::examples::one_track),
        (status = 400, description = "`invalid_id`", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Track>, ApiError> {
    let id: Uuid = params::id(path)?;
    tracks::get(&state.pool, id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("No track has this id."))
}
