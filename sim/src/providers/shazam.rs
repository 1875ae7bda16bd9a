//! Shazam stand-in (apidojo's API on RapidAPI) under `/shazam`: `GET /shazam/search`.
//!
//! Calls need `X-RapidAPI-Key` (401 otherwise); the per-minute plan limit answers 429
//! `{"message":"Too many requests"}`, and every answer carries RapidAPI's
//! `x-ratelimit-requests-limit`/`-remaining` headers (here: the rolling window's figures).
//! A search without hits is `{}` — no `tracks` key at all, as the real API answers.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::call::Failure;
use crate::catalog::{image_hash, Catalog, SearchQuery, Song};
use crate::config::SHAZAM_RAPIDAPI_HOST;
use crate::limits::retry_after_secs;
use crate::config::ProviderLimitConfig;
use crate::provider::{Provider, SimProvider};
use crate::state::{SimHandle, Verdict};
use crate::stats::Outcome;
use crate::wire::{self, Params};

const INVALID_KEY: &str =
    "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info.";

/// Where it lives under the sim's port and its real kind of limit.
pub(crate) const SIM: SimProvider = SimProvider {
    name: "shazam",
    base_path: "/shazam",
    // Shazam (RapidAPI): 60 calls per minute.
    limits: ProviderLimitConfig::rolling(60, 60_000),
};

/// Shazam's routes.
pub(crate) fn router() -> Router<SimHandle> {
    Router::new().route("/shazam/search", get(search))
}

fn message(status: StatusCode, text: &str) -> Response {
    wire::json(status, &json!({ "message": text }))
}

/// Outages, errors, 429s and malformed bodies as RapidAPI/Shazam send them.
pub(crate) fn failure(failure: Failure) -> Response {
    match failure {
        Failure::Outage => message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Failure::ServerError => message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Failure::RateLimited { retry_after_secs } => wire::with_header(
            wire::with_header(
                message(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
                "x-ratelimit-requests-remaining",
                0,
            ),
            "retry-after",
            retry_after_secs,
        ),
        Failure::Malformed => wire::malformed(
            r#"{"tracks":{"hits":[{"track":{"layout":"5","type":"MUSIC","key":"443578639","title":"Fine China","subtitle":"Future & Juice WRLD","share":{"subject":"Fine Ch"#,
        ),
    }
}

/// `GET /shazam/search?term=&locale=&offset=&limit=` with RapidAPI headers.
async fn search(
    State(sim): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let call = match sim.enter(Provider::Shazam, "/search").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let key = headers
        .get("x-rapidapi-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let key_ok = match (key, sim.config().shazam_api_key.as_deref()) {
        (None, _) => false,
        (Some(key), Some(expected)) => key == expected,
        (Some(_), None) => true,
    };
    if !key_ok {
        return call.finish(
            Outcome::Rejected,
            message(StatusCode::UNAUTHORIZED, INVALID_KEY),
        );
    }
    let host = headers.get("x-rapidapi-host").and_then(|v| v.to_str().ok());
    if host.is_some_and(|h| !h.eq_ignore_ascii_case(SHAZAM_RAPIDAPI_HOST)) {
        return call.finish(
            Outcome::Rejected,
            message(StatusCode::FORBIDDEN, "You are not subscribed to this API."),
        );
    }
    let (limit_calls, remaining) = match call.admit() {
        Verdict::Limited { retry_after } => {
            let retry_after_secs = retry_after_secs(retry_after);
            return call.fail(
                Outcome::Violation,
                Failure::RateLimited { retry_after_secs },
            );
        }
        Verdict::Admitted { limit, remaining } => (limit.map(|l| l.calls), remaining),
    };
    let rate_headers = |response: Response| match (limit_calls, remaining) {
        (Some(limit), Some(remaining)) => wire::with_header(
            wire::with_header(response, "x-ratelimit-requests-limit", limit),
            "x-ratelimit-requests-remaining",
            remaining,
        ),
        _ => response,
    };
    let params = Params::parse(raw.as_deref());
    let Some(term) = params.non_empty("term") else {
        let response = message(StatusCode::BAD_REQUEST, "Missing required parameters: term");
        return call.finish(Outcome::Rejected, rate_headers(response));
    };
    let limit = params.int_in("limit", 5, 1..=50).unwrap_or(5) as usize;
    let offset = params.int_in("offset", 0, 0..=10_000).unwrap_or(0) as usize;
    let catalog = call.catalog();
    let hits: Vec<Value> = if call.empty {
        Vec::new()
    } else {
        catalog
            .search_page(&SearchQuery::text(term).forgiving_typos(), offset, limit)
            .items
            .iter()
            .map(|s| json!({ "track": track(&catalog, s) }))
            .collect()
    };
    let body = if hits.is_empty() {
        json!({})
    } else {
        json!({ "tracks": { "hits": hits } })
    };
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Ok
    };
    call.finish(outcome, rate_headers(wire::json(StatusCode::OK, &body)))
}

fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn artwork(kind: &str, song: &Song) -> String {
    let h = image_hash(&[kind, &song.shazam_key]);
    format!(
        "https://is1-ssl.mzstatic.com/image/thumb/Music116/v4/{}/{}/{}/{}-{}-{}-{}-{}/196922{}.jpg/400x400cc.jpg",
        &h[0..2],
        &h[2..4],
        &h[4..6],
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32],
        &h[26..32].bytes().map(|b| char::from(b'0' + b % 10)).collect::<String>(),
    )
}

/// One hit's `track` object, field names as recorded from the real API.
fn track(catalog: &Catalog, song: &Song) -> Value {
    let key = &song.shazam_key;
    let subtitle = song.artist_display();
    let url = format!("https://www.shazam.com/track/{key}/{}", slug(&song.title));
    let cover = artwork("cover", song);
    let artists: Vec<Value> = song
        .artists
        .iter()
        .map(|name| {
            let a = catalog.artist_or_derived(name);
            json!({"id": a.shazam_id.to_string(), "adamid": a.apple_id.to_string()})
        })
        .collect();
    let preview_hash = image_hash(&["preview", key]);
    json!({
        "layout": "5",
        "type": "MUSIC",
        "key": key,
        "title": song.title,
        "subtitle": subtitle,
        "share": {
            "subject": format!("{} - {subtitle}", song.title),
            "text": format!("I used Shazam to discover {} by {subtitle}.", song.title),
            "href": url,
            "image": cover,
            "twitter": format!("I used @Shazam to discover {} by {subtitle}.", song.title),
            "html": format!("https://www.shazam.com/snippets/email-share/{key}?lang=en-US&country=US"),
            "avatar": artwork("avatar", song),
            "snapchat": format!("https://www.shazam.com/partner/sc/track/{key}"),
        },
        "images": {
            "background": artwork("background", song),
            "coverart": cover,
            "coverarthq": cover,
            "joecolor": "b:ffffffp:0d0301s:4d1f0dt:3d3534q:714c3e",
        },
        "hub": {
            "type": "APPLEMUSIC",
            "image": "https://images.shazam.com/static/icons/hub/ios/v5/applemusic_{scalefactor}.png",
            "actions": [
                {"name": "apple", "type": "applemusicplay", "id": song.apple_id.to_string()},
                {"name": "apple", "type": "uri", "uri": format!(
                    "https://audio-ssl.itunes.apple.com/itunes-assets/AudioPreview116/v4/{}/{}/{}/mzaf_{}.plus.aac.p.m4a",
                    &preview_hash[0..2], &preview_hash[2..4], &preview_hash[4..6], song.apple_id
                )},
            ],
            "explicit": song.explicit,
            "displayname": "APPLE MUSIC",
        },
        "artists": artists,
        "url": url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_shazam_urls() {
        assert_eq!(slug("Fine China"), "fine-china");
        assert_eq!(slug("APT."), "apt");
        assert_eq!(slug("좋은 날"), "좋은-날");
    }
}
