//! The first stages of reading a JSON request body, shared by every route that takes one
//! (`POST /v1/searches`, `POST /v1/admin/crawls`): the media type, the size, JSON at all, an
//! object, and only known fields. Each stage has its own error code; the fields themselves are
//! then parsed by the route's own request type.

use axum::{
    body::Bytes,
    extract::rejection::{BytesRejection, FailedToBufferBody},
    http::{header, HeaderMap},
};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest request body accepted, in bytes. A request to this API is a few hundred bytes;
/// 16 KiB leaves room for any legitimate client while keeping a flood of large bodies cheap to
/// refuse.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The body as buffered by axum (with the size limit applied), if it was declared as JSON.
pub fn bytes(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            ApiError::PayloadTooLarge
        }
        _ => ApiError::InvalidJson,
    })
}

/// The body's JSON object, refusing fields not in `fields`; `expected` says which fields the
/// body takes, for the error message.
pub fn object(
    bytes: &[u8],
    fields: &[&str],
    expected: &'static str,
) -> Result<Map<String, Value>, ApiError> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(ApiError::InvalidJson);
    };
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::UnknownField {
            field: unknown.clone(),
            expected,
        });
    }
    Ok(object)
}

/// `application/json`, with or without parameters such as `charset`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> &'static str {
        object(body.as_bytes(), &["a"], "only `a`")
            .expect_err("should be refused")
            .code()
    }

    #[test]
    fn wants_a_json_object_with_known_fields() {
        assert!(object(br#"{"a":1}"#, &["a"], "only `a`").is_ok());
        assert!(object(b"{}", &["a"], "only `a`").is_ok());
        assert_eq!(code("not json"), "invalid_json");
        assert_eq!(code("[1]"), "invalid_json");
        assert_eq!(code(""), "invalid_json");
        assert_eq!(code(r#"{"a":1,"b":2}"#), "unknown_field");
    }

    #[test]
    fn requires_a_json_content_type() {
        let mut headers = HeaderMap::new();
        let body = || Ok(Bytes::from_static(b"{}"));
        assert_eq!(
            bytes(&headers, body()).expect_err("no type").code(),
            "unsupported_media_type"
        );
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().expect("header"));
        assert!(bytes(&headers, body()).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().expect("header"),
        );
        assert!(bytes(&headers, body()).is_ok());
    }
}
