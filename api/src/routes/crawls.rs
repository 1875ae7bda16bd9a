//! `POST /v1/admin/crawls` and `GET /v1/admin/crawls/{id}`: an operator starts a new-release
//! crawl now, outside the scheduler's cron, and follows its progress (admin key required,
//! enforced by `auth` for the whole `/v1/admin` prefix).
//!
//! Starting a crawl is what a scheduler tick does (`muze_shared::crawl::start`): the crawl and
//! its root pages become rows in Postgres, then each page is published, confirmed, to the crawl
//! queue, where workers (`worker/`) fetch it and fan out. Postgres is the truth: a page the
//! broker did not take stays unpublished and the workers' sweeper publishes it later, so the
//! crawl is accepted once its rows are committed.

use axum::{
    body::Bytes,
    extract::{
        rejection::{BytesRejection, PathRejection},
        DefaultBodyLimit, Path, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use muze_shared::{
    crawl,
    db::crawls::{self, CrawlView, Trigger},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    crawl_request::{CrawlRequest, RawCrawlRequest},
    json_body::MAX_BODY_BYTES,
    params,
};
use crate::{auth::Caller, error::ApiError, state::AppState};

/// The crawl routes, relative to `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(show))
        .route_layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Starts a new-release crawl now.
#[utoipa::path(
    post,
    path = "/admin/crawls",
    operation_id = "start_crawl",
    tag = "admin",
    request_body(content = Option<RawCrawlRequest>, content_type = "application/json",
        description = "Optional. No body (or `{}`) crawls the configured sources, `MUZE__CRAWL__SOURCES`."),
    responses(
        (status = 202, description = "The crawl is started: its root pages are queued for the workers.",
            body = CrawlView,
            headers(("Location" = String, description = "`/v1/admin/crawls/{id}`, where the crawl is followed")), example = super::examples::crawl_started),
        (status = 400, description = "`invalid_json`, `unknown_field` or `invalid_sources` (an unknown provider, or one without a new-release listing)", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin key", body = crate::error::ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 16 KiB", body = crate::error::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: a body not sent as `application/json`", body = crate::error::ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`: the database is unreachable; no crawl was started", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request = CrawlRequest::parse(&headers, body)?;
    let sources = request
        .sources
        .unwrap_or_else(|| state.crawl_sources.to_vec());
    let started = crawl::start(&state.pool, &state.broker, Trigger::Admin, &sources).await?;
    metrics::counter!(muze_shared::metric_families::CRAWLS_STARTED, "trigger" => "admin")
        .increment(1);
    let id = started.id;
    tracing::info!(
        crawl.id = %id,
        crawl.sources = ?sources,
        crawl.root_pages = started.pages.len(),
        api.key_id = caller.as_ref().map_or("", |Extension(c)| c.key_id.as_str()),
        "crawl started by an operator"
    );
    let view = crawls::view(&state.pool, id).await?.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("crawl {id} vanished after it was started"))
    })?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/admin/crawls/{id}"))],
        Json(view),
    )
        .into_response())
}

/// A crawl's progress: pages by state, tracks added, recent page errors.
#[utoipa::path(
    get,
    path = "/admin/crawls/{id}",
    operation_id = "show_crawl",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The crawl id from `POST /v1/admin/crawls` or a scheduler tick")),
    responses(
        (status = 200, description = "The crawl as it stands", body = CrawlView,
            example = super::examples::crawl_started),
        (status = 400, description = "`invalid_id`", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin key", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<CrawlView>, ApiError> {
    let id = params::id(path)?;
    current(&state, id).await.map(Json)
}

async fn current(state: &AppState, id: Uuid) -> Result<CrawlView, ApiError> {
    crawls::view(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("No crawl has this id."))
}
