//! Deezer's calls. Every call counts against the per-IP limit (50 / 5 s); over it, and for
//! unknown ids, Deezer still answers HTTP 200 with an `error` object.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::error;
use super::objects::objects;
use crate::call::{Call, Failure};
use crate::catalog::SearchQuery;
use crate::provider::Provider;
use crate::state::{SimHandle, Verdict};
use crate::stats::Outcome;
use crate::wire::{self, encode, Params};

/// Enters the call and runs the per-IP limiter.
async fn admitted(sim: &SimHandle, endpoint: &str) -> Result<Call, Response> {
    let call = sim.enter(Provider::Deezer, endpoint).await?;
    if let Verdict::Limited { .. } = call.admit() {
        // Deezer sends no Retry-After; the value is unused by its error shape.
        let retry_after_secs = 5;
        return Err(call.fail(
            Outcome::Violation,
            Failure::RateLimited { retry_after_secs },
        ));
    }
    Ok(call)
}

/// `no data` for an unknown id — or for any id under the `empty` fault (recorded as a fault).
fn no_data(call: Call) -> Response {
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Rejected
    };
    call.finish(outcome, error("DataException", "no data", 800))
}

/// `{"data": [...], "total": N, "prev"?: url, "next"?: url}` with `index`/`limit` paging.
fn listing(items: Vec<Value>, total: usize, base: &str, index: usize, limit: usize) -> Value {
    let mut body = Map::new();
    body.insert("data".into(), Value::Array(items));
    body.insert("total".into(), json!(total));
    let sep = if base.contains('?') { '&' } else { '?' };
    if index > 0 {
        let prev = index.saturating_sub(limit);
        body.insert("prev".into(), json!(format!("{base}{sep}index={prev}")));
    }
    if index + limit < total {
        let next = index + limit;
        body.insert("next".into(), json!(format!("{base}{sep}index={next}")));
    }
    Value::Object(body)
}

/// `index` (default 0) and `limit` (default `default_limit`, 1..=100).
fn paging(params: &Params, default_limit: i64) -> (usize, usize) {
    let index = params
        .int_in("index", 0, 0..=i64::from(u32::MAX))
        .unwrap_or(0) as usize;
    let limit = params
        .int_in("limit", default_limit, 1..=100)
        .unwrap_or(default_limit) as usize;
    (index, limit)
}

/// `GET /deezer/search?q=&index=&limit=` — tracks, no ISRC.
pub(crate) async fn search_tracks(
    State(sim): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    search(sim, headers, raw, false).await
}

/// `GET /deezer/search/album?q=`.
pub(crate) async fn search_albums(
    State(sim): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    search(sim, headers, raw, true).await
}

async fn search(sim: SimHandle, headers: HeaderMap, raw: Option<String>, albums: bool) -> Response {
    let endpoint = if albums { "/search/album" } else { "/search" };
    let call = match admitted(&sim, endpoint).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let params = Params::parse(raw.as_deref());
    let Some(q) = params.non_empty("q") else {
        let missing = error("MissingParameterException", "Missing parameters: q", 501);
        return call.finish(Outcome::Rejected, missing);
    };
    let (index, limit) = paging(&params, 25);
    let catalog = call.catalog();
    let o = objects(&catalog, &headers);
    let base = format!("{}{endpoint}?q={}", o.api, encode(q));
    // Deezer's search is fuzzy unless `strict=on`.
    let query = if params.non_empty("strict") == Some("on") {
        SearchQuery::parse(q)
    } else {
        SearchQuery::parse(q).forgiving_typos()
    };
    let (items, total) = if call.empty {
        (Vec::new(), 0)
    } else if albums {
        let page = catalog.search_albums(&query, index, limit);
        let items = page.items.iter().map(|a| o.album_listing(a)).collect();
        (items, page.total)
    } else {
        let page = catalog.search_page(&query, index, limit);
        let items = page.items.iter().map(|s| o.track_item(s)).collect();
        (items, page.total)
    };
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Ok
    };
    let body = listing(items, total, &base, index, limit);
    call.finish(outcome, wire::json(StatusCode::OK, &body))
}

