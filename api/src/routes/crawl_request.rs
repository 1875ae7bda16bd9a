//! The body of `POST /v1/admin/crawls`: which providers to crawl.
//!
//! The body is optional: none at all (or `{}`) crawls the configured sources
//! (`MUZE__CRAWL__SOURCES`). A body, when sent, goes through the same stages as a search's
//! ([`json_body`]: media type, size, a JSON object, only known fields), then `sources` is
//! parsed into [`ProviderName`]s that have a new-release listing ([`CRAWL_SOURCES`]).

use axum::{body::Bytes, extract::rejection::BytesRejection, http::HeaderMap};
use muze_shared::domain::{ProviderName, CRAWL_SOURCES};
use serde::Deserialize;
use serde_json::Value;

use super::json_body;
use crate::error::ApiError;

/// The fields a crawl request may have.
const FIELDS: [&str; 1] = ["sources"];
/// Said when a crawl request has a field not in [`FIELDS`].
const EXPECTED: &str = "a crawl request takes only `sources`";

// The body as sent, before validation; it is also the `CrawlRequest` OpenAPI schema.
/// Which providers a crawl reads; every field is optional.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrawlRequest)]
pub struct RawCrawlRequest {
    /// Providers whose new releases to crawl, a non-empty subset of `spotify` and `deezer`.
    /// Omitted (or `null`): the configured sources, `MUZE__CRAWL__SOURCES`.
    #[schema(value_type = Option<Vec<CrawlSource>>, min_items = 1, example = json!(["spotify"]))]
    pub sources: Option<Value>,
}

/// A provider with a new-release listing to crawl (the domain's `CRAWL_SOURCES`, as the
/// document names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum CrawlSource {
    Spotify,
    Deezer,
}

/// A valid crawl request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlRequest {
    /// The providers asked for, without duplicates, in the order given; `None` means the
    /// configured ones.
    pub sources: Option<Vec<ProviderName>>,
}

impl CrawlRequest {
    /// Parses the request's headers and body (as buffered by axum, with the size limit
    /// applied). An empty body is the default request, whatever its declared type.
    pub fn parse(
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<CrawlRequest, ApiError> {
        if body.as_ref().is_ok_and(|bytes| bytes.is_empty()) {
            return Ok(CrawlRequest::default());
        }
        Self::from_json(&json_body::bytes(headers, body)?)
    }

    /// Parses a JSON body.
    pub fn from_json(bytes: &[u8]) -> Result<CrawlRequest, ApiError> {
        // The body is optional, and the document says so as a nullable object: `null` is the
        // default request, like no body at all.
        if bytes.trim_ascii() == b"null" {
            return Ok(CrawlRequest::default());
        }
        let object = json_body::object(bytes, &FIELDS, EXPECTED)?;
        // Every field is a `Value`, read on its own below: an object always fits.
        let raw: RawCrawlRequest = serde_json::from_value(Value::Object(object))
            .map_err(|_| ApiError::InvalidJson("The request body must be a JSON object.".into()))?;
        Ok(CrawlRequest {
            sources: raw.sources.map(parse_sources).transpose()?,
        })
    }
}

/// `spotify or deezer`: the providers a crawl can read, for messages.
fn crawlable() -> String {
    CRAWL_SOURCES.map(ProviderName::as_str).join(" or ")
}

fn parse_sources(raw: Value) -> Result<Vec<ProviderName>, ApiError> {
    let not_a_list = || {
        ApiError::InvalidSources(format!(
            "The field `sources` must be a list of provider names ({}).",
            crawlable()
        ))
    };
    let Value::Array(items) = raw else {
        return Err(not_a_list());
    };
    if items.is_empty() {
        return Err(ApiError::InvalidSources(format!(
            "The field `sources` must name at least one provider ({}).",
            crawlable()
        )));
    }
    let mut sources = Vec::with_capacity(CRAWL_SOURCES.len());
    for item in items {
        let Value::String(name) = item else {
            return Err(not_a_list());
        };
        // Exactly as the document lists them: `Spotify` or `spotify\n` is not a name we publish.
        let exact = |p: &ProviderName| p.as_str() == name;
        let provider: ProviderName = name.parse().ok().filter(exact).ok_or_else(|| {
            ApiError::InvalidSources(format!(
                "Unknown provider {:?}: a crawl reads {}.",
                shorten(&name),
                crawlable()
            ))
        })?;
        if !CRAWL_SOURCES.contains(&provider) {
            return Err(ApiError::InvalidSources(format!(
                "The provider `{provider}` has no new-release listing to crawl: a crawl reads {}.",
                crawlable()
            )));
        }
        if !sources.contains(&provider) {
            sources.push(provider);
        }
    }
    Ok(sources)
}

/// At most 40 characters of a name echoed back in a message.
fn shorten(name: &str) -> String {
    const ECHOED: usize = 40;
    let mut short: String = name.chars().take(ECHOED).collect();
    if name.chars().nth(ECHOED).is_some() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    fn sources(body: &str) -> Option<Vec<ProviderName>> {
        CrawlRequest::from_json(body.as_bytes())
            .expect("valid")
            .sources
    }

    fn code(body: &str) -> &'static str {
        CrawlRequest::from_json(body.as_bytes())
            .expect_err("should be refused")
            .code()
    }

