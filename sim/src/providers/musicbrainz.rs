//! MusicBrainz web service v2 stand-in under `/musicbrainz`: recording search
//! (`/ws/2/recording?query=&fmt=json`, Lucene-ish queries), recording lookup
//! (`/ws/2/recording/{mbid}`) and ISRC lookup (`/ws/2/isrc/{isrc}`).
//!
//! Callers must identify themselves with a meaningful User-Agent (403 without one or with a
//! bare library default); beyond 1 call per second MusicBrainz answers 503 with `Retry-After`.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::call::{Call, Failure};
use crate::catalog::{normalize, Catalog, SearchQuery, Song};
use crate::limits::retry_after_secs;
use crate::config::ProviderLimitConfig;
use crate::provider::{Provider, SimProvider};
use crate::state::{SimHandle, Verdict};
use crate::stats::Outcome;
use crate::wire::{self, Params};

const HELP: &str = "For usage, please see: https://musicbrainz.org/development/mmd";
const RATE_LIMITED: &str = "Your requests are exceeding the allowable rate limit. Please see http://wiki.musicbrainz.org/XMLWebService for more information.";
const BLOCKED_UA: &str = "Your requests are being blocked: please identify your application with a meaningful User-Agent, see https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting#Provide_meaningful_User-Agent_strings";
/// User-Agent prefixes of HTTP libraries' defaults, which MusicBrainz blocks.
const LIBRARY_AGENTS: &[&str] = &[
    "reqwest",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "curl",
    "wget",
    "go-http-client",
    "java",
    "okhttp",
    "axios",
    "node-fetch",
    "undici",
    "libwww-perl",
    "hyper",
];

/// Where it lives under the sim's port and its real kind of limit.
pub(crate) const SIM: SimProvider = SimProvider {
    name: "musicbrainz",
    base_path: "/musicbrainz/ws/2",
    // MusicBrainz: 1 call per second.
    limits: ProviderLimitConfig::rolling(1, 1_000),
};

/// MusicBrainz's routes.
pub(crate) fn router() -> Router<SimHandle> {
    Router::new()
        .route("/musicbrainz/ws/2/recording", get(search))
        .route("/musicbrainz/ws/2/recording/{id}", get(lookup))
        .route("/musicbrainz/ws/2/isrc/{isrc}", get(isrc))
}

fn error(status: StatusCode, message: &str) -> Response {
    wire::json(status, &json!({"error": message, "help": HELP}))
}

/// Outages, errors, 503 rate limiting and malformed bodies as MusicBrainz sends them.
pub(crate) fn failure(failure: Failure) -> Response {
    match failure {
        Failure::Outage => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The MusicBrainz web server is currently busy. Please try again later.",
        ),
        Failure::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        Failure::RateLimited { retry_after_secs } => wire::with_header(
            error(StatusCode::SERVICE_UNAVAILABLE, RATE_LIMITED),
            "retry-after",
            retry_after_secs,
        ),
        Failure::Malformed => wire::malformed(
            r#"{"created":"2026-06-01T10:00:00.000Z","count":312,"offset":0,"recordings":[{"id":"8b7fd1ba-7d7f-4b43-9a0a-3e2d1e8b7c11","score":100,"title":"One More Ti"#,
        ),
    }
}

/// Whether a User-Agent identifies an application (not missing, not a library default).
fn meaningful_user_agent(headers: &HeaderMap) -> bool {
    let Some(ua) = headers.get(USER_AGENT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let ua = ua.trim().to_ascii_lowercase();
    !ua.is_empty() && !LIBRARY_AGENTS.iter().any(|lib| ua.starts_with(lib))
}

/// Enters the call, checks the User-Agent, then the 1/s limiter.
async fn admitted(sim: &SimHandle, headers: &HeaderMap, endpoint: &str) -> Result<Call, Response> {
    let call = sim.enter(Provider::Musicbrainz, endpoint).await?;
    if !meaningful_user_agent(headers) {
        return Err(call.finish(Outcome::Rejected, error(StatusCode::FORBIDDEN, BLOCKED_UA)));
    }
    if let Verdict::Limited { retry_after } = call.admit() {
        let retry_after_secs = retry_after_secs(retry_after);
        return Err(call.fail(
            Outcome::Violation,
            Failure::RateLimited { retry_after_secs },
        ));
    }
    Ok(call)
}

fn not_found(call: Call) -> Response {
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Rejected
    };
    call.finish(outcome, error(StatusCode::NOT_FOUND, "Not Found"))
}

/// `"The Weeknd"` → `"Weeknd, The"`.
fn sort_name(name: &str) -> String {
    match name.strip_prefix("The ") {
        Some(rest) => format!("{rest}, The"),
        None => name.to_owned(),
    }
}