/// `GET /deezer/track/{id}` or `/deezer/track/isrc:{ISRC}` — the full track with ISRC.
pub(crate) async fn track(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = match admitted(&sim, "/track/{id}").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    let song = match id.strip_prefix("isrc:") {
        Some(isrc) => catalog.by_isrc(isrc),
        None => id.parse().ok().and_then(|id| catalog.by_deezer_id(id)),
    };
    match song {
        Some(song) if !call.empty => {
            let body = objects(&catalog, &headers).track_full(song);
            call.finish(Outcome::Ok, wire::json(StatusCode::OK, &body))
        }
        _ => no_data(call),
    }
}

/// `GET /deezer/album/{id}` — the album with its tracks (no ISRC in them).
pub(crate) async fn album(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = match admitted(&sim, "/album/{id}").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    let album = match id
        .parse()
        .ok()
        .and_then(|id| catalog.album_by_deezer_id(id))
    {
        Some(album) if !call.empty => album,
        _ => return no_data(call),
    };
    let o = objects(&catalog, &headers);
    let songs = catalog.album_tracks(album);
    let tracks: Vec<Value> = songs.iter().map(|s| o.track_item(s)).collect();
    let duration: u32 = songs.iter().map(|s| (s.duration_ms + 500) / 1000).sum();
    let mut body = o.album_listing(album);
    body["upc"] = json!(format!(
        "{:012}",
        880_000_000_000u64 + u64::from(album.id) * 7_919
    ));
    body["label"] = json!("Muze Sim Records");
    body["duration"] = json!(duration);
    body["contributors"] = Value::Array(album.artists.iter().map(|a| o.artist(a, true)).collect());
    body["tracks"] = json!({ "data": tracks });
    call.finish(Outcome::Ok, wire::json(StatusCode::OK, &body))
}

/// `GET /deezer/album/{id}/tracks?index=&limit=` — tracks with ISRC and position.
pub(crate) async fn album_tracks(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let call = match admitted(&sim, "/album/{id}/tracks").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    let Some(album) = id
        .parse()
        .ok()
        .and_then(|id| catalog.album_by_deezer_id(id))
    else {
        return no_data(call);
    };
    let (index, limit) = paging(&Params::parse(raw.as_deref()), 25);
    let o = objects(&catalog, &headers);
    let tracks = catalog.album_tracks(album);
    let (items, total, outcome) = if call.empty {
        (Vec::new(), 0, Outcome::Fault)
    } else {
        let items = tracks
            .iter()
            .skip(index)
            .take(limit)
            .map(|s| o.album_track(s))
            .collect();
        (items, tracks.len(), Outcome::Ok)
    };
    let base = format!("{}/album/{}/tracks", o.api, album.deezer_id);
    let body = listing(items, total, &base, index, limit);
    call.finish(outcome, wire::json(StatusCode::OK, &body))
}

/// `GET /deezer/editorial/{id}/releases` — new-release albums, newest first.
pub(crate) async fn releases(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    new_albums(sim, headers, raw, &id, false).await
}

/// `GET /deezer/chart/{id}/albums` — the new releases again, with chart positions.
pub(crate) async fn chart_albums(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    new_albums(sim, headers, raw, &id, true).await
}

async fn new_albums(
    sim: SimHandle,
    headers: HeaderMap,
    raw: Option<String>,
    id: &str,
    chart: bool,
) -> Response {
    let endpoint = if chart {
        "/chart/{id}/albums"
    } else {
        "/editorial/{id}/releases"
    };
    let call = match admitted(&sim, endpoint).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    let o = objects(&catalog, &headers);
    let (index, limit) = paging(&Params::parse(raw.as_deref()), 25);
    let albums = if call.empty {
        Vec::new()
    } else {
        catalog.new_release_albums()
    };
    let items: Vec<Value> = albums
        .iter()
        .enumerate()
        .skip(index)
        .take(limit)
        .map(|(i, a)| {
            let mut v = o.album_listing(a);
            if chart {
                v["position"] = json!(i + 1);
            }
            v
        })
        .collect();
    let base = if chart {
        format!("{}/chart/{id}/albums", o.api)
    } else {
        format!("{}/editorial/{id}/releases", o.api)
    };
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Ok
    };
    let body = listing(items, albums.len(), &base, index, limit);
    call.finish(outcome, wire::json(StatusCode::OK, &body))
}
