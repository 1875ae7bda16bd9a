//! The arrival delay: a call is counted and admitted when it *arrives*, so the limiter judges
//! arrival order, not send order. MusicBrainz's default `1/1s` limit is the strict limit
//! these tests run against; fixed delays (`ArrivalDelay::fixed`) keep them deterministic.

use std::time::{Duration, Instant};

use muze_sim::{ArrivalDelay, Provider, Sim, SimConfig};
use reqwest::{Client, Response};
use serde_json::json;

use crate::support::{json, spawn, spawn_default, TestSim, UA};

const QUERY: &str = "/musicbrainz/ws/2/recording?query=iu&fmt=json";

async fn musicbrainz(client: Client, url: String) -> Response {
    client
        .get(url)
        .header("User-Agent", UA)
        .send()
        .await
        .expect("musicbrainz request")
}

async fn reset(t: &TestSim) {
    let response = t
        .client
        .post(t.url("/_control/reset"))
        .send()
        .await
        .expect("reset request");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_late_call_is_counted_when_it_arrives_so_the_call_sent_first_is_the_violation() {
    let t = spawn_default().await;
    t.control(
        "musicbrainz",
        json!({"arrival": {"slow_percent": 100, "slow_min_ms": 1000, "slow_max_ms": 1000}}),
    )
    .await;
    let sent = Instant::now();
    let first = tokio::spawn(musicbrainz(t.client.clone(), t.url(QUERY)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Calls sent from now on arrive at once; the first one keeps the 1 s it drew.
    t.control("musicbrainz", json!({"arrival": null})).await;

    let second = musicbrainz(t.client.clone(), t.url(QUERY)).await;
    assert_eq!(second.status(), 200, "sent second, arrived first: admitted");
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "the second call arrived before the first: the test proves nothing otherwise"
    );
    let first = first.await.expect("first call task");
    assert!(
        sent.elapsed() >= Duration::from_secs(1),
        "the first call arrived 1 s late"
    );
    assert_eq!(
        first.status(),
        503,
        "sent 300 ms earlier but arrived ~700 ms after an admitted call: a 1/1s violation"
    );
    let stats = t.provider_stats(Provider::Musicbrainz).await;
    assert_eq!((stats.ok, stats.violations), (1, 1));
}

#[tokio::test]
async fn a_call_sent_inside_the_window_is_admitted_when_it_arrives_after_it() {
    let t = spawn_default().await;
    assert_eq!(
        musicbrainz(t.client.clone(), t.url(QUERY)).await.status(),
        200
    );
    let first_answered = Instant::now();
    t.sim
        .state()
        .set_arrival(Provider::Musicbrainz, ArrivalDelay::fixed(1_100))
        .expect("a valid arrival delay");

    // Sent right away, well inside the window of the first call; it arrives after it.
    let second = musicbrainz(t.client.clone(), t.url(QUERY)).await;
    assert!(first_answered.elapsed() >= Duration::from_millis(1_100));
    assert_eq!(second.status(), 200);
    assert_eq!(t.provider_stats(Provider::Musicbrainz).await.violations, 0);
}

#[tokio::test]
async fn control_sets_shows_partially_updates_and_resets_the_arrival_delay() {
    let t = spawn_default().await;
    let off = json!({"jitter_ms": 0, "slow_percent": 0, "slow_min_ms": 0, "slow_max_ms": 0});
    assert_eq!(json(t.get("/_control/deezer").await).await["arrival"], off);

    let set = json(t.control("deezer", json!({"arrival": {"jitter_ms": 20, "slow_percent": 5, "slow_min_ms": 800, "slow_max_ms": 1500}})).await).await;
    let expected = ArrivalDelay {
        jitter_ms: 20,
        slow_percent: 5,
        slow_min_ms: 800,
        slow_max_ms: 1_500,
    };
    assert_eq!(set["arrival"], json!(expected));
    assert_eq!(t.sim.state().arrival(Provider::Deezer), expected);
    assert_eq!(
        t.sim.state().arrival(Provider::Spotify),
        ArrivalDelay::OFF,
        "other providers are untouched"
    );

    let partial = json(
        t.control("deezer", json!({"arrival": {"jitter_ms": 0}}))
            .await,
    )
    .await;
    assert_eq!(
        partial["arrival"],
        json!({"jitter_ms": 0, "slow_percent": 5, "slow_min_ms": 800, "slow_max_ms": 1500})
    );
    assert_eq!(
        json(t.get("/_control/deezer").await).await["arrival"],
        partial["arrival"]
    );

    reset(&t).await;
    assert_eq!(json(t.get("/_control/deezer").await).await["arrival"], off);

    t.control("deezer", json!({"arrival": {"jitter_ms": 5}}))
        .await;
    let cleared = json(t.control("deezer", json!({"arrival": null})).await).await;
    assert_eq!(cleared["arrival"], off);
}

#[tokio::test]
async fn invalid_arrival_delays_are_400_and_change_nothing() {
    let t = spawn_default().await;
    t.control(
        "deezer",
        json!({"arrival": {"slow_percent": 10, "slow_min_ms": 100, "slow_max_ms": 200}}),
    )
    .await;
    for body in [
        json!({"arrival": {"slow_percent": 101}}),
        json!({"arrival": {"slow_min_ms": 300}}),
        json!({"arrival": {"slow_percent": 1000}}),
        json!({"arrival": {"typo": 1}}),
        json!({"arrival": "fast", "latency_ms": 9}),
        json!({"arrival": {"slow_percent": 101}, "latency_ms": 9, "fault": "outage"}),
    ] {
        let response = t.control("deezer", body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
    }
    let refused = json(
        t.control("deezer", json!({"arrival": {"slow_min_ms": 900}}))
            .await,
    )
    .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("slow_min_ms (900) must not exceed slow_max_ms (200)")),
        "{refused}"
    );
    let state = t.sim.state();
    assert_eq!(
        state.arrival(Provider::Deezer),
        ArrivalDelay {
            jitter_ms: 0,
            slow_percent: 10,
            slow_min_ms: 100,
            slow_max_ms: 200,
        }
    );
    assert_eq!(state.latency(Provider::Deezer), 0);
    assert_eq!(state.fault(Provider::Deezer), None);
}

#[tokio::test]
async fn the_spotify_token_endpoint_arrives_at_once_while_searches_arrive_late() {
    let t = spawn_default().await;
    t.sim
        .state()
        .set_arrival(Provider::Spotify, ArrivalDelay::fixed(1_000))
        .expect("a valid arrival delay");

    let started = Instant::now();
    let token = t.spotify_token().await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the token call was delayed"
    );

    let started = Instant::now();
    assert_eq!(
        t.spotify(&token, "/search?q=iu&type=track").await.status(),
        200
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the search was not delayed"
    );
}

#[tokio::test]
async fn reset_puts_back_the_arrival_delay_the_simulator_started_with() {
    let mut config = SimConfig::default();
    config.set_arrival(Provider::Deezer, ArrivalDelay::fixed(50));
    let t = spawn(config).await;
    assert_eq!(
        json(t.get("/_control/deezer").await).await["arrival"],
        json!(ArrivalDelay::fixed(50))
    );

    t.control("deezer", json!({"arrival": null})).await;
    assert_eq!(t.sim.state().arrival(Provider::Deezer), ArrivalDelay::OFF);
    reset(&t).await;
    assert_eq!(
        t.sim.state().arrival(Provider::Deezer),
        ArrivalDelay::fixed(50)
    );
}

#[tokio::test]
async fn a_simulator_with_an_invalid_arrival_delay_does_not_build() {
    let mut config = SimConfig::default();
    config.set_arrival(
        Provider::Shazam,
        ArrivalDelay {
            slow_percent: 101,
            ..ArrivalDelay::OFF
        },
    );
    let error = Sim::build(config)
        .await
        .expect_err("an invalid config is refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("shazam") && message.contains("slow_percent"),
        "{message}"
    );
}
