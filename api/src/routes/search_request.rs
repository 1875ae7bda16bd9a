//! The body of `POST /v1/searches`, parsed into validated domain types.
//!
//! Parsing goes in stages so that each problem gets its own error code: the media type, the
//! size, JSON at all, an object, only known fields (those first stages are [`json_body`]'s),
//! and then each field through the shared domain constructors (`Query::parse`,
//! `SearchType::parse`, `ResultLimit::parse`). The fields are first read raw
//! (`serde_json::Value`) so that a wrong JSON type is reported for that field, not as
//! unparseable JSON.

use axum::{body::Bytes, extract::rejection::BytesRejection, http::HeaderMap};
use muze_shared::domain::{Query, ResultLimit, SearchType};
use serde::Deserialize;
use serde_json::Value;

use super::{json_body, params};
use crate::error::ApiError;

/// The fields a search request may have.
const FIELDS: [&str; 3] = ["query", "type", "limit"];
/// Said when a search has a field not in [`FIELDS`].
const EXPECTED: &str = "a search takes only `query`, `type` and `limit`";

// The body as sent, before validation; it is also the `SearchRequest` OpenAPI schema, so its
// doc comments below are what API users read.
/// A search: what to look for, what kind of thing, how many results.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SearchRequest)]
pub struct RawSearchRequest {
    /// What to search for: 1 to 200 characters, not only whitespace, no control characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "아이유 좋은 날")]
    pub query: Option<Value>,
    /// What kind of thing to search for.
    #[serde(rename = "type")]
    #[schema(value_type = Option<SearchType>, default = "track", example = "track")]
    pub search_type: Option<Value>,
    /// How many results are wanted.
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 50, default = 10, example = 10)]
    pub limit: Option<Value>,
}

/// A valid search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    pub query: Query,
    pub search_type: SearchType,
    pub limit: ResultLimit,
}

impl SearchRequest {
    /// Parses the request's headers and body (as buffered by axum, with the size limit
    /// applied) into a valid request, or the specific reason it is not one.
    pub fn parse(
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<SearchRequest, ApiError> {
        Self::from_json(&json_body::bytes(headers, body)?)
    }

    /// Parses a JSON body.
    pub fn from_json(bytes: &[u8]) -> Result<SearchRequest, ApiError> {
        let object = json_body::object(bytes, &FIELDS, EXPECTED)?;
        // Every field is a `Value`, read on its own below: an object always fits.
        let raw: RawSearchRequest = serde_json::from_value(Value::Object(object))
            .map_err(|_| ApiError::InvalidJson("The request body must be a JSON object.".into()))?;
        Ok(SearchRequest {
            query: parse_query(raw.query)?,
            search_type: parse_type(raw.search_type)?,
            limit: parse_limit(raw.limit)?,
        })
    }
}

fn parse_query(raw: Option<Value>) -> Result<Query, ApiError> {
    match raw {
        None => Err(ApiError::MissingQuery),
        Some(Value::String(text)) => params::query_text("query", &text),
        Some(_) => Err(ApiError::InvalidQuery(
            "The field `query` must be a string.",
        )),
    }
}

fn parse_type(raw: Option<Value>) -> Result<SearchType, ApiError> {
    match raw {
        None => Ok(SearchType::default()),
        Some(Value::String(name)) => SearchType::parse(&name)
            .ok()
            .filter(|t| t.as_str() == name)
            .ok_or(ApiError::InvalidType),
        Some(_) => Err(ApiError::InvalidType),
    }
}

fn parse_limit(raw: Option<Value>) -> Result<ResultLimit, ApiError> {
    match raw {
        None => Ok(ResultLimit::default()),
        // JSON has one number type: `23.0` is the whole number 23 (JSON Schema agrees), while
        // `2.5` is not a count of results.
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() <= 1e6)
                    .map(|f| f as i64)
            })
            .ok_or(ApiError::InvalidLimit)
            .and_then(|n| ResultLimit::parse(n).map_err(|_| ApiError::InvalidLimit)),
        Some(_) => Err(ApiError::InvalidLimit),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    fn code(body: &str) -> &'static str {
        SearchRequest::from_json(body.as_bytes())
            .expect_err("should be refused")
            .code()
    }

    #[test]
    fn accepts_a_full_request_and_applies_defaults() {
        let full = SearchRequest::from_json(br#"{"query":" IU ","type":"track","limit":50}"#)
            .expect("valid");
        assert_eq!(full.query.as_str(), "IU");
        assert_eq!(full.limit.get(), 50);
        let whole = SearchRequest::from_json(br#"{"query":"IU","limit":23.0}"#).expect("valid");
        assert_eq!(whole.limit.get(), 23);
        let minimal = SearchRequest::from_json(br#"{"query":"IU"}"#).expect("valid");
        assert_eq!(minimal.search_type, SearchType::Track);
        assert_eq!(minimal.limit, ResultLimit::DEFAULT);
    }

    #[test]
    fn gives_each_problem_its_own_code() {
        assert_eq!(code("not json"), "invalid_json");
        assert_eq!(code(r#"["IU"]"#), "invalid_json");
        assert_eq!(code(r#"{"query":"IU","market":"KR"}"#), "unknown_field");
        assert_eq!(code(r#"{"limit":5}"#), "missing_query");
        assert_eq!(code(r#"{"query":5}"#), "invalid_query");
        assert_eq!(code(r#"{"query":" \t "}"#), "empty_query");
        assert_eq!(
            code(&format!(r#"{{"query":"{}"}}"#, "a".repeat(201))),
            "query_too_long"
        );
        for control in ["\\u0000", "\\u0007", "\\n", "\\u007f", "\\u009b"] {
            let body = format!(r#"{{"query":"I{control}U"}}"#);
            assert_eq!(code(&body), "control_characters", "{body}");
        }
        assert_eq!(code(r#"{"query":"IU","type":"album"}"#), "invalid_type");
        assert_eq!(code(r#"{"query":"IU","type":1}"#), "invalid_type");
        for limit in ["0", "51", "\"10\"", "2.5", "-1", "null1"] {
            let body = format!(r#"{{"query":"IU","limit":{limit}}}"#);
            let expected = if limit == "null1" {
                "invalid_json"
            } else {
                "invalid_limit"
            };
            assert_eq!(code(&body), expected, "limit {limit}");
        }
    }

    #[test]
    fn names_the_unknown_field() {
        let err =
            SearchRequest::from_json(br#"{"query":"IU","market":"KR"}"#).expect_err("refused");
        assert!(err.to_string().contains("`market`"), "{err}");
    }

    #[test]
    fn requires_a_json_content_type() {
        let mut headers = HeaderMap::new();
        let body = || Ok(Bytes::from_static(br#"{"query":"IU"}"#));
        assert_eq!(
            SearchRequest::parse(&headers, body())
                .expect_err("no type")
                .code(),
            "unsupported_media_type"
        );
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().expect("header"));
        assert!(SearchRequest::parse(&headers, body()).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().expect("header"),
        );
        assert!(SearchRequest::parse(&headers, body()).is_ok());
    }
}
