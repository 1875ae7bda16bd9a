//! YouTube Data API v3 stand-in under `/youtube`: `GET /youtube/youtube/v3/search`
//! (`search.list`).
//!
//! The `key` parameter identifies the project; every call made with it costs one unit of the
//! daily search quota (100/day, reset at midnight Pacific) — invalid calls included, as
//! Google documents. Over quota: 403 `quotaExceeded`. Titles come in the styles real uploads
//! use, HTML-escaped like the real API returns them.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use crate::call::{Call, Failure};
use crate::catalog::{image_hash, Catalog, SearchQuery, Song};
use crate::limits::retry_after_secs;
use crate::config::ProviderLimitConfig;
use crate::provider::{Provider, SimProvider};
use crate::state::{SimHandle, Verdict};
use crate::stats::Outcome;
use crate::wire::{self, html_escape, Params};

const QUOTA_MESSAGE: &str = "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.";
const NO_KEY_MESSAGE: &str = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
const BAD_KEY_MESSAGE: &str = "API key not valid. Please pass a valid API key.";

/// Where it lives under the sim's port and its real kind of limit.
pub(crate) const SIM: SimProvider = SimProvider {
    name: "youtube",
    base_path: "/youtube/youtube/v3",
    // YouTube: 100 search calls per day, reset at midnight Pacific.
    limits: ProviderLimitConfig::daily(100),
};

/// YouTube's routes.
pub(crate) fn router() -> Router<SimHandle> {
    Router::new().route("/youtube/youtube/v3/search", get(search))
}

/// A Google API error body: `{"error": {"code", "message", "errors": [{message, domain, reason}], "status"}}`.
fn google_error(
    status: StatusCode,
    domain: &str,
    reason: &str,
    message: &str,
    rpc_status: Option<&str>,
) -> Response {
    let mut error = json!({
        "code": status.as_u16(),
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    });
    if let Some(rpc_status) = rpc_status {
        error["status"] = json!(rpc_status);
    }
    wire::json(status, &json!({ "error": error }))
}

fn bad_request(call: Call, reason: &str, message: &str) -> Response {
    call.finish(
        Outcome::Rejected,
        google_error(
            StatusCode::BAD_REQUEST,
            "global",
            reason,
            message,
            Some("INVALID_ARGUMENT"),
        ),
    )
}

/// Outages, errors, quota errors and malformed bodies as Google sends them.
pub(crate) fn failure(failure: Failure) -> Response {
    match failure {
        Failure::Outage => google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "global",
            "backendError",
            "The service is currently unavailable.",
            Some("UNAVAILABLE"),
        ),
        Failure::ServerError => google_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "global",
            "backendError",
            "Backend Error",
            Some("INTERNAL"),
        ),
        Failure::RateLimited { .. } => google_error(
            StatusCode::FORBIDDEN,
            "youtube.quota",
            "quotaExceeded",
            QUOTA_MESSAGE,
            None,
        ),
        Failure::Malformed => wire::malformed(
            r#"{"kind":"youtube#searchListResponse","etag":"q2b1VbQeQzYv6XlC0o3Yx1s2a3E","nextPageToken":"CAUQAA","regionCode":"KR","pageInfo":{"totalResults":1000000,"resultsPerPage":5},"items":[{"kind":"youtube#searchResult","etag":"Xn1k0m","id":{"kind":"youtube#vid"#,
        ),
    }
}

/// `GET /youtube/youtube/v3/search?part=snippet&q=&type=video&videoCategoryId=10&maxResults=&key=`.
async fn search(State(sim): State<SimHandle>, RawQuery(raw): RawQuery) -> Response {
    let call = match sim.enter(Provider::Youtube, "/youtube/v3/search").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let params = Params::parse(raw.as_deref());
    let Some(key) = params.non_empty("key") else {
        return call.finish(
            Outcome::Rejected,
            google_error(
                StatusCode::FORBIDDEN,
                "global",
                "forbidden",
                NO_KEY_MESSAGE,
                Some("PERMISSION_DENIED"),
            ),
        );
    };
    if sim
        .config()
        .youtube_api_key
        .as_deref()
        .is_some_and(|expected| expected != key)
    {
        return bad_request(call, "badRequest", BAD_KEY_MESSAGE);
    }
    // From here on the call is the project's: it costs quota even if it is invalid.
    if let Verdict::Limited { retry_after } = call.admit() {
        let retry_after_secs = retry_after_secs(retry_after);
        return call.fail(
            Outcome::Violation,
            Failure::RateLimited { retry_after_secs },
        );
    }
    let part = match params.non_empty("part") {
        None => return bad_request(call, "required", "Required parameter: part"),
        Some(part) => part,
    };
    if !part
        .split(',')
        .map(str::trim)
        .all(|p| p == "snippet" || p == "id")
        || !part.contains("snippet")
    {
        return bad_request(call, "badRequest", &format!("'{part}'"));
    }
    let Ok(max_results) = params.int_in("maxResults", 5, 0..=50) else {
        return bad_request(
            call,
            "badRequest",
            &format!(
                "Invalid value '{}'. Values must be within the range: [0, 50]",
                params.get("maxResults").unwrap_or_default()
            ),
        );
    };
    let search_type = params.non_empty("type").unwrap_or("video,channel,playlist");
    if params.non_empty("videoCategoryId").is_some() && search_type != "video" {
        return bad_request(
            call,
            "invalidSearchFilter",
            "The request contains an invalid combination of search filters and/or restrictions. Note that you must set the type parameter to video if you set a value for the videoCategoryId parameter.",
        );
    }
    let offset = match params.non_empty("pageToken") {
        None => 0,
        Some(token) => match decode_page_token(token) {
            Some(offset) => offset,
            None => {
                return bad_request(
                    call,
                    "invalidPageToken",
                    "The request specifies an invalid page token.",
                )
            }
        },
    };
    let region = params.non_empty("regionCode").unwrap_or("KR").to_owned();
    let max_results = max_results as usize;
    let catalog = call.catalog();
    let (songs, total) = match (params.non_empty("q"), call.empty) {
        (Some(q), false) => {
            let page = catalog.search_page(&SearchQuery::text(q).forgiving_typos(), offset, max_results);
            (page.items, page.total)
        }
        _ => (Vec::new(), 0),
    };
    let items: Vec<Value> = songs.iter().map(|s| video(&catalog, s)).collect();
    let mut body = json!({
        "kind": "youtube#searchListResponse",
        "etag": etag(&["list", raw.as_deref().unwrap_or_default()]),
        "regionCode": region,
        "pageInfo": {"totalResults": total, "resultsPerPage": max_results},
        "items": items,
    });
    if offset + max_results < total && max_results > 0 {
        body["nextPageToken"] = json!(page_token(offset + max_results));
    }
    if offset > 0 {
        body["prevPageToken"] = json!(page_token(offset.saturating_sub(max_results.max(1))));
    }
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Ok
    };
    call.finish(outcome, wire::json(StatusCode::OK, &body))
}

