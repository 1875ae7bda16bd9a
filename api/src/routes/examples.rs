//! The examples the OpenAPI document shows for each operation's answer. Each is built from the
//! real response types and serialized, so an example cannot disagree with its schema.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use muze_shared::{
    db::crawls::{CrawlStatus, CrawlView, PageCounts, Trigger},
    domain::{Attempt, AttemptOutcome, ProviderName, SearchStatus, SearchType, SearchView, Track},
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use muze_shared::rate_limit::{CircuitState, ProviderStatus};

use super::{
    admin::{ProviderEntry, ProviderList},
    tracks::TrackList,
};

const SEARCH_ID: Uuid = Uuid::from_u128(0x0193_7f3a_6c1e_7e0e_9d0b_4a47_9b8e_0d6f);
const TRACK_ID: Uuid = Uuid::from_u128(0x0193_7f3a_6c20_7a11_8c42_1f5e_2b7d_9e01);
const CRAWL_ID: Uuid = Uuid::from_u128(0x0193_7f40_0000_7000_8000_0000_0000_0001);

fn at(secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, secs)
        .single()
        .unwrap_or_default()
}

fn json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn track() -> Track {
    Track {
        id: TRACK_ID,
        title: "좋은 날".into(),
        artists: vec!["IU".into()],
        album: Some("Real".into()),
        duration_ms: Some(233_000),
        isrc: Some("KRA381001057".into()),
        release_date: Some("2010-12-09".into()),
        image_url: None,
        links: BTreeMap::from([
            (
                ProviderName::Spotify,
                "https://open.spotify.com/track/3P3UA61WRQqwCXaoFOTENd".into(),
            ),
            (
                ProviderName::Youtube,
                "https://www.youtube.com/watch?v=jeqdYqsrsA0".into(),
            ),
        ]),
    }
}

fn search(status: SearchStatus) -> SearchView {
    let done = status == SearchStatus::Succeeded;
    SearchView {
        id: SEARCH_ID,
        query: "아이유 좋은 날".into(),
        search_type: SearchType::Track,
        status,
        source: done.then(|| "spotify".into()),
        attempts: if done {
            vec![Attempt {
                provider: ProviderName::Spotify,
                outcome: AttemptOutcome::Ok,
                at: at(1),
                detail: None,
            }]
        } else {
            Vec::new()
        },
        created_at: at(0),
        finished_at: done.then(|| at(1)),
        error: None,
        results: if done { vec![track()] } else { Vec::new() },
    }
}

/// A search answered from the catalog.
pub fn search_from_catalog() -> Value {
    let mut view = search(SearchStatus::Succeeded);
    view.source = Some("catalog".into());
    view.attempts.clear();
    json(view)
}

/// A search just queued.
pub fn search_queued() -> Value {
    json(search(SearchStatus::Queued))
}

/// A search answered by a provider.
pub fn search_succeeded() -> Value {
    json(search(SearchStatus::Succeeded))
}

/// A catalog search's answer.
pub fn track_list() -> Value {
    json(TrackList {
        results: vec![track()],
    })
}

/// One catalog track.
pub fn one_track() -> Value {
    json(track())
}

/// A crawl just started.
pub fn crawl_started() -> Value {
    json(CrawlView {
        id: CRAWL_ID,
        trigger: Trigger::Admin,
        status: CrawlStatus::Running,
        sources: vec!["spotify".into(), "deezer".into()],
        created_at: at(0),
        finished_at: None,
        tick: None,
        pages: PageCounts {
            total: 3,
            pending: 3,
            ..PageCounts::default()
        },
        tracks_added: 0,
        errors: Vec::new(),
    })
}

/// The providers' budgets, as an operator sees them.
pub fn providers() -> Value {
    let spotify = ProviderStatus {
        provider: ProviderName::Spotify,
        budget: "spotify:3f6c1e0e5d0b4a47".into(),
        declared_limits: vec!["250/30000".into()],
        limit: "250/30s".into(),
        effective_limit: 250,
        calls_in_window: 12,
        calls_in_flight: 1,
        recovering_until: None,
        reserved_for_interactive: 50,
        cooldown_until: None,
        quota: None,
        circuit: CircuitState::Closed,
        circuit_open_until: None,
    };
    json(ProviderList {
        providers: vec![ProviderEntry {
            fallback_position: Some(0),
            status: spotify,
        }],
    })
}
