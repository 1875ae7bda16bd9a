//! The one error type at the HTTP edge.
//!
//! Handlers and middleware return [`ApiError`]; its [`IntoResponse`] renders the contract's
//! shape, `{"error": {"code": "...", "message": "..."}}`, with the variant's status. Client
//! errors (4xx) explain what to fix. Server errors (5xx) say nothing internal: their cause is
//! logged here, once, and the client gets a fixed sentence. Leaf errors (`sqlx::Error`,
//! `BrokerError`) become `Unavailable` with `?` or with context added in glue code.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// Everything that can go wrong in a request, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_json`: the body is not a JSON object. The message says why: empty, not
    /// JSON (with the parser's reason and where it stopped), JSON of another kind, or an
    /// object naming one field twice.
    #[error("{0}")]
    InvalidJson(String),
    /// 400 `unknown_field`: the body has a field we do not know (named in the message, with
    /// the fields this body does take).
    #[error("Unknown field `{field}`: {expected}.")]
    UnknownField {
        field: String,
        /// Which fields the body takes, e.g. "a search takes only `query`, `type` and `limit`".
        expected: &'static str,
    },
    /// 400 `missing_query`: the body has no `query`.
    #[error("The field `query` is required.")]
    MissingQuery,
    /// 400 `invalid_query`: `query` is not a string, or the catalog's `q` is missing or invalid.
    #[error("{0}")]
    InvalidQuery(&'static str),
    /// 400 `control_characters`: a text field holds a control character (NUL, a line break,
    /// ...) inside its text; the field is named. Nothing stores or searches such text.
    #[error("The field `{0}` must not contain control characters (NUL, line breaks, ...).")]
    ControlCharacters(&'static str),
    /// 400 `empty_query`: the query is empty or only whitespace.
    #[error("The query must contain more than whitespace.")]
    EmptyQuery,
    /// 400 `query_too_long`: the query is longer than 200 characters.
    #[error("The query must be at most 200 characters long.")]
    QueryTooLong,
    /// 400 `invalid_type`: `type` is not one we search for.
    #[error("The field `type` must be \"track\".")]
    InvalidType,
    /// 400 `invalid_limit`: `limit` is not a whole number from 1 to 50.
    #[error("The limit must be a whole number from 1 to 50.")]
    InvalidLimit,
    /// 400 `invalid_sources`: a crawl's `sources` is not a non-empty list of providers that
    /// can be crawled (the message says which name is wrong).
    #[error("{0}")]
    InvalidSources(String),
    /// 400 `invalid_id`: the id in the path is not a UUID.
    #[error("The id must be a UUID.")]
    InvalidId,
    /// 400 `invalid_wait`: `wait` is not a whole number of seconds from 0 to 30.
    #[error("The parameter `wait` must be a whole number of seconds from 0 to 30.")]
    InvalidWait,
    /// 400 `invalid_redrive`: a re-drive of parked messages does not name exactly one valid
    /// filter (the message says what is wrong).
    #[error("{0}")]
    InvalidRedrive(String),
    /// 400 `invalid_limit`: the parked-message list's `limit` is not a whole number from 1 to
    /// 500.
    #[error("The parameter `limit` must be a whole number from 1 to 500.")]
    InvalidParkedLimit,
    /// 401 `unauthorized`: no `Authorization: Bearer <key>` with a key we know.
    #[error("A valid API key is required: send `Authorization: Bearer <key>`.")]
    Unauthorized,
    /// 403 `forbidden`: the key is valid but may not call this (admin endpoints).
    #[error("This endpoint needs an admin API key.")]
    Forbidden,
    /// 404 `not_found`: no such route, search, track or crawl.
    #[error("{0}")]
    NotFound(&'static str),
    /// 405 `method_not_allowed`: the route exists, the method does not.
    #[error("This method is not allowed on this path.")]
    MethodNotAllowed,
    /// 413 `payload_too_large`: the body is over 16 KiB.
    #[error("The request body must be at most 16 KiB.")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`: the body is not declared as `application/json`.
    #[error("The request body must be sent with `Content-Type: application/json`.")]
    UnsupportedMediaType,
    /// 429 `rate_limited` + `Retry-After`: this API key sent too many requests this minute.
    #[error("Too many requests for this API key; retry in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    /// 503 `unavailable`: Postgres or RabbitMQ could not do their part. The cause is logged.
    #[error("A service this request needs is unavailable; try again shortly.")]
    Unavailable(#[source] anyhow::Error),
    /// 503 `overloaded` + `Retry-After`: this process is serving as many connections or
    /// long-polls as it may; come back shortly.
    #[error("The server is busy; retry in {retry_after_secs} seconds.")]
    Overloaded { retry_after_secs: u64 },
    /// 503 `timeout`: the request took longer than the server allows. Logged.
    #[error("The request took too long; try again shortly.")]
    Timeout,
    /// 500 `internal`: a bug (a panic, an impossible state). The cause is logged.
    #[error("Something went wrong on our side.")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_)
            | ApiError::UnknownField { .. }
            | ApiError::MissingQuery
            | ApiError::InvalidQuery(_)
            | ApiError::ControlCharacters(_)
            | ApiError::EmptyQuery
            | ApiError::QueryTooLong
            | ApiError::InvalidType
            | ApiError::InvalidLimit
            | ApiError::InvalidSources(_)
            | ApiError::InvalidId
            | ApiError::InvalidRedrive(_)
            | ApiError::InvalidParkedLimit
            | ApiError::InvalidWait => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Overloaded { .. } | ApiError::Timeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable `error.code`.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::InvalidJson(_) => ErrorCode::InvalidJson,
            ApiError::UnknownField { .. } => ErrorCode::UnknownField,
            ApiError::MissingQuery => ErrorCode::MissingQuery,
            ApiError::InvalidQuery(_) => ErrorCode::InvalidQuery,
            ApiError::ControlCharacters(_) => ErrorCode::ControlCharacters,
            ApiError::EmptyQuery => ErrorCode::EmptyQuery,
            ApiError::QueryTooLong => ErrorCode::QueryTooLong,
            ApiError::InvalidType => ErrorCode::InvalidType,
            ApiError::InvalidLimit => ErrorCode::InvalidLimit,
            ApiError::InvalidSources(_) => ErrorCode::InvalidSources,
            ApiError::InvalidId => ErrorCode::InvalidId,
            ApiError::InvalidWait => ErrorCode::InvalidWait,
            ApiError::InvalidRedrive(_) => ErrorCode::InvalidRedrive,
            ApiError::InvalidParkedLimit => ErrorCode::InvalidLimit,
            ApiError::Unauthorized => ErrorCode::Unauthorized,
            ApiError::Forbidden => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Unavailable(_) => ErrorCode::Unavailable,
            ApiError::Overloaded { .. } => ErrorCode::Overloaded,
            ApiError::Timeout => ErrorCode::Timeout,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The `error.code` as text.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The response body of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.error_code(),
                message: self.to_string(),
            },
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Unavailable(anyhow::Error::new(e).context("Postgres query failed"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(cause) => {
                tracing::error!(error.code = self.code(), error.cause = %format!("{cause:#}"), "request failed")
            }
            ApiError::Internal(cause) => {
                tracing::error!(error.code = self.code(), error.cause = %format!("{cause:#}"), "request failed")
            }
            ApiError::Timeout => tracing::warn!(error.code = self.code(), "request timed out"),
            ApiError::Overloaded { .. } => {
                metrics::counter!(muze_shared::metric_families::HTTP_OVERLOADED).increment(1);
            }
            _ => {}
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::Overloaded { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// `{"error": {...}}`: the body of every error response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, for programs (`code`) and for people (`message`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case identifier; each operation's responses say which it can get.
    pub code: ErrorCode,
    /// One human sentence.
    pub message: String,
}

/// Every `error.code` the API answers with. Codes are stable: clients branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    UnknownField,
    MissingQuery,
    InvalidQuery,
    ControlCharacters,
    EmptyQuery,
    QueryTooLong,
    InvalidType,
    InvalidLimit,
    InvalidSources,
    InvalidId,
    InvalidWait,
    InvalidRedrive,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Unavailable,
    Overloaded,
    Timeout,
    Internal,
}

impl ErrorCode {
    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::MissingQuery => "missing_query",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::ControlCharacters => "control_characters",
            ErrorCode::EmptyQuery => "empty_query",
            ErrorCode::QueryTooLong => "query_too_long",
            ErrorCode::InvalidType => "invalid_type",
            ErrorCode::InvalidLimit => "invalid_limit",
            ErrorCode::InvalidSources => "invalid_sources",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::InvalidWait => "invalid_wait",
            ErrorCode::InvalidRedrive => "invalid_redrive",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_hide_their_cause() {
        let err = ApiError::Unavailable(anyhow::anyhow!("password=hunter2 at 10.0.0.7"));
        let body = serde_json::to_string(&err.body()).expect("serializes");
        assert!(!body.contains("hunter2"), "{body}");
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code(), "unavailable");
    }

    #[test]
    fn codes_serialize_as_they_are_named() {
        for err in [
            ApiError::ControlCharacters("query"),
            ApiError::Overloaded {
                retry_after_secs: 1,
            },
            ApiError::UnknownField {
                field: "x".into(),
                expected: "y",
            },
        ] {
            let json = serde_json::to_value(err.body()).expect("serializes");
            assert_eq!(json["error"]["code"], err.code());
        }
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let response = ApiError::RateLimited {
            retry_after_secs: 17,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "17");
    }
}
