//! The simulator's own routes: `GET /_health`, `GET /_stats`, and the `/_control` routes
//! through which a test, benchmark or operator sets faults, latency, arrival delays and limits
//! per provider, resets everything, or adds new releases. None of these calls is counted in the
//! stats.
//!
//! `POST /_control/{provider}` takes
//! `{"fault": "outage", "count": 3, "duration_ms": 1000, "retry_after_secs": 5, "delay_ms": 2000,
//!   "latency_ms": 50, "arrival": {"jitter_ms": 20, "slow_percent": 5, "slow_min_ms": 800,
//!   "slow_max_ms": 1500} | null, "limit": {"calls": 40, "window_ms": 10000} | "40/10s" | null,
//!   "daily_quota": 100 | null}` — every field optional (within `arrival` too), only what is
//! given changes; `"arrival": null` turns the arrival delay off.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use crate::arrival::ArrivalDelay;
use crate::catalog::Song;
use crate::faults::{Fault, FaultKind};
use crate::limits::LimitConfig;
use crate::provider::Provider;
use crate::state::SimHandle;
use crate::wire;

/// Most songs one `POST /_control/releases` may add.
const MAX_RELEASE_SONGS: usize = 10_000;

/// The control routes.
pub(crate) fn router() -> Router<SimHandle> {
    Router::new()
        .route("/_health", get(health))
        .route("/_stats", get(stats))
        .route("/_control/reset", post(reset))
        .route("/_control/releases", post(releases))
        .route("/_control/{provider}", post(control).get(show))
}

/// `{"error": {"status": N, "message": "..."}}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    wire::json(
        status,
        &json!({"error": {"status": status.as_u16(), "message": message}}),
    )
}

async fn health() -> Response {
    wire::json(StatusCode::OK, &json!({"status": "ok"}))
}

async fn stats(State(sim): State<SimHandle>) -> Response {
    wire::json(
        StatusCode::OK,
        &serde_json::to_value(sim.stats()).unwrap_or_default(),
    )
}

async fn reset(State(sim): State<SimHandle>) -> Response {
    sim.reset();
    wire::json(StatusCode::OK, &json!({"status": "reset"}))
}

/// A limit given as `{"calls", "window_ms"}` or as text (`"40/10s"`, `"off"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LimitSpec {
    Config(LimitConfig),
    Text(String),
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The `arrival` of `POST /_control/{provider}`: only the fields given change.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArrivalPatch {
    jitter_ms: Option<u64>,
    slow_percent: Option<u8>,
    slow_min_ms: Option<u64>,
    slow_max_ms: Option<u64>,
}

impl ArrivalPatch {
    /// `current` with the given fields replaced.
    fn apply(self, current: ArrivalDelay) -> ArrivalDelay {
        ArrivalDelay {
            jitter_ms: self.jitter_ms.unwrap_or(current.jitter_ms),
            slow_percent: self.slow_percent.unwrap_or(current.slow_percent),
            slow_min_ms: self.slow_min_ms.unwrap_or(current.slow_min_ms),
            slow_max_ms: self.slow_max_ms.unwrap_or(current.slow_max_ms),
        }
    }
}

/// The body of `POST /_control/{provider}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlRequest {
    fault: Option<FaultKind>,
    count: Option<u32>,
    duration_ms: Option<u64>,
    retry_after_secs: Option<u64>,
    delay_ms: Option<u64>,
    latency_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    arrival: Option<Option<ArrivalPatch>>,
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<LimitSpec>>,
    #[serde(default, deserialize_with = "present")]
    daily_quota: Option<Option<u32>>,
}

fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid body: {e}"))
}

fn parse_provider(name: &str) -> Result<Provider, String> {
    name.parse::<Provider>().map_err(|e| e.to_string())
}

/// What `GET`/`POST /_control/{provider}` answer: the provider's current settings.
fn provider_view(sim: &SimHandle, provider: Provider) -> Value {
    let limits = sim.limits(provider);
    json!({
        "provider": provider,
        "fault": sim.fault(provider),
        "latency_ms": sim.latency(provider),
        "arrival": sim.arrival(provider),
        "limit": limits.limit,
        "daily_quota": limits.daily_quota,
    })
}

