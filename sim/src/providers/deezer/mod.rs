//! Deezer public API stand-in under `/deezer`: `search` (tracks), `search/album`,
//! `track/{id}` (also `track/isrc:{ISRC}`), `album/{id}`, `album/{id}/tracks`,
//! `editorial/{id}/releases` and `chart/{id}/albums` (both: the new releases).
//!
//! Deezer reports errors with HTTP 200 and an `error` object — the quota error (50 calls per
//! 5 s per IP) is `{"type":"Exception","message":"Quota limit exceeded","code":4}`, an unknown
//! id `{"type":"DataException","message":"no data","code":800}`. Search items carry no ISRC;
//! `track/{id}` and album track lists do. `duration` is in seconds.
//!
//! Links to routes served here (`tracklist` of albums, `next`) point back at the simulator;
//! image links point at Deezer's hosts.

mod api;
mod objects;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::call::Failure;
use crate::config::ProviderLimitConfig;
use crate::provider::SimProvider;
use crate::state::SimHandle;
use crate::wire;

/// Where it lives under the sim's port and its real kind of limit.
pub(crate) const SIM: SimProvider = SimProvider {
    name: "deezer",
    base_path: "/deezer",
    // Deezer: 50 calls per 5 s.
    limits: ProviderLimitConfig::rolling(50, 5_000),
};

/// Deezer's routes.
pub(crate) fn router() -> Router<SimHandle> {
    Router::new()
        .route("/deezer/search", get(api::search_tracks))
        .route("/deezer/search/track", get(api::search_tracks))
        .route("/deezer/search/album", get(api::search_albums))
        .route("/deezer/track/{id}", get(api::track))
        .route("/deezer/album/{id}", get(api::album))
        .route("/deezer/album/{id}/tracks", get(api::album_tracks))
        .route("/deezer/editorial/{id}/releases", get(api::releases))
        .route("/deezer/chart/{id}/albums", get(api::chart_albums))
}

/// Deezer's error object, always with HTTP 200.
pub(crate) fn error(kind: &str, message: &str, code: u32) -> Response {
    wire::json(
        StatusCode::OK,
        &json!({"error": {"type": kind, "message": message, "code": code}}),
    )
}

/// Outages and server errors are real 5xx; the quota error is HTTP 200 with code 4.
pub(crate) fn failure(failure: Failure) -> Response {
    let body =
        |message: &str| json!({"error": {"type": "Exception", "message": message, "code": 700}});
    match failure {
        Failure::Outage => wire::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &body("Service temporarily unavailable"),
        ),
        Failure::ServerError => {
            wire::json(StatusCode::INTERNAL_SERVER_ERROR, &body("Internal error"))
        }
        Failure::RateLimited { .. } => error("Exception", "Quota limit exceeded", 4),
        Failure::Malformed => wire::malformed(
            r#"{"data":[{"id":3135553,"readable":true,"title":"One More Time","title_short":"One More Time","title_version":"","link":"https://www.deezer.com/track/3135553","duration":320,"rank":85186"#,
        ),
    }
}
