//! The first stages of reading a JSON request body, shared by every route that takes one
//! (`POST /v1/searches`, `POST /v1/admin/crawls`, the parked re-drive): the media type, the
//! size, JSON at all, an object, each field once, and only known fields. Each stage has its
//! own error code or message; the fields themselves are then parsed by the route's own request
//! type.

use std::fmt;

use axum::{
    body::Bytes,
    extract::rejection::{BytesRejection, FailedToBufferBody},
    http::{header, HeaderMap},
};
use serde::{
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
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
    let object = match serde_json::from_slice::<Body>(bytes) {
        Ok(Body::Object {
            fields,
            repeated: None,
        }) => fields,
        Ok(Body::Object {
            repeated: Some(field),
            ..
        }) => {
            return Err(ApiError::InvalidJson(format!(
                "The field `{field}` appears more than once in the request body."
            )))
        }
        Ok(Body::Other(kind)) => {
            return Err(ApiError::InvalidJson(format!(
                "The request body must be a JSON object, not {kind}."
            )))
        }
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
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::UnknownField {
            field: unknown.clone(),
            expected,
        });
    }
    Ok(object)
}

/// A request body as parsed in one pass: an object, with the first field it names twice, or
/// what other kind of JSON it is. serde_json's own `Map` keeps the last value of a repeated
/// field, where other parsers keep the first or refuse (RFC 8259 leaves it open; I-JSON, RFC
/// 7493, forbids it): a body that a proxy and this API would read differently is refused
/// rather than guessed at.
enum Body {
    Object {
        fields: Map<String, Value>,
        repeated: Option<String>,
    },
    /// "an array", "a string", ...
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Kind;

        impl<'de> Visitor<'de> for Kind {
            type Value = Body;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
                let mut fields = Map::new();
                let mut repeated = None;
                while let Some(field) = map.next_key::<String>()? {
                    let value = map.next_value::<Value>()?;
                    if fields.contains_key(&field) {
                        repeated.get_or_insert(field);
                    } else {
                        fields.insert(field, value);
                    }
                }
                Ok(Body::Object { fields, repeated })
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Body::Other("an array"))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Body, E> {
                Ok(Body::Other("a string"))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Body, E> {
                Ok(Body::Other("a boolean"))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Body, E> {
                Ok(Body::Other("a number"))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Body, E> {
                Ok(Body::Other("a number"))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Body, E> {
                Ok(Body::Other("a number"))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Body, E> {
                Ok(Body::Other("null"))
            }
        }

        deserializer.deserialize_any(Kind)
    }
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
