//! The HTTP routes, one file per resource. Each file has a `router()`; `crate::app` merges
//! them and adds the layers.
//!
//! - [`searches`] — `POST /v1/searches`, `GET /v1/searches/{id}` (the flow's start and end).
//! - [`tracks`] — `GET /v1/tracks`, `GET /v1/tracks/{id}` (our catalog).
//! - [`admin`] — `/v1/admin/providers`, operator endpoints.
//! - [`crawls`] — `POST /v1/admin/crawls`, `GET /v1/admin/crawls/{id}` (new-release crawls started
//!   by an operator).
//! - [`health`] — `/healthz`, `/readyz`, `/metrics`.
//! - [`openapi`] — `/openapi.json`.
//! - [`fallback`] — JSON 404 and 405.
//! - [`search_request`], [`crawl_request`], [`json_body`] and [`params`] — turning request input
//!   into domain types.

pub mod admin;
pub mod crawl_request;
pub mod crawls;
pub mod fallback;
pub mod health;
pub mod json_body;
pub mod openapi;
pub mod params;
pub mod search_request;
pub mod searches;
pub mod tracks;
