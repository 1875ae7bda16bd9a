//! HTTP plumbing shared by the provider stand-ins: lenient query-string parsing, the
//! request's own origin (so `href`/`next` links point back at the simulator) and JSON
//! responses.

use std::collections::HashMap;

use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Query parameters, percent-decoded; the first occurrence of a name wins.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// Parses a raw query string (`None`: no parameters).
    pub(crate) fn parse(raw: Option<&str>) -> Params {
        let mut map = HashMap::new();
        if let Some(raw) = raw {
            for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
                map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Params(map)
    }

    /// The value of `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name` if present and not blank.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// `name` as an integer: `Ok(default)` when absent, `Err(())` when present but not an
    /// integer in `range`.
    pub(crate) fn int_in(
        &self,
        name: &str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, ()> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or(()),
        }
    }
}

/// `http://<Host header>`: where the client reached us, for links back into the simulator.
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// Percent-encodes a query-string value.
pub(crate) fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A JSON response with `status`.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        bytes,
    )
        .into_response()
}

/// HTTP 200 with a JSON content type and a body that is not valid JSON (a cut-off prefix of
/// a plausible answer).
pub(crate) fn malformed(prefix: &'static str) -> Response {
    (
        StatusCode::OK,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        prefix,
    )
        .into_response()
}

/// Adds a header to a response (values that are not valid header text are skipped).
pub(crate) fn with_header(
    mut response: Response,
    name: &'static str,
    value: impl ToString,
) -> Response {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        response.headers_mut().insert(name, v);
    }
    response
}

/// Escapes text the way YouTube's API returns titles: `&`, `<`, `>`, `"` and `'` as HTML
/// entities.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_decode_and_validate_integers() {
        let p = Params::parse(Some("q=%EC%A2%8B%EC%9D%80+%EB%82%A0&limit=7&limit=9&bad=x"));
        assert_eq!(p.get("q"), Some("좋은 날"));
        assert_eq!(p.int_in("limit", 5, 1..=10), Ok(7));
        assert_eq!(p.int_in("missing", 5, 1..=10), Ok(5));
        assert_eq!(p.int_in("bad", 5, 1..=10), Err(()));
        assert_eq!(
            Params::parse(Some("limit=11")).int_in("limit", 5, 1..=10),
            Err(())
        );
    }

    #[test]
    fn escapes_like_youtube() {
        assert_eq!(
            html_escape(r#"IU "Blueming" & 'Love'"#),
            "IU &quot;Blueming&quot; &amp; &#39;Love&#39;"
        );
    }
}
