//! Spotify Web API calls: `GET /v1/search`, `/v1/albums/{id}/tracks`, `/v1/albums/{id}` and
//! `/v1/tracks/{id}`, `/v1/artists/{id}` and `/v1/artists/{id}/albums`. Each needs a valid bearer token, counts against the rolling window
//! (300 calls / 30 s by default; 429 + `Retry-After` beyond it) and validates its parameters
//! as the real API does (`limit` 1..=10 on search since February 2026).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::auth::bearer;
use super::error;
use super::objects::{paging, Objects, Paging, SimplifiedAlbum, Track};
use crate::call::{Call, Failure};
use crate::catalog::SearchQuery;
use crate::limits::retry_after_secs;
use crate::provider::Provider;
use crate::state::{SimHandle, Verdict};
use crate::stats::Outcome;
use crate::wire::{self, encode, origin, Params};

/// Search item types the real API accepts.
const SEARCH_TYPES: &[&str] = &[
    "album",
    "artist",
    "playlist",
    "track",
    "show",
    "episode",
    "audiobook",
];

/// Enters the call, checks the bearer token and the rolling limit.
async fn authorized(
    sim: &SimHandle,
    headers: &HeaderMap,
    endpoint: &str,
) -> Result<Call, Response> {
    let call = sim.enter(Provider::Spotify, endpoint).await?;
    if let Err(message) = bearer(sim, headers) {
        return Err(call.finish(Outcome::Rejected, error(StatusCode::UNAUTHORIZED, message)));
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

fn bad_request(call: Call, message: &str) -> Response {
    call.finish(Outcome::Rejected, error(StatusCode::BAD_REQUEST, message))
}

/// 404 for an unknown id — or for any id under the `empty` fault (recorded as a fault).
fn not_found(call: Call) -> Response {
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Rejected
    };
    call.finish(outcome, error(StatusCode::NOT_FOUND, "Resource not found"))
}

/// `GET /spotify/v1/search?q=&type=&market=&limit=&offset=`.
pub(crate) async fn search(
    State(sim): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let call = match authorized(&sim, &headers, "/v1/search").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let params = Params::parse(raw.as_deref());
    // Spotify's own `href`/`next` links spell the query `query=`; following them works.
    let Some(q) = params.non_empty("q").or_else(|| params.non_empty("query")) else {
        return bad_request(call, "No search query");
    };
    let Some(type_param) = params.non_empty("type") else {
        return bad_request(call, "Missing parameter type");
    };
    let types: Vec<&str> = type_param.split(',').map(str::trim).collect();
    if let Some(bad) = types.iter().find(|t| !SEARCH_TYPES.contains(t)) {
        return bad_request(call, &format!("Bad search type field {bad}"));
    }
    let Ok(limit) = params.int_in("limit", 5, 1..=10) else {
        return bad_request(call, "Invalid limit");
    };
    let Ok(offset) = params.int_in("offset", 0, 0..=1000) else {
        return bad_request(call, "Invalid offset");
    };
    let market = params.non_empty("market");
    if market.is_some_and(|m| {
        m != "from_token" && !(m.len() == 2 && m.bytes().all(|b| b.is_ascii_alphabetic()))
    }) {
        return bad_request(call, "Invalid market code");
    }
    let (limit, offset) = (limit as usize, offset as usize);

    let catalog = call.catalog();
    let objects = Objects {
        catalog: &catalog,
        api: format!("{}/spotify/v1", origin(&headers)),
    };
    let market_part = market
        .map(|m| format!("&market={}", encode(m)))
        .unwrap_or_default();
    let base = format!(
        "{}/search?query={}&type={}{market_part}",
        objects.api,
        encode(q),
        encode(type_param)
    );
    let query = SearchQuery::parse(q).forgiving_typos();
    let empty = call.empty;
    let mut body = SearchItems::default();
    for t in &types {
        let nothing = || paging(&base, Vec::<Value>::new(), offset, limit, 0);
        match *t {
            "track" if empty => body.tracks = Some(paging(&base, Vec::new(), offset, limit, 0)),
            "track" => {
                let page = catalog.search_page(&query, offset, limit);
                let items = page.items.iter().map(|s| objects.track(s)).collect();
                body.tracks = Some(paging(&base, items, offset, limit, page.total));
            }
            "album" if empty => body.albums = Some(paging(&base, Vec::new(), offset, limit, 0)),
            "album" => {
                let page = catalog.search_albums(&query, offset, limit);
                let items = page
                    .items
                    .iter()
                    .map(|a| objects.simplified_album(a))
                    .collect();
                body.albums = Some(paging(&base, items, offset, limit, page.total));
            }
            "artist" => body.artists = Some(nothing()),
            "playlist" => body.playlists = Some(nothing()),
            "show" => body.shows = Some(nothing()),
            "episode" => body.episodes = Some(nothing()),
            _ => body.audiobooks = Some(nothing()),
        }
    }
    let outcome = if empty { Outcome::Fault } else { Outcome::Ok };
    call.finish(outcome, wire::json(StatusCode::OK, &body))
}

/// The search answer: one paging object per requested type.
#[derive(Debug, Default, Serialize)]
struct SearchItems<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    tracks: Option<Paging<Track<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    albums: Option<Paging<SimplifiedAlbum<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artists: Option<Paging<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    playlists: Option<Paging<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shows: Option<Paging<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episodes: Option<Paging<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audiobooks: Option<Paging<Value>>,
}

