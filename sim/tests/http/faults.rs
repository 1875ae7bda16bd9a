use std::time::{Duration, Instant};

use muze_sim::{Fault, FaultKind, Provider, SimConfig};
use serde_json::json;

use crate::support::{json, spawn, spawn_default};

#[tokio::test]
async fn outage_for_one_call_then_normal() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    assert_eq!(
        t.control("spotify", json!({"fault": "outage", "count": 1}))
            .await
            .status(),
        200
    );

    let down = t.spotify(&token, "/search?q=iu&type=track").await;
    assert_eq!(down.status(), 503);
    assert_eq!(json(down).await["error"]["status"], 503);
    assert_eq!(
        t.spotify(&token, "/search?q=iu&type=track").await.status(),
        200
    );

    let stats = t.provider_stats(Provider::Spotify).await;
    assert_eq!(stats.faults_injected, 1);
    assert_eq!(stats.violations, 0);
}

#[tokio::test]
async fn outage_shapes_per_provider() {
    let t = spawn(SimConfig::default().unlimited()).await;
    for p in ["youtube", "shazam", "deezer", "musicbrainz"] {
        t.control(p, json!({"fault": "outage"})).await;
    }
    let yt = t
        .get("/youtube/youtube/v3/search?part=snippet&q=iu&key=k")
        .await;
    assert_eq!(yt.status(), 503);
    assert_eq!(json(yt).await["error"]["code"], 503);
    assert_eq!(t.get("/shazam/search?term=iu").await.status(), 503);
    assert_eq!(t.get("/deezer/search?q=iu").await.status(), 503);
    assert_eq!(
        t.get("/musicbrainz/ws/2/recording?query=iu").await.status(),
        503
    );
}

#[tokio::test]
async fn malformed_body_is_not_valid_json() {
    let t = spawn(SimConfig::default().unlimited()).await;
    for p in Provider::ALL {
        t.sim.state().set_fault(p, FaultKind::Malformed);
    }
    let token = t.spotify_token().await; // the token endpoint is not faulted
    let responses = vec![
        t.spotify(&token, "/search?q=iu&type=track").await,
        t.get("/youtube/youtube/v3/search?part=snippet&q=iu&key=k")
            .await,
        t.get("/shazam/search?term=iu").await,
        t.get("/deezer/search?q=iu").await,
        t.get("/musicbrainz/ws/2/recording?query=iu").await,
    ];
    for response in responses {
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let text = response.text().await.unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_err(),
            "{text}"
        );
    }
}

#[tokio::test]
async fn empty_fault_answers_valid_empty_results() {
    let t = spawn(SimConfig::default().unlimited()).await;
    for p in Provider::ALL {
        t.sim.state().set_fault(p, FaultKind::Empty);
    }
    let token = t.spotify_token().await;
    let spotify = json(t.spotify(&token, "/search?q=iu&type=track").await).await;
    assert_eq!(spotify["tracks"]["items"], json!([]));
    assert_eq!(spotify["tracks"]["total"], 0);
    let yt = json(
        t.get("/youtube/youtube/v3/search?part=snippet&q=iu&key=k")
            .await,
    )
    .await;
    assert_eq!(yt["items"], json!([]));
    let shazam = t
        .client
        .get(t.url("/shazam/search?term=iu"))
        .header("X-RapidAPI-Key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(json(shazam).await, json!({}));
    assert_eq!(
        json(t.get("/deezer/search?q=iu").await).await["data"],
        json!([])
    );
}

#[tokio::test]
async fn forced_rate_limit_uses_the_given_retry_after_and_is_not_a_violation() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    t.sim.state().set_fault(
        Provider::Spotify,
        Fault::new(FaultKind::RateLimited).retry_after(7).times(2),
    );
    for _ in 0..2 {
        let limited = t.spotify(&token, "/search?q=iu&type=track").await;
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], "7");
    }
    assert_eq!(
        t.spotify(&token, "/search?q=iu&type=track").await.status(),
        200
    );
    let stats = t.provider_stats(Provider::Spotify).await;
    assert_eq!((stats.faults_injected, stats.violations), (2, 0));
}

#[tokio::test]
async fn error_fault_is_500() {
    let t = spawn_default().await;
    t.control("deezer", json!({"fault": "error"})).await;
    assert_eq!(t.get("/deezer/search?q=iu").await.status(), 500);
    t.control("deezer", json!({"fault": "none"})).await;
    assert_eq!(t.get("/deezer/search?q=iu").await.status(), 200);
}

#[tokio::test]
async fn latency_and_slow_fault_delay_answers() {
    let t = spawn_default().await;
    t.control("deezer", json!({"latency_ms": 150})).await;
    let started = Instant::now();
    assert_eq!(t.get("/deezer/search?q=iu").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    t.control(
        "deezer",
        json!({"latency_ms": 0, "fault": "slow", "delay_ms": 200, "count": 1}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(t.get("/deezer/search?q=iu").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn timeout_fault_never_answers_and_ends_on_shutdown() {
    let t = spawn_default().await;
    t.sim
        .state()
        .set_fault(Provider::Deezer, FaultKind::Timeout);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = client
        .get(t.url("/deezer/search?q=iu"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout());

    // A call still hanging when the simulator stops does not keep it alive.
    let hanging = tokio::spawn({
        let url = t.url("/deezer/search?q=iu");
        async move { reqwest::get(url).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), t.sim.stop())
        .await
        .expect("stops promptly")
        .expect("stops cleanly");
    assert!(started.elapsed() < Duration::from_secs(5));
    let _ = hanging.await;
}

#[tokio::test]
async fn timed_fault_expires_by_itself() {
    let t = spawn_default().await;
    t.control("deezer", json!({"fault": "outage", "duration_ms": 200}))
        .await;
    assert_eq!(t.get("/deezer/search?q=iu").await.status(), 503);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(t.get("/deezer/search?q=iu").await.status(), 200);
}
