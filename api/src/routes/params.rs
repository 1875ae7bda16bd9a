//! Path and query-string parameters shared by the routes, parsed into what the handlers use.
//!
//! Handlers take the raw extractor results (`Result<Path<String>, _>`, `Result<Query<_>, _>`)
//! so that a malformed parameter becomes our JSON error with its specific code, not axum's
//! plain-text rejection.

use std::time::Duration;

use axum::extract::{
    rejection::{PathRejection, QueryRejection},
    Path, Query,
};
use muze_shared::domain::{self, ResultLimit};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;

/// The longest long-poll a client may ask for. Kept well under the server's request time limit
/// and under common proxy idle timeouts (60 s).
pub const MAX_WAIT_SECS: u64 = 30;

/// Longest query, in characters as sent (the domain's limit, counted before trimming so that
/// the document's `maxLength` is exactly the rule).
pub const MAX_QUERY_CHARS: usize = 200;

/// What a query's text must look like, as the OpenAPI document states it: no control
/// character anywhere (C0, DEL, C1) and at least one character that is not whitespace.
pub const QUERY_PATTERN: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

/// A user's query text (the body's `query`, the catalog's `q`) as a domain [`Query`]: at most
/// 200 characters as sent, not only whitespace, and free of control characters (NUL, line
/// breaks, ...) anywhere: Postgres cannot store NUL, and no title or artist has a line break.
/// Surrounding whitespace is trimmed. These are [`QUERY_PATTERN`] and `maxLength: 200`.
///
/// [`Query`]: domain::Query
pub fn query_text(field: &'static str, raw: &str) -> Result<domain::Query, ApiError> {
    if raw.trim().is_empty() {
        return Err(ApiError::EmptyQuery);
    }
    if raw.chars().any(char::is_control) {
        return Err(ApiError::ControlCharacters(field));
    }
    if raw.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::QueryTooLong);
    }
    domain::Query::parse(raw).map_err(|e| match e {
        domain::QueryError::TooLong => ApiError::QueryTooLong,
        _ => ApiError::EmptyQuery,
    })
}

/// An `{id}` path segment that must be a UUID.
pub fn id(path: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(raw) = path.map_err(|_| ApiError::InvalidId)?;
    Uuid::try_parse(&raw).map_err(|_| ApiError::InvalidId)
}

/// `?wait=<seconds>` of `GET /v1/searches/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitParams {
    /// Seconds (0 to 30) to wait for the search to reach a final state before answering.
    #[param(value_type = Option<u8>, minimum = 0, maximum = 30)]
    pub wait: Option<String>,
}

/// The requested long-poll duration; zero when none was asked for.
pub fn wait(params: Result<Query<WaitParams>, QueryRejection>) -> Result<Duration, ApiError> {
    let Query(params) = params.map_err(|_| ApiError::InvalidWait)?;
    let Some(raw) = params.wait else {
        return Ok(Duration::ZERO);
    };
    raw.parse::<u64>()
        .ok()
        .filter(|secs| *secs <= MAX_WAIT_SECS)
        .map(Duration::from_secs)
        .ok_or(ApiError::InvalidWait)
}

/// `?q=<text>&limit=<n>` of `GET /v1/tracks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogParams {
    /// Text to look for in titles and artists: 1 to 200 characters, no control characters.
    #[param(value_type = String, required = true, min_length = 1, max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "좋은 날")]
    pub q: Option<String>,
    /// How many tracks to return, 1 to 50 (default 10).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 50)]
    pub limit: Option<String>,
}

/// A valid catalog search.
#[derive(Debug, Clone)]
pub struct CatalogSearch {
    pub query: domain::Query,
    pub limit: ResultLimit,
}

/// Parses the catalog search parameters.
pub fn catalog_search(
    params: Result<Query<CatalogParams>, QueryRejection>,
) -> Result<CatalogSearch, ApiError> {
    const BAD_Q: &str = "The parameter `q` is required and must be 1 to 200 characters.";
    let Query(params) = params.map_err(|_| ApiError::InvalidQuery(BAD_Q))?;
    let query = match params.q.as_deref().map(|q| query_text("q", q)) {
        Some(Ok(query)) => query,
        Some(Err(ApiError::ControlCharacters(field))) => {
            return Err(ApiError::ControlCharacters(field))
        }
        Some(Err(_)) | None => return Err(ApiError::InvalidQuery(BAD_Q)),
    };
    let limit = match params.limit {
        None => ResultLimit::default(),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .and_then(|n| ResultLimit::parse(n).ok())
            .ok_or(ApiError::InvalidLimit)?,
    };
    Ok(CatalogSearch { query, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_of(raw: Option<&str>) -> Result<Duration, ApiError> {
        wait(Ok(Query(WaitParams {
            wait: raw.map(str::to_string),
        })))
    }

    #[test]
    fn wait_is_zero_to_thirty_whole_seconds() {
        assert_eq!(wait_of(None).ok(), Some(Duration::ZERO));
        assert_eq!(wait_of(Some("0")).ok(), Some(Duration::ZERO));
        assert_eq!(wait_of(Some("30")).ok(), Some(Duration::from_secs(30)));
        for bad in ["31", "-1", "1.5", "soon", ""] {
            assert_eq!(
                wait_of(Some(bad)).map_err(|e| e.code()).err(),
                Some("invalid_wait"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ids_must_be_uuids() {
        assert!(id(Ok(Path("0191f1a0-0000-7000-8000-000000000000".into()))).is_ok());
        assert_eq!(
            id(Ok(Path("42".into()))).map_err(|e| e.code()).err(),
            Some("invalid_id")
        );
    }

    #[test]
    fn catalog_search_needs_q_and_a_sane_limit() {
        let parse = |q: Option<&str>, limit: Option<&str>| {
            catalog_search(Ok(Query(CatalogParams {
                q: q.map(str::to_string),
                limit: limit.map(str::to_string),
            })))
            .map_err(|e| e.code())
        };
        assert_eq!(parse(Some("iu"), None).map(|s| s.limit.get()), Ok(10));
        assert_eq!(parse(Some("iu"), Some("50")).map(|s| s.limit.get()), Ok(50));
        assert_eq!(parse(None, None).err(), Some("invalid_query"));
        assert_eq!(parse(Some("  "), None).err(), Some("invalid_query"));
        assert_eq!(
            parse(Some(&"a".repeat(201)), None).err(),
            Some("invalid_query")
        );
        assert_eq!(parse(Some("i\0u"), None).err(), Some("control_characters"));
        assert_eq!(parse(Some("iu"), Some("0")).err(), Some("invalid_limit"));
        assert_eq!(parse(Some("iu"), Some("x")).err(), Some("invalid_limit"));
    }
}