async fn show(State(sim): State<SimHandle>, Path(provider): Path<String>) -> Response {
    match parse_provider(&provider) {
        Ok(p) => wire::json(StatusCode::OK, &provider_view(&sim, p)),
        Err(message) => error(StatusCode::NOT_FOUND, &message),
    }
}

async fn control(
    State(sim): State<SimHandle>,
    Path(provider): Path<String>,
    body: Bytes,
) -> Response {
    let provider = match parse_provider(&provider) {
        Ok(p) => p,
        Err(message) => return error(StatusCode::NOT_FOUND, &message),
    };
    let request: ControlRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let modifiers = request.count.is_some()
        || request.duration_ms.is_some()
        || request.retry_after_secs.is_some()
        || request.delay_ms.is_some();
    if modifiers && request.fault.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "count, duration_ms, retry_after_secs and delay_ms need a fault",
        );
    }
    let limit = match request.limit {
        None => None,
        Some(None) => Some(None),
        Some(Some(LimitSpec::Config(c))) if c.calls > 0 && c.window_ms > 0 => Some(Some(c)),
        Some(Some(LimitSpec::Config(_))) => {
            return error(
                StatusCode::BAD_REQUEST,
                "limit calls and window_ms must be positive",
            )
        }
        Some(Some(LimitSpec::Text(text))) => match LimitConfig::parse_optional(&text) {
            Ok(parsed) => Some(parsed),
            Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
        },
    };
    // First among the changes: a refused arrival delay leaves every setting as it was.
    let arrival = match request.arrival {
        None => None,
        Some(None) => Some(ArrivalDelay::OFF),
        Some(Some(patch)) => Some(patch.apply(sim.arrival(provider))),
    };
    if let Some(arrival) = arrival {
        if let Err(e) = sim.set_arrival(provider, arrival) {
            return error(StatusCode::BAD_REQUEST, &e.to_string());
        }
    }
    if let Some(kind) = request.fault {
        sim.set_fault(
            provider,
            Fault {
                kind,
                count: request.count,
                duration_ms: request.duration_ms,
                retry_after_secs: request.retry_after_secs,
                delay_ms: request.delay_ms,
            },
        );
    }
    if let Some(ms) = request.latency_ms {
        sim.set_latency(provider, ms);
    }
    if let Some(limit) = limit {
        sim.set_limit(provider, limit);
    }
    if let Some(quota) = request.daily_quota {
        sim.set_daily_quota(provider, quota);
    }
    tracing::info!(provider = %provider, fault = ?request.fault, arrival = ?arrival, "provider settings changed");
    wire::json(StatusCode::OK, &provider_view(&sim, provider))
}

/// The body of `POST /_control/releases`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleasesRequest {
    albums: Option<usize>,
    tracks_per_album: Option<usize>,
    songs: Option<usize>,
}

async fn releases(State(sim): State<SimHandle>, body: Bytes) -> Response {
    let request: ReleasesRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let songs: Vec<Song> = match (request.songs, request.albums, request.tracks_per_album) {
        (Some(n), None, None) if n <= MAX_RELEASE_SONGS => sim.add_new_releases(n),
        (None, albums, tracks) => {
            let (albums, tracks) = (albums.unwrap_or(3), tracks.unwrap_or(4).max(1));
            if albums.saturating_mul(tracks) > MAX_RELEASE_SONGS {
                return error(
                    StatusCode::BAD_REQUEST,
                    "too many songs at once (max 10000)",
                );
            }
            sim.add_new_release_albums(albums, tracks)
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give either songs (max 10000) or albums and tracks_per_album",
            )
        }
    };
    let catalog = sim.catalog();
    let mut album_ids: Vec<u32> = songs.iter().map(|s| s.album_id).collect();
    album_ids.dedup();
    let albums: Vec<Value> = album_ids
        .iter()
        .filter_map(|&id| catalog.album(id))
        .map(|album| {
            let mut v = serde_json::to_value(album).unwrap_or_default();
            v["tracks"] = json!(songs
                .iter()
                .filter(|s| s.album_id == album.id)
                .collect::<Vec<_>>());
            v
        })
        .collect();
    tracing::info!(
        songs = songs.len(),
        albums = albums.len(),
        "new releases added"
    );
    wire::json(StatusCode::OK, &json!({"albums": albums, "songs": songs}))
}
