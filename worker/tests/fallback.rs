//! Provider fallback, end to end: faults injected into `muze-sim`, and what the user sees in
//! the search (`status`, `source`, the attempt record), what the providers saw (the sim's call
//! counters) and what the catalog holds.

mod support;

use std::time::{Duration, Instant};

use muze_shared::domain::ProviderName;
use muze_testkit::catalog_queries;
use muze_worker::jobs::search::MAX_TRANSIENT_RETRIES;
use serde_json::{json, Value};
use support::{Options, System};

const DONE: Duration = Duration::from_secs(30);
const SPOTIFY_SEARCH: &str = "/v1/search";
const YOUTUBE_SEARCH: &str = "/youtube/v3/search";

/// The attempt record as `(provider, outcome)` pairs, in order.
fn attempts(search: &Value) -> Vec<(String, String)> {
    search["attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("attempts in {search}"))
        .iter()
        .map(|a| {
            (
                a["provider"].as_str().unwrap_or_default().to_string(),
                a["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `[("spotify", "error"), ...]` from `&[("spotify", "error"), ...]`.
/// The detail a worker recorded for one attempt: kept in Postgres for operators, not shown to
/// clients (who see only the outcome).
async fn stored_detail(system: &System, search: &Value, index: usize) -> String {
    let id: uuid::Uuid = search["id"].as_str().expect("id").parse().expect("uuid");
    let pool = system.db().await;
    let (detail,): (Option<String>,) =
        sqlx::query_as("SELECT attempts -> $2::int ->> 'detail' FROM searches WHERE id = $1")
            .bind(id)
            .bind(i32::try_from(index).expect("small"))
            .fetch_one(&pool)
            .await
            .expect("search row");
    pool.close().await;
    assert!(
        search["attempts"][index].get("detail").is_none(),
        "a client saw the detail: {search}"
    );
    detail.unwrap_or_default()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(p, o)| (p.to_string(), o.to_string()))
        .collect()
}

/// Searches `query` and waits for the final state.
async fn search_done(system: &System, query: &str) -> Value {
    let id = system.search(query).await;
    system.wait_done(&id, DONE).await
}

/// The result titled `title`.
fn result<'a>(search: &'a Value, title: &str) -> &'a Value {
    let results = search["results"].as_array().expect("results");
    results
        .iter()
        .find(|t| t["title"] == title)
        .unwrap_or_else(|| panic!("{title:?} among {results:?}"))
}

fn assert_answered(search: &Value, source: &str, expected: &[(&str, &str)]) {
    assert_eq!(search["status"], "succeeded", "{search}");
    assert_eq!(search["source"], source, "{search}");
    assert_eq!(attempts(search), pairs(expected), "{search}");
    assert!(
        !search["results"].as_array().expect("results").is_empty(),
        "{search}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spotify_down_is_answered_by_youtube() {
    // Arrange
    let system = System::start(Options {
        providers: "spotify,youtube,shazam",
        ..Options::default()
    })
    .await;
    system
        .sim_control("spotify", json!({"fault": "outage"}))
        .await;

    // Act
    let done = search_done(&system, "One More Time Daft Punk").await;

    // Assert
    assert_answered(&done, "youtube", &[("spotify", "error"), ("youtube", "ok")]);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spotify_and_youtube_down_is_answered_by_shazam() {
    // Arrange
    let system = System::start(Options {
        providers: "spotify,youtube,shazam",
        ..Options::default()
    })
    .await;
    system
        .sim_control("spotify", json!({"fault": "outage"}))
        .await;
    system
        .sim_control("youtube", json!({"fault": "outage"}))
        .await;

    // Act
    let done = search_done(&system, "One More Time Daft Punk").await;

    // Assert
    assert_answered(
        &done,
        "shazam",
        &[("spotify", "error"), ("youtube", "error"), ("shazam", "ok")],
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spotify_429_moves_on_at_once_and_spotify_is_left_alone_for_its_retry_after() {
    // Arrange
    let system = System::start(Options {
        providers: "spotify,youtube",
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"fault": "rate_limited", "retry_after_secs": 5, "count": 1}),
        )
        .await;

    // Act
    let started = Instant::now();
    let throttled = search_done(&system, "Dynamite BTS").await;
    let mut during = Vec::new();
    // Other songs: "Dynamite BTS" again would be answered from our catalog.
    for q in catalog_queries(6).iter().skip(3).take(2) {
        during.push(search_done(&system, q).await);
    }
    let in_retry_after = started.elapsed() < Duration::from_millis(4_800);
    let spotify_calls = system.sim_calls("spotify", SPOTIFY_SEARCH).await;

    // Assert
    assert_answered(
        &throttled,
        "youtube",
        &[("spotify", "rate_limited"), ("youtube", "ok")],
    );
    let detail = stored_detail(&system, &throttled, 0).await;
    assert!(detail.contains("retry after 5 s"), "{detail}");
    assert!(
        throttled["finished_at"].is_string(),
        "answered without waiting: {throttled}"
    );
    if in_retry_after {
        for done in &during {
            assert_answered(done, "youtube", &[("youtube", "ok")]);
        }
        assert_eq!(
            spotify_calls, 1,
            "Spotify was called during its Retry-After"
        );
    }
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_spotify_token_is_refreshed_once_and_the_search_still_succeeds() {
    // Arrange: a first search fetches a token; then Spotify invalidates it.
    let system = System::start(Options {
        providers: "spotify,youtube,shazam",
        ..Options::default()
    })
    .await;
    let first = search_done(&system, "Dynamite BTS").await;
    assert_answered(&first, "spotify", &[("spotify", "ok")]);
    let tokens_before = system.sim_calls("spotify", "/api/token").await;
    let searches_before = system.sim_calls("spotify", SPOTIFY_SEARCH).await;
    assert_eq!((tokens_before, searches_before), (1, 1));
    system
        .sim_control("spotify", json!({"fault": "expire_tokens"}))
        .await;

    // Act
    let second = search_done(&system, "Hype Boy NewJeans").await;

    // Assert: one 401, one new token, one resent call, all inside a single attempt.
    assert_answered(&second, "spotify", &[("spotify", "ok")]);
    assert_eq!(
        system.sim_calls("spotify", "/api/token").await,
        tokens_before + 1,
        "the token is refreshed exactly once"
    );
    assert_eq!(
        system.sim_calls("spotify", SPOTIFY_SEARCH).await,
        searches_before + 2,
        "the refused call and its retry"
    );
    // The token was fetched before each grant, and the resend took a grant of its own.
    let status = system
        .limiter()
        .await
        .status(ProviderName::Spotify)
        .await
        .expect("status");
    assert_eq!(status.calls_in_window, 3, "one grant per call sent");
    assert_eq!(status.calls_in_flight, 0, "every grant was reported");
    // The new token keeps working.
    let third = search_done(&system, "One More Time Daft Punk").await;
    assert_answered(&third, "spotify", &[("spotify", "ok")]);
    assert_eq!(
        system.sim_calls("spotify", "/api/token").await,
        tokens_before + 1
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_spotify_body_falls_back_without_retrying_the_job() {
    // Arrange
    let system = System::start(Options {
        providers: "spotify,youtube,shazam",
        ..Options::default()
    })
    .await;
    system
        .sim_control("spotify", json!({"fault": "malformed"}))
        .await;

    // Act
    let id = system.search("Dynamite BTS").await;
    let done = system.wait_done(&id, DONE).await;
    // Long enough for a retry through the shortest backoff (1 s) to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Assert
    assert_answered(&done, "youtube", &[("spotify", "error"), ("youtube", "ok")]);
    let detail = stored_detail(&system, &done, 0).await;
    assert!(detail.contains("malformed"), "{detail}");
    assert_eq!(system.sim_calls("spotify", SPOTIFY_SEARCH).await, 1);
    assert_eq!(system.sim_calls("youtube", YOUTUBE_SEARCH).await, 1);
    assert_eq!(system.get_search(&id, 0).await, done, "the job ran again");
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_empty_spotify_answer_falls_back_to_youtube() {
    // Arrange
    let system = System::start(Options {
        providers: "spotify,youtube,shazam",
        ..Options::default()
    })
    .await;
    system
        .sim_control("spotify", json!({"fault": "empty"}))
        .await;

    // Act
    let done = search_done(&system, "Dynamite BTS").await;

    // Assert
    assert_answered(&done, "youtube", &[("spotify", "empty"), ("youtube", "ok")]);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_provider_down_fails_upstream_unavailable_after_bounded_retries() {
    // Arrange
    let system = System::start(Options {
        providers: "spotify,youtube,shazam",
        ..Options::default()
    })
    .await;
    for provider in ["spotify", "youtube", "shazam"] {
        system
            .sim_control(provider, json!({"fault": "outage"}))
            .await;
    }

    // Act
    let started = Instant::now();
    let id = system.search("Dynamite BTS").await;
    let done = system.wait_done(&id, Duration::from_secs(55)).await;
    let took = started.elapsed();

    // Assert
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "upstream_unavailable", "{done}");
    assert!(done["source"].is_null(), "{done}");
    let rounds = MAX_TRANSIENT_RETRIES as usize + 1;
    let one_round = [
        ("spotify", "error"),
        ("youtube", "error"),
        ("shazam", "error"),
    ];
    let expected: Vec<(&str, &str)> = one_round.iter().copied().cycle().take(3 * rounds).collect();
    assert_eq!(attempts(&done), pairs(&expected), "{done}");
    for (provider, endpoint) in [
        ("spotify", SPOTIFY_SEARCH),
        ("youtube", YOUTUBE_SEARCH),
        ("shazam", "/search"),
    ] {
        assert_eq!(
            system.sim_calls(provider, endpoint).await,
            rounds as u64,
            "{provider} calls"
        );
    }
    // Backoffs of 1 + 2 + 5 s, against a 60 s deadline.
    assert!(took < Duration::from_secs(40), "took {took:?}");
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_song_from_spotify_and_later_from_deezer_is_one_track_with_two_links() {
    // Arrange: Spotify answers first and the song enters the catalog.
    let system = System::start(Options {
        providers: "spotify,deezer",
        ..Options::default()
    })
    .await;
    let first = search_done(&system, "Dynamite BTS").await;
    assert_answered(&first, "spotify", &[("spotify", "ok")]);
    let from_spotify = result(&first, "Dynamite");
    assert!(
        from_spotify["links"]["spotify"].is_string(),
        "{from_spotify}"
    );
    assert!(from_spotify["isrc"].is_string(), "{from_spotify}");

    // Act: Spotify is down; Deezer (no ISRC in its search items) answers a search naming only
    // the title (title and artist together would be answered from our catalog).
    system
        .sim_control("spotify", json!({"fault": "outage"}))
        .await;
    let second = search_done(&system, "Dynamite").await;

    // Assert
    assert_answered(&second, "deezer", &[("spotify", "error"), ("deezer", "ok")]);
    let from_deezer = second["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|t| t["title"] == "Dynamite" && t["artists"][0] == "BTS")
        .unwrap_or_else(|| panic!("BTS's Dynamite among {second}"));
    assert_eq!(from_deezer["id"], from_spotify["id"], "{second}");
    assert_eq!(
        from_deezer["links"]["spotify"], from_spotify["links"]["spotify"],
        "{from_deezer}"
    );
    assert!(
        from_deezer["links"]["deezer"]
            .as_str()
            .is_some_and(|l| l.starts_with("https://www.deezer.com/")),
        "{from_deezer}"
    );
    assert_eq!(from_deezer["isrc"], from_spotify["isrc"], "{from_deezer}");
    let db = system.db().await;
    let tracks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tracks WHERE match_key = (SELECT match_key FROM tracks WHERE id = $1::uuid)",
    )
    .bind(from_spotify["id"].as_str().expect("id"))
    .fetch_one(&db)
    .await
    .expect("count");
    assert_eq!(tracks, 1);
    db.close().await;
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_circuit_breaker_skips_a_failing_spotify_then_probes_it_after_the_cool_off() {
    // Arrange
    const COOL_OFF: Duration = Duration::from_secs(6);
    let system = System::start(Options {
        providers: "spotify,youtube",
        extra_env: vec![(
            "MUZE__PROVIDERS__SPOTIFY__BREAKER_COOLOFF_SECS".into(),
            COOL_OFF.as_secs().to_string(),
        )],
        ..Options::default()
    })
    .await;
    system
        .sim_control("spotify", json!({"fault": "error"}))
        .await;
    let queries = catalog_queries(10);

    // Act 1: five searches in a row meet Spotify's HTTP 500 and fall back to YouTube.
    let mut opened_no_earlier_than = Instant::now();
    for q in &queries[..5] {
        opened_no_earlier_than = Instant::now();
        let done = search_done(&system, q).await;
        assert_answered(&done, "youtube", &[("spotify", "error"), ("youtube", "ok")]);
    }
    assert_eq!(system.sim_calls("spotify", SPOTIFY_SEARCH).await, 5);

    // Act 2: the circuit is open; searches skip Spotify without calling it.
    let mut during = Vec::new();
    for q in &queries[5..8] {
        during.push(search_done(&system, q).await);
    }
    let spotify_calls_while_open = system.sim_calls("spotify", SPOTIFY_SEARCH).await;
    assert!(
        opened_no_earlier_than.elapsed() < COOL_OFF,
        "the open-circuit searches took longer than the cool-off"
    );
    for done in &during {
        assert_answered(done, "youtube", &[("youtube", "ok")]);
    }
    assert_eq!(spotify_calls_while_open, 5, "Spotify was called while open");

    // Act 3: Spotify recovers; after the cool-off one probe goes to it and it answers again.
    system
        .sim_control("spotify", json!({"fault": "none"}))
        .await;
    tokio::time::sleep_until(
        (opened_no_earlier_than + COOL_OFF + Duration::from_millis(500)).into(),
    )
    .await;
    let probe = search_done(&system, &queries[8]).await;

    // Assert
    assert_answered(&probe, "spotify", &[("spotify", "ok")]);
    assert_eq!(system.sim_calls("spotify", SPOTIFY_SEARCH).await, 6);
    // A song not asked before (an earlier one would now be answered from our catalog).
    let after = search_done(&system, &queries[9]).await;
    assert_answered(&after, "spotify", &[("spotify", "ok")]);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_without_credentials_is_disabled_and_keyless_providers_need_none() {
    // Arrange: no Spotify client id or secret at all; Deezer and MusicBrainz take no keys.
    let system = System::start(Options {
        providers: "spotify,deezer,musicbrainz",
        unset_env: vec![
            "MUZE__PROVIDERS__SPOTIFY__CLIENT_ID".into(),
            "MUZE__PROVIDERS__SPOTIFY__CLIENT_SECRET".into(),
        ],
        ..Options::default()
    })
    .await;
    let settings = system.settings();
    assert!(settings
        .providers
        .get(ProviderName::Spotify)
        .client_id
        .is_none());
    assert!(settings
        .providers
        .get(ProviderName::Spotify)
        .client_secret
        .is_none());
    assert!(settings
        .providers
        .get(ProviderName::Deezer)
        .api_key
        .is_none());
    assert!(settings
        .providers
        .get(ProviderName::Musicbrainz)
        .api_key
        .is_none());

    // Act
    let from_deezer = search_done(&system, "Dynamite BTS").await;
    system
        .sim_control("deezer", json!({"fault": "outage"}))
        .await;
    let from_musicbrainz = search_done(&system, "Hype Boy NewJeans").await;

    // Assert
    assert_answered(&from_deezer, "deezer", &[("deezer", "ok")]);
    assert_answered(
        &from_musicbrainz,
        "musicbrainz",
        &[("deezer", "error"), ("musicbrainz", "ok")],
    );
    let stats = system.sim_stats().await;
    assert_eq!(
        stats["providers"]["spotify"]["calls"].as_u64().unwrap_or(0),
        0,
        "Spotify was called: {stats}"
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_from_the_only_provider_waits_for_its_retry_after_instead_of_failing() {
    // Arrange
    let system = System::start(Options {
        providers: "spotify",
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"fault": "rate_limited", "retry_after_secs": 2, "count": 1}),
        )
        .await;

    // Act
    let done = search_done(&system, "Dynamite BTS").await;

    // Assert
    assert_answered(
        &done,
        "spotify",
        &[("spotify", "rate_limited"), ("spotify", "ok")],
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_empty_answer_finishes_at_once_when_the_other_providers_have_no_budget() {
    // Arrange: YouTube and Shazam may take one call an hour; a first search that nobody's
    // catalog knows spends both.
    let system = System::start(Options {
        providers: "spotify,youtube,shazam",
        extra_env: vec![
            ("MUZE__PROVIDERS__YOUTUBE__RATE_LIMIT".into(), "1/1h".into()),
            ("MUZE__PROVIDERS__SHAZAM__RATE_LIMIT".into(), "1/1h".into()),
        ],
        ..Options::default()
    })
    .await;
    let first = search_done(&system, "Qzxqv Wvkwj").await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(
        attempts(&first),
        pairs(&[
            ("spotify", "empty"),
            ("youtube", "empty"),
            ("shazam", "empty")
        ]),
        "{first}"
    );

    // Act
    let started = Instant::now();
    let done = search_done(&system, "Jxqzk Vvqwz").await;
    let took = started.elapsed();

    // Assert: "no results" from Spotify, the others named as skipped, well inside the
    // default 1 s bound plus a request's overhead, not after the 60 s deadline.
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["source"], "spotify", "{done}");
    assert_eq!(done["results"], json!([]), "{done}");
    assert_eq!(
        attempts(&done),
        pairs(&[
            ("spotify", "empty"),
            ("youtube", "rate_limited"),
            ("shazam", "rate_limited")
        ]),
        "{done}"
    );
    for index in [1, 2] {
        let detail = stored_detail(&system, &done, index).await;
        assert!(detail.starts_with("skipped: no budget for"), "{detail}");
    }
    let created: chrono::DateTime<chrono::Utc> = done["created_at"]
        .as_str()
        .expect("created")
        .parse()
        .expect("time");
    let finished: chrono::DateTime<chrono::Utc> = done["finished_at"]
        .as_str()
        .expect("finished")
        .parse()
        .expect("time");
    assert!(
        finished - created < chrono::Duration::milliseconds(1_500),
        "finished {} ms after it was created",
        (finished - created).num_milliseconds()
    );
    assert!(took < Duration::from_secs(5), "the client waited {took:?}");
    assert_eq!(system.sim_calls("youtube", YOUTUBE_SEARCH).await, 1);
    assert_eq!(system.sim_calls("shazam", "/search").await, 1);
    system.shutdown().await;
}
