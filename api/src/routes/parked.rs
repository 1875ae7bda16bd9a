//! `/v1/admin/parked/{kind}`: the messages workers (or the broker, at its delivery limit)
//! parked, for an operator (admin key required, enforced by `auth` for the whole `/v1/admin`
//! prefix). `kind` is `search` or `crawl`.
//!
//! - `GET` lists the oldest parked messages with their reason, age and a summary of what they
//!   carry, and how many are parked in all;
//! - `POST .../redrive` moves back to the work queue the messages named by `ids`, those whose
//!   reason contains `reason_contains`, or `all` of them, once the cause is fixed;
//! - `DELETE` drops them all.

use axum::{
    body::Bytes,
    extract::{
        rejection::{BytesRejection, PathRejection, QueryRejection},
        DefaultBodyLimit, Path, Query, State,
    },
    http::HeaderMap,
    Json,
};
use chrono::{DateTime, Utc};
use muze_shared::queue::{CrawlMessage, JobMessage, JobQueues, ParkedMessage, SearchMessage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json_body::{self, MAX_BODY_BYTES};
use crate::{error::ApiError, state::AppState};

/// Messages listed at most per request.
const MAX_LIST: usize = 500;
/// Messages listed when `limit` is not given.
const DEFAULT_LIST: usize = 50;

/// The parked-message routes, relative to `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, purge))
        .routes(routes!(redrive))
        .route_layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// A kind of job with a parking queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Search,
    Crawl,
}

impl JobKind {
    fn parse(path: Result<Path<String>, PathRejection>) -> Result<JobKind, ApiError> {
        match path.as_ref().map(|Path(kind)| kind.as_str()) {
            Ok("search") => Ok(JobKind::Search),
            Ok("crawl") => Ok(JobKind::Crawl),
            _ => Err(ApiError::NotFound(
                "No such kind of job: parked messages are under `search` or `crawl`.",
            )),
        }
    }

    fn queues(self, state: &AppState) -> &JobQueues {
        let topology = state.broker.topology();
        match self {
            JobKind::Search => &topology.search,
            JobKind::Crawl => &topology.crawl,
        }
    }

    /// What a message of this kind carries, in a line.
    fn summary(self, body: &[u8]) -> String {
        let read = match self {
            JobKind::Search => SearchMessage::from_json(body)
                .map(|m| format!("search {} for {:?}", m.search_id, m.query.as_str())),
            JobKind::Crawl => CrawlMessage::from_json(body)
                .map(|m| format!("crawl {} page {}", m.crawl_id, m.key)),
        };
        read.unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(body);
            let head: String = text.chars().take(80).collect();
            format!("unreadable ({} bytes): {head:?}", body.len())
        })
    }
}

/// `?limit=`: how many parked messages to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many of the oldest parked messages to show, 1 to 500 (default 50).
    #[param(value_type = Option<u16>, minimum = 1, maximum = 500)]
    limit: Option<String>,
}

/// One parked message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParkedEntry {
    /// The message id: a search's id, or a crawl page's `crawl_id/key`. Names the message
    /// for a re-drive.
    pub id: String,
    /// Why it was parked.
    pub reason: String,
    /// When it was parked, when known (messages the broker dead-lettered itself carry none).
    pub parked_at: Option<DateTime<Utc>>,
    /// Seconds since it was parked, when known.
    pub age_secs: Option<i64>,
    /// What it carries, in a line.
    pub summary: String,
}

/// The parked messages of one kind.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParkedList {
    pub kind: JobKind,
    /// Messages parked in all.
    pub total: u64,
    /// The oldest of them.
    pub messages: Vec<ParkedEntry>,
}

fn entry(kind: JobKind, message: &ParkedMessage, now: DateTime<Utc>) -> ParkedEntry {
    ParkedEntry {
        id: message.message_id.clone(),
        reason: message.reason.clone(),
        parked_at: message.parked_at,
        age_secs: message.parked_at.map(|t| (now - t).num_seconds().max(0)),
        summary: kind.summary(&message.body),
    }
}