/// A recording as in search results and lookups.
fn recording(catalog: &Catalog, song: &Song, score: Option<u32>) -> Value {
    let n = song.artists.len();
    let credits: Vec<Value> = song
        .artists
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let a = catalog.artist_or_derived(name);
            let joinphrase = match n - i {
                1 => "",
                2 => " & ",
                _ => ", ",
            };
            json!({
                "name": a.name,
                "joinphrase": joinphrase,
                "artist": {"id": a.musicbrainz_id, "name": a.name, "sort-name": sort_name(&a.name)},
            })
        })
        .collect();
    let releases: Vec<Value> = catalog
        .album(song.album_id)
        .map(|album| {
            json!({
                "id": album.musicbrainz_id,
                "title": album.name,
                "status": "Official",
                "date": album.release_date,
                "country": if catalog.artist_or_derived(&album.artists[0]).korean { "KR" } else { "XW" },
                "track-count": album.track_ids.len(),
                "release-group": {
                    "primary-type": if album.album_type.as_str() == "single" { "Single" } else { "Album" },
                },
            })
        })
        .into_iter()
        .collect();
    let mut v = json!({
        "id": song.musicbrainz_id,
        "title": song.title,
        "length": song.duration_ms,
        "video": false,
        "artist-credit": credits,
        "first-release-date": song.release_date,
        "isrcs": [song.isrc],
        "releases": releases,
    });
    if let Some(score) = score {
        v["score"] = json!(score);
    }
    v
}

/// `GET /musicbrainz/ws/2/recording?query=&fmt=json&limit=&offset=`.
async fn search(
    State(sim): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let call = match admitted(&sim, &headers, "/ws/2/recording").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let params = Params::parse(raw.as_deref());
    let Some(q) = params.non_empty("query") else {
        return call.finish(
            Outcome::Rejected,
            error(
                StatusCode::BAD_REQUEST,
                "Invalid search query: missing query",
            ),
        );
    };
    let limit = params.int_in("limit", 25, 1..=100).unwrap_or(25) as usize;
    let offset = params
        .int_in("offset", 0, 0..=i64::from(u32::MAX))
        .unwrap_or(0) as usize;
    let catalog = call.catalog();
    let query = SearchQuery::parse(q);
    let page = if call.empty {
        None
    } else {
        Some(catalog.search_page(&query, offset, limit))
    };
    let wanted: Vec<&String> = query.title_like().collect();
    let recordings: Vec<Value> = page
        .as_ref()
        .map(|p| {
            p.items
                .iter()
                .enumerate()
                .map(|(i, song)| {
                    let exact = normalize(&song.title)
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .all(|w| wanted.iter().any(|t| t.as_str() == w));
                    let score = if exact {
                        100
                    } else {
                        90u32.saturating_sub(2 * (offset + i) as u32).max(40)
                    };
                    recording(&catalog, song, Some(score))
                })
                .collect()
        })
        .unwrap_or_default();
    let body = json!({
        "created": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "count": page.as_ref().map_or(0, |p| p.total),
        "offset": offset,
        "recordings": recordings,
    });
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Ok
    };
    call.finish(outcome, wire::json(StatusCode::OK, &body))
}

/// `GET /musicbrainz/ws/2/recording/{mbid}?fmt=json`.
async fn lookup(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = match admitted(&sim, &headers, "/ws/2/recording/{id}").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    match catalog.by_musicbrainz_id(&id) {
        Some(song) if !call.empty => {
            let body = recording(&catalog, song, None);
            call.finish(Outcome::Ok, wire::json(StatusCode::OK, &body))
        }
        _ => not_found(call),
    }
}

/// `GET /musicbrainz/ws/2/isrc/{isrc}?fmt=json` → `{"isrc", "recordings": [...]}`.
async fn isrc(
    State(sim): State<SimHandle>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = match admitted(&sim, &headers, "/ws/2/isrc/{isrc}").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    match catalog.by_isrc(&code) {
        Some(song) if !call.empty => {
            let body = json!({"isrc": song.isrc, "recordings": [recording(&catalog, song, None)]});
            call.finish(Outcome::Ok, wire::json(StatusCode::OK, &body))
        }
        _ => not_found(call),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn library_default_user_agents_are_not_meaningful() {
        let mut h = HeaderMap::new();
        assert!(!meaningful_user_agent(&h));
        for ua in ["reqwest/0.12", "python-requests/2.31", "curl/8.5.0", "  "] {
            h.insert(USER_AGENT, HeaderValue::from_static(ua));
            assert!(!meaningful_user_agent(&h), "{ua}");
        }
        h.insert(
            USER_AGENT,
            HeaderValue::from_static("MuzeWorker/0.1.0 ( ops@muze.example )"),
        );
        assert!(meaningful_user_agent(&h));
        assert_eq!(sort_name("The Weeknd"), "Weeknd, The");
    }
}