fn page_token(offset: usize) -> String {
    format!(
        "CA{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o{offset}"))
    )
}

fn decode_page_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.strip_prefix("CA")?)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix('o')?
        .parse()
        .ok()
}

fn etag(parts: &[&str]) -> String {
    let hash = image_hash(parts);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash.as_bytes()[..20])
}

/// One `youtube#searchResult` for a song's video.
fn video(catalog: &Catalog, song: &Song) -> Value {
    let artist = catalog.artist_or_derived(song.primary_artist());
    let artists = song.artist_display();
    // Korean acts get every style (M/V, [MV] on 1theK, ...); others the Western ones.
    let roll = crate::catalog::image_hash(&["yt-style", &song.youtube_id]).as_bytes()[0];
    let style = if artist.korean {
        roll % 5
    } else {
        [0, 3, 4][usize::from(roll % 3)]
    };
    let (title, channel_title, channel_id) = match style {
        0 => (
            format!("{artists} - {} (Official Video)", song.title),
            format!("{}VEVO", artist.name.replace(' ', "")),
            artist.youtube_channel_id.clone(),
        ),
        1 => (
            format!("{artists} \"{}\" M/V", song.title),
            artist.name.clone(),
            artist.youtube_channel_id.clone(),
        ),
        2 => {
            let who = match &artist.alias {
                Some(alias) => format!("{}({alias})", artist.name),
                None => artist.name.clone(),
            };
            let what = match &song.title_alias {
                Some(alias) => format!("{alias}({})", song.title),
                None => song.title.clone(),
            };
            (
                "[MV] ".to_owned() + &who + " _ " + &what,
                "1theK (원더케이)".to_owned(),
                "UCweOkPb1wVVH0Q0Tlj4a5Pw".to_owned(),
            )
        }
        3 => (
            format!("{artists} - {} (Lyrics)", song.title),
            "Lyric Lane".to_owned(),
            "UCl9kf2YSuSmDgLTeQZM0zCg".to_owned(),
        ),
        _ => (
            format!("{} - {artists} | Official Audio", song.title),
            format!("{} - Topic", artist.name),
            artist.youtube_channel_id.clone(),
        ),
    };
    let description = format!(
        "Official video for \u{201c}{}\u{201d} by {artists}. Listen to '{}' out now: https://lnk.to/{}",
        song.title, song.album, song.youtube_id
    );
    let time = crate::catalog::image_hash(&["yt-time", &song.youtube_id]);
    let t = time.as_bytes();
    let published_at = format!(
        "{}T{:02}:{:02}:{:02}Z",
        song.release_date,
        t[0] % 24,
        t[1] % 60,
        t[2] % 60
    );
    let id = &song.youtube_id;
    json!({
        "kind": "youtube#searchResult",
        "etag": etag(&["video", id]),
        "id": {"kind": "youtube#video", "videoId": id},
        "snippet": {
            "publishedAt": published_at,
            "channelId": channel_id,
            "title": html_escape(&title),
            "description": html_escape(&description),
            "thumbnails": {
                "default": {"url": format!("https://i.ytimg.com/vi/{id}/default.jpg"), "width": 120, "height": 90},
                "medium": {"url": format!("https://i.ytimg.com/vi/{id}/mqdefault.jpg"), "width": 320, "height": 180},
                "high": {"url": format!("https://i.ytimg.com/vi/{id}/hqdefault.jpg"), "width": 480, "height": 360},
            },
            "channelTitle": html_escape(&channel_title),
            "liveBroadcastContent": "none",
            "publishTime": published_at,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip() {
        assert_eq!(decode_page_token(&page_token(25)), Some(25));
        assert_eq!(decode_page_token("garbage"), None);
    }
}