/// Lists the oldest parked messages of one kind.
#[utoipa::path(
    get,
    path = "/admin/parked/{kind}",
    operation_id = "list_parked",
    tag = "admin",
    params(("kind" = String, Path, description = "`search` or `crawl`"), ListParams),
    responses(
        (status = 200, description = "The oldest parked messages, with why and since when", body = ParkedList,
            example = super::examples::parked),
        (status = 400, description = "`invalid_limit`: `limit` is not a whole number from 1 to 500", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin key", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`: no such kind of job", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`: RabbitMQ unreachable", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    kind: Result<Path<String>, PathRejection>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ParkedList>, ApiError> {
    let kind = JobKind::parse(kind)?;
    let limit = match params.map_err(|_| ApiError::InvalidParkedLimit)?.0.limit {
        None => DEFAULT_LIST,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIST).contains(n))
            .ok_or(ApiError::InvalidParkedLimit)?,
    };
    let page = state
        .broker
        .parked(kind.queues(&state), limit)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    let now = Utc::now();
    Ok(Json(ParkedList {
        kind,
        total: page.total,
        messages: page.messages.iter().map(|m| entry(kind, m, now)).collect(),
    }))
}

/// Which parked messages to re-drive: exactly one of `ids`, `reason_contains` and `all`.
/// (The document's shape; the body is read by [`Pick::parse`], which says what is wrong.)
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum RedriveRequest {
    Ids(RedriveIds),
    Reason(RedriveReason),
    All(RedriveAll),
}

/// The messages with these ids, as the list shows them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedriveIds {
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<String>,
}

/// The messages whose reason contains this text (case-insensitive).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedriveReason {
    #[schema(min_length = 1, max_length = 200)]
    pub reason_contains: String,
}

/// Every parked message of the kind (`false` moves none).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedriveAll {
    pub all: bool,
}

const REDRIVE_FIELDS: [&str; 3] = ["ids", "reason_contains", "all"];
const REDRIVE_EXPECTED: &str = "a re-drive takes exactly one of `ids`, `reason_contains` and `all`";

/// The filter a re-drive request names.
#[derive(Debug, PartialEq, Eq)]
enum Pick {
    Ids(Vec<String>),
    ReasonContains(String),
    All,
    None,
}

impl Pick {
    fn parse(bytes: &[u8]) -> Result<Pick, ApiError> {
        let object = json_body::object(bytes, &REDRIVE_FIELDS, REDRIVE_EXPECTED)?;
        let invalid = |m: &str| ApiError::InvalidRedrive(m.to_string());
        if object.len() != 1 {
            return Err(invalid(
                "Name exactly one of `ids`, `reason_contains` and `all` (`true`).",
            ));
        }
        let (field, value) = object.into_iter().next().expect("one field");
        match (field.as_str(), value) {
            ("ids", Value::Array(items)) if !items.is_empty() && items.len() <= MAX_LIST => items
                .into_iter()
                .map(|item| match item {
                    Value::String(id) => Ok(id),
                    _ => Err(invalid(
                        "Each of `ids` must be a message id (a text) as listed.",
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Pick::Ids),
            ("ids", _) => Err(invalid("`ids` must be a list of 1 to 500 message ids.")),
            ("reason_contains", Value::String(text))
                if !text.is_empty() && text.chars().count() <= 200 =>
            {
                Ok(Pick::ReasonContains(text.to_lowercase()))
            }
            ("reason_contains", _) => Err(invalid(
                "`reason_contains` must be a text of 1 to 200 characters.",
            )),
            ("all", Value::Bool(true)) => Ok(Pick::All),
            ("all", Value::Bool(false)) => Ok(Pick::None),
            _ => Err(invalid(
                "`all` must be `true` (or `false`, which moves none).",
            )),
        }
    }

    fn picks(&self, message: &ParkedMessage) -> bool {
        match self {
            Pick::Ids(ids) => ids.contains(&message.message_id),
            Pick::ReasonContains(text) => message.reason.to_lowercase().contains(text),
            Pick::All => true,
            Pick::None => false,
        }
    }
}

/// What a re-drive did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Redriven {
    /// Messages moved back to the work queue.
    pub redriven: u64,
    /// Parked messages the filter left in place.
    pub kept: u64,
}

/// Moves parked messages back to their work queue.
#[utoipa::path(
    post,
    path = "/admin/parked/{kind}/redrive",
    operation_id = "redrive_parked",
    tag = "admin",
    params(("kind" = String, Path, description = "`search` or `crawl`")),
    request_body(content = RedriveRequest, content_type = "application/json",
        description = "Exactly one of `ids`, `reason_contains` and `all`."),
    responses(
        (status = 200, description = "How many moved and how many stayed", body = Redriven,
            example = super::examples::redriven),
        (status = 400, description = "`invalid_json`, `unknown_field` or `invalid_redrive` (not exactly one valid filter)", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin key", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`: no such kind of job", body = crate::error::ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 16 KiB", body = crate::error::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: a body not sent as `application/json`", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`: RabbitMQ unreachable; messages not yet moved stay parked", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn redrive(
    State(state): State<AppState>,
    kind: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Redriven>, ApiError> {
    let kind = JobKind::parse(kind)?;
    let pick = Pick::parse(&json_body::bytes(&headers, body)?)?;
    let (redriven, kept) = state
        .broker
        .redrive(kind.queues(&state), |m| pick.picks(m))
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(Json(Redriven { redriven, kept }))
}

/// What a purge did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Purged {
    /// Messages dropped.
    pub purged: u32,
}

/// Drops every parked message of one kind.
#[utoipa::path(
    delete,
    path = "/admin/parked/{kind}",
    operation_id = "purge_parked",
    tag = "admin",
    params(("kind" = String, Path, description = "`search` or `crawl`")),
    responses(
        (status = 200, description = "How many were dropped", body = Purged,
            example = super::examples::purged),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin key", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`: no such kind of job", body = crate::error::ErrorBody),
        (status = 503, description = "`unavailable`: RabbitMQ unreachable", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn purge(
    State(state): State<AppState>,
    kind: Result<Path<String>, PathRejection>,
) -> Result<Json<Purged>, ApiError> {
    let kind = JobKind::parse(kind)?;
    let purged = state
        .broker
        .purge_parked(kind.queues(&state))
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(Json(Purged { purged }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(bytes: &[u8]) -> &'static str {
        Pick::parse(bytes).expect_err("refused").code()
    }

    #[test]
    fn a_redrive_names_exactly_one_valid_filter() {
        assert_eq!(
            Pick::parse(br#"{"ids":["a","b"]}"#).ok(),
            Some(Pick::Ids(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            Pick::parse(br#"{"reason_contains":"No Search"}"#).ok(),
            Some(Pick::ReasonContains("no search".into()))
        );
        assert_eq!(Pick::parse(br#"{"all":true}"#).ok(), Some(Pick::All));
        assert_eq!(code(br#"{}"#), "invalid_redrive");
        assert_eq!(code(br#"{"all":true,"ids":["a"]}"#), "invalid_redrive");
        assert_eq!(Pick::parse(br#"{"all":false}"#).ok(), Some(Pick::None));
        assert_eq!(code(br#"{"all":1}"#), "invalid_redrive");
        assert_eq!(code(br#"{"ids":[]}"#), "invalid_redrive");
        assert_eq!(code(br#"{"ids":[1]}"#), "invalid_redrive");
        assert_eq!(code(br#"{"reason_contains":""}"#), "invalid_redrive");
        assert_eq!(code(br#"{"every":true}"#), "unknown_field");
        assert_eq!(code(b"[]"), "invalid_json");
    }
}
