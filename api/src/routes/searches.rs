//! `POST /v1/searches` and `GET /v1/searches/{id}`: where a search starts and where its
//! answer is collected.
//!
//! A new search becomes a job row in Postgres (or joins the identical one already in flight),
//! then a message on RabbitMQ, published with confirmation. Postgres is the truth: the row
//! commits first, and if the message cannot be published the row is failed at once, so no job
//! is left that would never run. Workers (`worker/`) answer the job and announce it with
//! `NOTIFY`, which carries the finished search; a long-poll here wakes on that and answers with
//! it (see `notify.rs`).

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{
        rejection::{BytesRejection, PathRejection, QueryRejection},
        DefaultBodyLimit, Path, Query, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use chrono::Utc;
use muze_shared::{
    db::{
        catalog,
        searches::{self, Enqueued, NewSearch},
    },
    domain::{SearchError, SearchView},
    metric_families,
    queue::{Route, SearchMessage},
    stage::{self, Stage},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    json_body::MAX_BODY_BYTES,
    params::{self, WaitParams},
    search_request::{RawSearchRequest, SearchRequest},
};
use crate::{
    auth::Caller,
    client_limit::{self, Class},
    error::ApiError,
    notify::Waited,
    state::AppState,
    status::tally::Answered,
};

/// The error a search gets when its job could not be queued.
const NOT_QUEUED_CODE: &str = "unavailable";
const NOT_QUEUED_MESSAGE: &str = "The search could not be queued.";

/// The search routes, relative to `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(show))
        .route_layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Starts a search, or joins the identical one in flight.
#[utoipa::path(
    post,
    path = "/searches",
    operation_id = "create_search",
    tag = "searches",
    request_body(content = RawSearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Answered from our own catalog, no upstream call: `status` is `succeeded`, `source` is `catalog`.",
            body = SearchView, example = super::examples::search_from_catalog),
        (status = 202, description = "A job is queued, or this request joined the identical one in flight (same id).",
            body = SearchView,
            headers(("Location" = String, description = "`/v1/searches/{id}`, where the search is polled")), example = super::examples::search_queued),
        (status = 400, description = "`invalid_json`, `unknown_field`, `missing_query`, `invalid_query`, `empty_query`, `control_characters`, `query_too_long`, `invalid_type` or `invalid_limit`", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 16 KiB", body = crate::error::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = crate::error::ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`: the queue or database is unreachable; nothing half-written remains", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let received = stage::start();
    let request = SearchRequest::parse(&headers, body)?;
    let new = NewSearch {
        id: Uuid::now_v7(),
        normalized: request.query.normalize(),
        query: request.query,
        search_type: request.search_type,
        limit: request.limit,
        deadline_at: Utc::now() + state.search.deadline,
    };
    let key = (
        new.normalized.as_str().to_string(),
        new.search_type.as_str(),
        new.limit.get(),
    );
    if let Some(body) = state.answers.get(&key) {
        metrics::counter!(metric_families::CATALOG_ANSWERS, "kind" => "fresh").increment(1);
        catalog_lookup("hit");
        state.status.tally.count(Answered::Catalog);
        return Ok(json_response(StatusCode::OK, body));
    }
    if let Some((view, fresh_for)) = from_catalog(&state, &new).await? {
        catalog_lookup("hit");
        let view = for_client(view);
        let body =
            Bytes::from(serde_json::to_vec(&view).map_err(|e| ApiError::Internal(e.into()))?);
        if let Some(fresh_for) = fresh_for {
            state.answers.put(key, body.clone(), fresh_for);
        }
        state.status.tally.count(Answered::Catalog);
        return Ok(json_response(StatusCode::OK, body));
    }
    catalog_lookup("miss");
    let looked_up = stage::start();
    // Only a search that goes upstream spends the key's search allowance.
    client_limit::spend(&state, &caller, Class::Searches).await?;
    let allowed = stage::start();
    let view =
        match searches::create_or_join(&state.pool, &new, state.search.cache_ttl_secs).await? {
            Enqueued::Created(view) => {
                let id = view.id;
                stage::mark_at(Stage::Received, Some(id), received);
                stage::mark_at(Stage::LookedUp, Some(id), looked_up);
                stage::mark_at(Stage::Allowed, Some(id), allowed);
                stage::mark(Stage::Inserted, Some(id));
                publish(&state, id, &new, false).await?;
                stage::mark(Stage::Confirmed, Some(id));
                *view
            }
            Enqueued::Joined(id) => {
                metrics::counter!(metric_families::SEARCHES_JOINED).increment(1);
                // The joined job may have moved on (running, or finished with its answer).
                searches::view(&state.pool, id).await?.ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("search {id} vanished after joining it"))
                })?
            }
        };
    let view = for_client(view);
    let id = view.id;
    state.status.tally.count(Answered::Upstream);
    stage::mark(Stage::Accepted, Some(id));
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/searches/{id}"))],
        Json(view),
    )
        .into_response())
}

