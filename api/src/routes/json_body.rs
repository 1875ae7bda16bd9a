//! The first stages of reading a JSON request body, shared by every route that takes one
//! (`POST /v1/searches`, `POST /v1/admin/crawls`, the parked re-drive): the media type, the
//! size, JSON at all, an object, each field once, and only known fields. Each stage has its
//! own error code or message; the fields themselves are then parsed by the route's own request
//! type.

use std::{collections::HashSet, fmt};

use axum::{
    body::Bytes,
    extract::rejection::{BytesRejection, FailedToBufferBody},
    http::{header, HeaderMap},
};
use serde::{
    de::{IgnoredAny, MapAccess, Visitor},
    Deserialize, Deserializer,
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
        _ => ApiError::InvalidJson("The request body could not be read to its end.".into()),
    })
}

/// The body's JSON object, refusing fields not in `fields`; `expected` says which fields the
/// body takes, for the error message.
pub fn object(
    bytes: &[u8],
    fields: &[&str],
    expected: &'static str,
) -> Result<Map<String, Value>, ApiError> {
    let object = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => object,
        Ok(other) => return Err(not_an_object(&other)),
        Err(_) if bytes.trim_ascii().is_empty() => {
            return Err(ApiError::InvalidJson(
                "The request body is empty; it must be a JSON object.".into(),
            ))
        }
        // serde_json's reason and position ("trailing comma at line 1 column 17") hold no
        // part of the body.
        Err(e) => {
            return Err(ApiError::InvalidJson(format!(
                "The request body is not valid JSON: {e}."
            )))
        }
    };
    if let Some(repeated) = repeated_field(bytes) {
        return Err(ApiError::InvalidJson(format!(
            "The field `{repeated}` appears more than once in the request body."
        )));
    }
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::UnknownField {
            field: unknown.clone(),
            expected,
        });
    }
    Ok(object)
}

/// The first field that a JSON object (`bytes`, already parsed once) names twice. serde_json
/// keeps the last value of a repeated field, where other parsers keep the first or refuse
/// (RFC 8259 leaves it open; I-JSON, RFC 7493, forbids it): a body that a proxy and this API
/// would read differently is refused rather than guessed at.
fn repeated_field(bytes: &[u8]) -> Option<String> {
    struct FirstRepeated(Option<String>);

    impl<'de> Deserialize<'de> for FirstRepeated {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Fields;

            impl<'de> Visitor<'de> for Fields {
                type Value = FirstRepeated;

                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON object")
                }

                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<FirstRepeated, A::Error> {
                    let mut seen = HashSet::new();
                    while let Some(field) = map.next_key::<String>()? {
                        map.next_value::<IgnoredAny>()?;
                        if !seen.insert(field.clone()) {
                            return Ok(FirstRepeated(Some(field)));
                        }
                    }
                    Ok(FirstRepeated(None))
                }
            }

            deserializer.deserialize_map(Fields)
        }
    }

    serde_json::from_slice::<FirstRepeated>(bytes)
        .ok()
        .and_then(|first| first.0)
}

/// The error for a body that is JSON but not an object, naming what it is instead.
fn not_an_object(value: &Value) -> ApiError {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ApiError::InvalidJson(format!(
        "The request body must be a JSON object, not {kind}."
    ))
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

    fn message(body: &str) -> String {
        object(body.as_bytes(), &["a"], "only `a`")
            .expect_err("should be refused")
            .to_string()
    }

    #[test]
    fn says_why_a_body_is_not_a_json_object() {
        assert_eq!(
            message(""),
            "The request body is empty; it must be a JSON object."
        );
        assert_eq!(
            message(" \n"),
            "The request body is empty; it must be a JSON object."
        );
        assert_eq!(
            message(r#"{"a":1,}"#),
            "The request body is not valid JSON: trailing comma at line 1 column 8."
        );
        assert_eq!(
            message(r#"{"a":"I\ud800U"}"#),
            "The request body is not valid JSON: unexpected end of hex escape at line 1 column 14."
        );
        assert_eq!(
            message(r#"{"a": "#),
            "The request body is not valid JSON: EOF while parsing a value at line 1 column 6."
        );
        assert_eq!(
            message(r#"{"a":"IU","a":"BTS"}"#),
            "The field `a` appears more than once in the request body."
        );
        assert_eq!(
            message(r#"{"a":1,"\u0061":2}"#),
            "The field `a` appears more than once in the request body."
        );
        for (body, kind) in [
            ("[1]", "an array"),
            ("\"IU\"", "a string"),
            ("7", "a number"),
            ("true", "a boolean"),
            ("null", "null"),
        ] {
            assert_eq!(
                message(body),
                format!("The request body must be a JSON object, not {kind}."),
                "{body}"
            );
        }
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