    #[test]
    fn no_sources_means_the_configured_ones() {
        assert_eq!(sources("{}"), None);
        assert_eq!(sources(r#"{"sources":null}"#), None);
        assert_eq!(sources("null"), None);
        let empty = CrawlRequest::parse(&HeaderMap::new(), Ok(Bytes::new())).expect("empty");
        assert_eq!(empty.sources, None);
        // Whitespace is a body, and not JSON: only no body at all is the default request.
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            "application/json".parse().expect("header"),
        );
        let blank = CrawlRequest::parse(&json, Ok(Bytes::from_static(b" \n")));
        assert_eq!(blank.map_err(|e| e.code()).err(), Some("invalid_json"));
    }

    #[test]
    fn reads_a_subset_of_the_crawlable_providers_once_each() {
        assert_eq!(
            sources(r#"{"sources":["deezer"]}"#),
            Some(vec![ProviderName::Deezer])
        );
        assert_eq!(
            sources(r#"{"sources":["deezer","spotify","deezer"]}"#),
            Some(vec![ProviderName::Deezer, ProviderName::Spotify])
        );
    }

    #[test]
    fn refuses_providers_that_cannot_be_crawled_or_do_not_exist() {
        for body in [
            r#"{"sources":["youtube"]}"#,
            r#"{"sources":["spotify","musicbrainz"]}"#,
            r#"{"sources":["napster"]}"#,
            r#"{"sources":["Deezer"]}"#,
            r#"{"sources":[" spotify"]}"#,
            r#"{"sources":[]}"#,
            r#"{"sources":"spotify"}"#,
            r#"{"sources":[1]}"#,
        ] {
            assert_eq!(code(body), "invalid_sources", "{body}");
        }
        let err = CrawlRequest::from_json(br#"{"sources":["youtube"]}"#).expect_err("refused");
        assert!(err.to_string().contains("`youtube`"), "{err}");
        let err = CrawlRequest::from_json(br#"{"sources":["napster"]}"#).expect_err("refused");
        assert!(err.to_string().contains("napster"), "{err}");
    }

    #[test]
    fn a_body_must_be_a_json_object_with_known_fields() {
        assert_eq!(code("not json"), "invalid_json");
        assert_eq!(code(r#"["spotify"]"#), "invalid_json");
        assert_eq!(code(r#"{"bogus":1}"#), "unknown_field");
        let err = CrawlRequest::parse(&HeaderMap::new(), Ok(Bytes::from_static(b"{}")))
            .expect_err("no content type");
        assert_eq!(err.code(), "unsupported_media_type");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/json".parse().expect("header"),
        );
        assert!(CrawlRequest::parse(&headers, Ok(Bytes::from_static(b"{}"))).is_ok());
    }

    #[test]
    fn long_names_are_shortened_in_messages() {
        let long = "x".repeat(500);
        let err = CrawlRequest::from_json(format!(r#"{{"sources":["{long}"]}}"#).as_bytes())
            .expect_err("refused");
        assert!(err.to_string().len() < 200, "{err}");
    }
}