/// Counts a search's catalog lookup: `hit` (answered 200 from our catalog) or `miss` (it goes
/// upstream), so the hit ratio is `hit / (hit + miss)`.
fn catalog_lookup(result: &'static str) {
    metrics::counter!(metric_families::CATALOG_LOOKUPS, "result" => result).increment(1);
}

/// Our own catalog's answer, if it has one: the stored answer to the same search (a stale one
/// is served and refreshed in the background), else the tracks the query names. With a
/// fresh stored answer comes how long it stays fresh.
async fn from_catalog(
    state: &AppState,
    new: &NewSearch,
) -> Result<Option<(SearchView, Option<std::time::Duration>)>, ApiError> {
    let found = catalog::look_up(&state.pool, new, state.search.cache_ttl_secs).await?;
    match found.stored {
        Some(stored) if !stored.view.results.is_empty() => {
            Ok(Some(serve_stored(state, new, stored)))
        }
        // "No results" stored for this phrasing (a typo the provider did not recognise, a song
        // it did not know then) gives way to the tracks the query names in the catalog now.
        empty => match found.named {
            Some((kind, tracks)) => {
                metrics::counter!(metric_families::CATALOG_ANSWERS, "kind" => kind.as_str())
                    .increment(1);
                Ok(Some((
                    catalog::record_answer(&state.pool, new, tracks).await?,
                    None,
                )))
            }
            None => Ok(empty.map(|stored| serve_stored(state, new, stored))),
        },
    }
}

/// A stored answer as served: a stale one is refreshed in the background.
fn serve_stored(
    state: &AppState,
    new: &NewSearch,
    stored: catalog::StoredAnswer,
) -> (SearchView, Option<std::time::Duration>) {
    metrics::counter!(metric_families::CATALOG_ANSWERS, "kind" => if stored.stale { "stale" } else { "fresh" })
        .increment(1);
    if stored.stale {
        let state = state.clone();
        let refresh = new.clone();
        tokio::spawn(async move { refresh_in_background(&state, &refresh).await });
    }
    let fresh_for = (!stored.stale).then_some(stored.fresh_for);
    (stored.view, fresh_for)
}

/// Queues one refresh of a stale answer. Identical refreshes in flight share one job, so a
/// stale answer is refreshed once however many users ask meanwhile.
async fn refresh_in_background(state: &AppState, new: &NewSearch) {
    let outcome = async {
        if let Enqueued::Created(view) =
            searches::create_or_join(&state.pool, new, state.search.cache_ttl_secs).await?
        {
            publish(state, view.id, new, true).await?;
        }
        Ok::<(), ApiError>(())
    };
    if let Err(e) = outcome.await {
        tracing::warn!(error = %e, "could not queue the refresh of a stale answer");
    }
}

