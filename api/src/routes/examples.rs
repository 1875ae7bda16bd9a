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

/// The operators' status, as the page reads it.
pub fn status() -> Value {
    use crate::status::report::{
        CallHistory, CrawlProgress, CrawlReport, Health, HealthLevel, ParkedReport, ProviderReport,
        QueueReport, SearchRates, StatusReport,
    };
    let queue = |kind, ready, running, consumers| QueueReport {
        kind,
        ready,
        delayed: 2,
        parked: 0,
        consumers,
        running,
    };
    json(StatusReport {
        generated_at: at(30),
        health: Health {
            level: HealthLevel::Ok,
            problems: Vec::new(),
        },
        providers: vec![ProviderReport {
            provider: ProviderName::Spotify,
            fallback_position: Some(0),
            limit: "250/30s".into(),
            window_secs: 30.0,
            effective_limit: 250,
            calls_in_window: 212,
            calls_in_flight: 3,
            reserved_for_interactive: 50,
            cooldown_until: None,
            recovering_until: None,
            circuit: CircuitState::Closed,
            circuit_open_until: None,
            quota: None,
            history: CallHistory {
                bucket_secs: 30.0,
                calls: vec![180, 240, 250, 236, 199, 205, 248, 250, 231, 212],
            },
        }],
        queues: vec![queue("search", 4, 16, 2), queue("crawl", 120, 8, 2)],
        searches: SearchRates {
            window_secs: 60.0,
            per_second: 41.5,
            catalog_answers: 1743,
            upstream_answers: 747,
            catalog_hit_ratio: Some(0.7),
            jobs_per_second: 7.2,
            jobs_finished: 431,
            jobs_failed: 3,
            p50_ms: Some(182.0),
            p99_ms: Some(1210.0),
        },
        crawls: CrawlReport {
            running: vec![CrawlProgress {
                id: Uuid::from_u128(0x0193_5a1e_7c2b_7d4e_9a10_3c5f_6e7d_8a9b),
                trigger: "schedule".into(),
                created_at: at(0),
                pages_total: 64,
                pages_done: 41,
                pages_failed: 1,
            }],
            schedule: "0 0 3 * * * (Asia/Seoul)".into(),
            next_tick: Some(
                Utc.with_ymd_and_hms(2026, 3, 1, 18, 0, 0)
                    .single()
                    .unwrap_or_default(),
            ),
            last_tick: Some(
                Utc.with_ymd_and_hms(2026, 2, 28, 18, 0, 0)
                    .single()
                    .unwrap_or_default(),
            ),
        },
        parked: ParkedReport {
            search: 0,
            crawl: 0,
            listing: None,
        },
    })
}

/// The page's first bytes.
pub fn status_page() -> Value {
    Value::String("<!doctype html><html lang=\"en\">…<title>Muze status</title>…".into())
}

/// Parked search messages, as an operator lists them.
pub fn parked() -> Value {
    use super::parked::{JobKind, ParkedEntry, ParkedList};
    let parked_at = at(9);
    json(ParkedList {
        kind: JobKind::Search,
        total: 1,
        messages: vec![ParkedEntry {
            id: SEARCH_ID.to_string(),
            reason: "no search with this id".into(),
            parked_at: Some(parked_at),
            age_secs: Some(420),
            summary: format!("search {SEARCH_ID} for \"아이유 좋은 날\""),
        }],
    })
}

/// A re-drive's outcome.
pub fn redriven() -> Value {
    json(super::parked::Redriven {
        redriven: 3,
        kept: 1,
    })
}

/// A purge's outcome.
pub fn purged() -> Value {
    json(super::parked::Purged { purged: 4 })
}
