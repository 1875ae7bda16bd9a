//! `GET /openapi.json`: the OpenAPI 3 document of this API, generated from the handlers'
//! `#[utoipa::path]` annotations and the domain types' schemas, so it cannot drift from the
//! code.

use std::sync::LazyLock;

use axum::{http::header, response::IntoResponse, routing::get, Router};
use utoipa::{
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi,
};

use super::{admin, crawls, health, searches, tracks};
use crate::{error::ErrorBody, state::AppState};

/// The document's root.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Muze Search API",
        description = "Search music across providers. POST a search, then poll (or long-poll) it. \
            `/v1/*` needs `Authorization: Bearer <key>`. Every error is \
            `{\"error\": {\"code\": \"<snake_case>\", \"message\": \"<one sentence>\"}}`."
    ),
    paths(
        searches::create,
        searches::show,
        tracks::search,
        tracks::show,
        admin::providers,
        crawls::create,
        crawls::show,
        health::healthz,
        health::readyz,
        health::metrics,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerKey),
    tags(
        (name = "searches", description = "Searches answered by upstream providers through the job queue"),
        (name = "catalog", description = "Our own catalog of tracks, never upstream"),
        (name = "admin", description = "Operator endpoints; admin key needed"),
        (name = "operations", description = "Health, readiness and metrics; no key needed"),
    )
)]
pub struct ApiDoc;

/// Declares the `api_key` bearer scheme the `/v1/*` operations refer to.
#[derive(Debug)]
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document, rendered once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
});

/// The document route, at the root.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}
