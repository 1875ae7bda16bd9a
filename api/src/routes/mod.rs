//! The HTTP routes, one file per resource. Each file has a `router()`; `crate::app` merges
//! them and adds the layers.
//!
//! - [`searches`] — `POST /v1/searches`, `GET /v1/searches/{id}` (the flow's start and end).
//! - [`tracks`] — `GET /v1/tracks`, `GET /v1/tracks/{id}` (our catalog).
//! - [`admin`] — `/v1/admin/*`, operator endpoints.
//! - [`health`] — `/healthz`, `/readyz`, `/metrics`.
//! - [`openapi`] — `/openapi.json`.
//! - [`fallback`] — JSON 404 and 405.
//! - [`search_request`] and [`params`] — turning request input into domain types.

pub mod admin;
pub mod fallback;
pub mod health;
pub mod openapi;
pub mod params;
pub mod search_request;
pub mod searches;
pub mod tracks;