/// `GET /spotify/v1/albums/{id}/tracks?limit=&offset=` — SimplifiedTrackObjects (no ISRC).
pub(crate) async fn album_tracks(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let call = match authorized(&sim, &headers, "/v1/albums/{id}/tracks").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let params = Params::parse(raw.as_deref());
    let Ok(limit) = params.int_in("limit", 20, 1..=50) else {
        return bad_request(call, "Invalid limit");
    };
    let Ok(offset) = params.int_in("offset", 0, 0..=i64::from(u32::MAX)) else {
        return bad_request(call, "Invalid offset");
    };
    let (limit, offset) = (limit as usize, offset as usize);
    let catalog = call.catalog();
    let Some(album) = catalog.album_by_spotify_id(&id) else {
        return not_found(call);
    };
    let objects = Objects {
        catalog: &catalog,
        api: format!("{}/spotify/v1", origin(&headers)),
    };
    let base = format!("{}/albums/{id}/tracks", objects.api);
    let tracks = catalog.album_tracks(album);
    let (items, total, outcome) = if call.empty {
        (Vec::new(), 0, Outcome::Fault)
    } else {
        let items = tracks
            .iter()
            .skip(offset)
            .take(limit)
            .map(|s| objects.simplified_track(s))
            .collect();
        (items, tracks.len(), Outcome::Ok)
    };
    call.finish(
        outcome,
        wire::json(StatusCode::OK, &paging(&base, items, offset, limit, total)),
    )
}

/// `GET /spotify/v1/albums/{id}` — an AlbumObject with its first 50 tracks.
pub(crate) async fn album(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = match authorized(&sim, &headers, "/v1/albums/{id}").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    let album = match catalog.album_by_spotify_id(&id) {
        Some(album) if !call.empty => album,
        _ => return not_found(call),
    };
    let objects = Objects {
        catalog: &catalog,
        api: format!("{}/spotify/v1", origin(&headers)),
    };
    let tracks = catalog.album_tracks(album);
    let items = tracks
        .iter()
        .take(50)
        .map(|s| objects.simplified_track(s))
        .collect();
    let page = paging(
        &format!("{}/albums/{id}/tracks", objects.api),
        items,
        0,
        50,
        tracks.len(),
    );
    call.finish(
        Outcome::Ok,
        wire::json(StatusCode::OK, &objects.album(album, page)),
    )
}

/// `GET /spotify/v1/tracks/{id}` — a TrackObject with `external_ids.isrc`.
pub(crate) async fn track(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = match authorized(&sim, &headers, "/v1/tracks/{id}").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    let song = match catalog.by_spotify_id(&id) {
        Some(song) if !call.empty => song,
        _ => return not_found(call),
    };
    let objects = Objects {
        catalog: &catalog,
        api: format!("{}/spotify/v1", origin(&headers)),
    };
    call.finish(
        Outcome::Ok,
        wire::json(StatusCode::OK, &objects.track(song)),
    )
}

/// `GET /spotify/v1/artists/{id}` — an ArtistObject.
pub(crate) async fn artist(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = match authorized(&sim, &headers, "/v1/artists/{id}").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let catalog = call.catalog();
    let artist = match catalog.artist_by_spotify_id(&id) {
        Some(artist) if !call.empty => artist,
        _ => return not_found(call),
    };
    let objects = Objects {
        catalog: &catalog,
        api: format!("{}/spotify/v1", origin(&headers)),
    };
    call.finish(
        Outcome::Ok,
        wire::json(StatusCode::OK, &objects.full_artist(artist)),
    )
}

/// `GET /spotify/v1/artists/{id}/albums?include_groups=&limit=&offset=` — the artist's
/// albums, newest first (`limit` 1..=10, default 5, since February 2026).
pub(crate) async fn artist_albums(
    State(sim): State<SimHandle>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let call = match authorized(&sim, &headers, "/v1/artists/{id}/albums").await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let params = Params::parse(raw.as_deref());
    let Ok(limit) = params.int_in("limit", 5, 1..=10) else {
        return bad_request(call, "Invalid limit");
    };
    let Ok(offset) = params.int_in("offset", 0, 0..=i64::from(u32::MAX)) else {
        return bad_request(call, "Invalid offset");
    };
    let (limit, offset) = (limit as usize, offset as usize);
    let groups: Vec<&str> = params
        .non_empty("include_groups")
        .map(|g| g.split(',').map(str::trim).collect())
        .unwrap_or_else(|| vec!["album", "single", "appears_on", "compilation"]);
    let catalog = call.catalog();
    let Some(artist) = catalog.artist_by_spotify_id(&id) else {
        return not_found(call);
    };
    let objects = Objects {
        catalog: &catalog,
        api: format!("{}/spotify/v1", origin(&headers)),
    };
    let albums: Vec<_> = if call.empty {
        Vec::new()
    } else {
        catalog
            .albums_by_artist(&artist.name)
            .into_iter()
            .filter(|a| groups.contains(&a.album_type.as_str()))
            .collect()
    };
    let items = albums
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| {
            let mut v = objects.simplified_album(a);
            v.album_group = Some(a.album_type.as_str());
            v
        })
        .collect();
    let base = format!("{}/artists/{id}/albums", objects.api);
    let outcome = if call.empty {
        Outcome::Fault
    } else {
        Outcome::Ok
    };
    call.finish(
        outcome,
        wire::json(
            StatusCode::OK,
            &paging(&base, items, offset, limit, albums.len()),
        ),
    )
}