/// A JSON body already serialized.
fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Publishes the job's message. If RabbitMQ does not take it, fails the job (so nothing waits
/// for a message that will never come) and answers 503.
async fn publish(
    state: &AppState,
    id: Uuid,
    new: &NewSearch,
    refresh: bool,
) -> Result<(), ApiError> {
    let message = SearchMessage {
        search_id: id,
        query: new.query.clone(),
        normalized: new.normalized.clone(),
        search_type: new.search_type,
        limit: new.limit,
        deadline_at: new.deadline_at,
        retries: 0,
        refresh,
    };
    match state.broker.send(&message, Route::Now).await {
        Ok(_) => {
            // Tells the sweeper the message exists, off the response path (`published.rs`).
            state.published.confirmed(id);
            Ok(())
        }
        Err(publish_error) => {
            let error = SearchError {
                code: NOT_QUEUED_CODE.into(),
                message: NOT_QUEUED_MESSAGE.into(),
            };
            if let Err(e) =
                searches::fail(&state.pool, &state.search.done_channel, id, &[], &error).await
            {
                tracing::error!(search.id = %id, error = %e,
                    "could not fail an unpublished search; the sweeper will publish it");
            }
            Err(ApiError::Unavailable(
                anyhow::Error::new(publish_error).context(format!("while publishing search {id}")),
            ))
        }
    }
}

/// A search's current state; with `wait`, a long-poll until it is final.
#[utoipa::path(
    get,
    path = "/searches/{id}",
    operation_id = "show_search",
    tag = "searches",
    params(("id" = Uuid, Path, description = "The search id from `POST /v1/searches`"), WaitParams),
    responses(
        (status = 200, description = "The search: final, or as it stands when `wait` ran out", body = SearchView,
            example = super::examples::search_succeeded),
        (status = 400, description = "`invalid_id` or `invalid_wait`", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<WaitParams>, QueryRejection>,
) -> Result<Json<SearchView>, ApiError> {
    let id = params::id(path)?;
    let wait = params::wait(query)?;
    if wait.is_zero() {
        return current(&state, id).await.map(Json);
    }
    // A waiting long-poll holds a connection and a notifier entry; past the cap the client is
    // told to come back rather than queued, so a flood of waits cannot starve other requests.
    let Ok(_slot) = state.long_polls.clone().try_acquire_owned() else {
        return Err(ApiError::Overloaded {
            retry_after_secs: LONG_POLL_RETRY_AFTER_SECS,
        });
    };
    let _waiting = WaitingGauge::enter();
    // Subscribe first: a search finishing between our read and our wait still wakes us.
    let subscription = state.notifier.subscribe(id);
    let view = current(&state, id).await?;
    if view.status.is_final() {
        stage::mark(Stage::Answered, Some(id));
        return Ok(Json(view));
    }
    // The notification carries the finished search; only without it is the search read.
    let view = match subscription.wait(wait).await {
        Waited::Woken(Some(finished)) if finished.id == id && finished.status.is_final() => {
            for_client(Arc::unwrap_or_clone(finished))
        }
        Waited::Woken(_) | Waited::TimedOut => current(&state, id).await?,
    };
    if view.status.is_final() {
        stage::mark(Stage::Answered, Some(id));
    }
    Ok(Json(view))
}

/// Seconds a long-poll refused for the cap is told to wait: about how long a poll slot takes
/// to free when searches are being answered.
const LONG_POLL_RETRY_AFTER_SECS: u64 = 2;

/// Counts waiting long-polls in the `muze_long_poll_waiters` gauge while it lives.
#[derive(Debug)]
struct WaitingGauge;

impl WaitingGauge {
    fn enter() -> WaitingGauge {
        metrics::gauge!(metric_families::LONG_POLL_WAITERS).increment(1.0);
        WaitingGauge
    }
}

impl Drop for WaitingGauge {
    fn drop(&mut self) {
        metrics::gauge!(metric_families::LONG_POLL_WAITERS).decrement(1.0);
    }
}

async fn current(state: &AppState, id: Uuid) -> Result<SearchView, ApiError> {
    searches::view(&state.pool, id)
        .await?
        .map(for_client)
        .ok_or(ApiError::NotFound("No search has this id."))
}

/// The search as a client sees it: each attempt says which provider and how it ended, not the
/// provider's own words (error text can name hosts and connections). The detail stays in
/// Postgres and in the worker's log.
fn for_client(mut view: SearchView) -> SearchView {
    for attempt in &mut view.attempts {
        attempt.detail = None;
    }
    view
}
