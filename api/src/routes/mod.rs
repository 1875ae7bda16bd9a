//! The HTTP routes, one file per resource. Each file has a `router()` of documented routes
//! (`utoipa-axum`); [`root`] and [`v1`] gather them, `crate::app` adds the layers, and
//! [`openapi`] renders the same routers' document.
//!
//! - [`searches`] — `POST /v1/searches`, `GET /v1/searches/{id}` (the flow's start and end).
//! - [`tracks`] — `GET /v1/tracks`, `GET /v1/tracks/{id}` (our catalog).
//! - [`admin`] — `/v1/admin/providers`, operator endpoints.
//! - [`crawls`] — `POST /v1/admin/crawls`, `GET /v1/admin/crawls/{id}` (new-release crawls started
//!   by an operator).
//! - [`parked`] — `/v1/admin/parked/{kind}`: list, re-drive and purge parked messages.
//! - [`status`] — `GET /v1/admin/status`, everything the operators' page shows.
//! - [`status_page`] — `GET /status`, that page (no key; it asks for one).
//! - [`health`] — `/healthz`, `/readyz`, `/metrics`.
//! - [`openapi`] — `/openapi.json`.
//! - [`fallback`] — JSON 404 and 405.
//! - [`search_request`], [`crawl_request`], [`json_body`] and [`params`] — turning request input
//!   into domain types.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub mod admin;
pub mod crawl_request;
pub mod crawls;
pub mod examples;
pub mod fallback;
pub mod health;
pub mod json_body;
pub mod openapi;
pub mod params;
pub mod parked;
pub mod search_request;
pub mod searches;
pub mod status;
pub mod status_page;
pub mod tracks;

/// The routes at the root: operations and the document. No key needed.
pub fn root() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(openapi::router())
        .merge(status_page::router())
}

/// The routes below `/v1` (paths relative to it). Every one needs a key.
pub fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(searches::router())
        .merge(tracks::router())
        // `auth` requires an admin key for every path below `/v1/admin`.
        .merge(admin::router())
        .merge(crawls::router())
        .merge(parked::router())
        .merge(status::router())
}
