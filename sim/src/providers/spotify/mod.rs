//! Spotify Web API stand-in under `/spotify`: the client-credentials token endpoint
//! (`/spotify/api/token`, standing for accounts.spotify.com) and the Web API
//! (`/spotify/v1/...`): search, album tracks, albums, tracks, artists and artist albums.

mod api;
mod auth;
mod objects;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::call::Failure;
use crate::config::ProviderLimitConfig;
use crate::provider::SimProvider;
use crate::state::SimHandle;
use crate::wire;

pub(crate) use auth::TokenStore;

/// Where it lives under the sim's port and its real kind of limit.
pub(crate) const SIM: SimProvider = SimProvider {
    name: "spotify",
    base_path: "/spotify/v1",
    // Spotify: 300 calls per rolling 30 s (the token endpoint does not count).
    limits: ProviderLimitConfig::rolling(300, 30_000),
};

/// Spotify's routes.
pub(crate) fn router() -> Router<SimHandle> {
    Router::new()
        .route("/spotify/api/token", post(auth::token))
        .route("/spotify/v1/search", get(api::search))
        .route("/spotify/v1/albums/{id}/tracks", get(api::album_tracks))
        .route("/spotify/v1/albums/{id}", get(api::album))
        .route("/spotify/v1/tracks/{id}", get(api::track))
        .route("/spotify/v1/artists/{id}", get(api::artist))
        .route("/spotify/v1/artists/{id}/albums", get(api::artist_albums))
}

/// Spotify's error object: `{"error": {"status": N, "message": "..."}}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    wire::json(
        status,
        &json!({"error": {"status": status.as_u16(), "message": message}}),
    )
}

/// Outages, server errors, 429s and malformed bodies as Spotify sends them.
pub(crate) fn failure(failure: Failure) -> Response {
    match failure {
        Failure::Outage => error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
        Failure::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Server error"),
        Failure::RateLimited { retry_after_secs } => wire::with_header(
            error(StatusCode::TOO_MANY_REQUESTS, "API rate limit exceeded"),
            "retry-after",
            retry_after_secs,
        ),
        Failure::Malformed => wire::malformed(
            r#"{"tracks":{"href":"https://api.spotify.com/v1/search?query=x&type=track&offset=0&limit=5","items":[{"album":{"album_type":"album","artists":[{"external_urls":{"spotify":"https://open.spotify.com/artist/"#,
        ),
    }
}
