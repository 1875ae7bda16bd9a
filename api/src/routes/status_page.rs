//! `GET /status`: the operators' live page, and its script and style. No key is needed to
//! load them (they hold no data); the page asks for an admin key and reads
//! `/v1/admin/status` with it.
//!
//! Everything is embedded in the binary (`include_str!`) and served from this origin only;
//! the Content-Security-Policy allows nothing else (no inline script or style, no other
//! origin, no framing).

use axum::{
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// The page's policy: scripts, styles, images and requests from this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'none'; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("../status/page/index.html");
const SCRIPT: &str = include_str!("../status/page/app.js");
const STYLE: &str = include_str!("../status/page/style.css");
const ICON: &str = include_str!("../status/page/favicon.svg");

/// The page and its assets, at the root.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .route("/status/app.js", get(script))
        .route("/status/style.css", get(style))
        .route("/status/favicon.svg", get(icon))
}

/// The operators' status page (HTML). It asks for an admin key, keeps it for the browser
/// session, and shows `/v1/admin/status` live, every 2 seconds.
#[utoipa::path(
    get,
    path = "/status",
    operation_id = "status_page",
    tag = "operations",
    responses(
        (status = 200, description = "The page (`text/html`); its data needs an admin key",
            content_type = "text/html", body = String, example = super::examples::status_page),
    )
)]
pub async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
