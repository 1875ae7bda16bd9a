use muze_sim::{FaultKind, LimitConfig, Provider};
use serde_json::json;

use crate::support::{json, spawn_default};

#[tokio::test]
async fn health_is_200() {
    let t = spawn_default().await;
    assert_eq!(t.get("/_health").await.status(), 200);
}

#[tokio::test]
async fn unknown_paths_and_providers_are_json_404s() {
    let t = spawn_default().await;
    for path in ["/nope", "/itunes/search", "/spotify/v1/unknown"] {
        let response = t.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(json(response).await["error"].is_object());
    }
    assert_eq!(
        t.control("itunes", json!({"fault": "outage"}))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn bad_control_bodies_are_400() {
    let t = spawn_default().await;
    for body in [
        json!({"fault": "explode"}),
        json!({"limit": "ten"}),
        json!({"count": 2}),
        json!({"typo": 1}),
    ] {
        assert_eq!(
            t.control("spotify", body.clone()).await.status(),
            400,
            "{body}"
        );
    }
}

#[tokio::test]
async fn control_sets_limits_latency_and_faults_and_reports_them() {
    let t = spawn_default().await;
    let body = json(
        t.control(
            "spotify",
            json!({"limit": {"calls": 40, "window_ms": 10000}, "latency_ms": 5, "fault": "outage", "count": 3}),
        )
        .await,
    )
    .await;
    assert_eq!(body["limit"], json!({"calls": 40, "window_ms": 10000}));
    assert_eq!(body["latency_ms"], 5);
    assert_eq!(body["fault"]["kind"], "outage");
    assert_eq!(body["fault"]["count"], 3);
    let state = t.sim.state();
    assert_eq!(
        state.limits(Provider::Spotify).limit,
        Some(LimitConfig::new(40, 10_000))
    );
    assert_eq!(
        state.fault(Provider::Spotify).map(|f| f.kind),
        Some(FaultKind::Outage)
    );

    let off = json(t.control("spotify", json!({"limit": null})).await).await;
    assert!(off["limit"].is_null());
    let text = json(t.control("spotify", json!({"limit": "10/1m"})).await).await;
    assert_eq!(text["limit"], json!({"calls": 10, "window_ms": 60000}));
}

#[tokio::test]
async fn stats_count_every_call_per_endpoint_and_reset_zeroes_them() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    t.spotify(&token, "/search?q=iu&type=track").await;
    t.get("/deezer/search?q=iu").await;
    t.get("/deezer/track/1").await;

    let stats = json(t.get("/_stats").await).await;
    assert_eq!(stats["providers"]["spotify"]["calls"], 2);
    assert_eq!(stats["providers"]["spotify"]["endpoints"]["/api/token"], 1);
    assert_eq!(stats["providers"]["spotify"]["endpoints"]["/v1/search"], 1);
    assert_eq!(stats["providers"]["deezer"]["endpoints"]["/track/{id}"], 1);
    assert_eq!(stats["providers"]["deezer"]["ok"], 1);
    assert_eq!(stats["total_calls"], 4);
    assert_eq!(stats["total_violations"], 0);
    for p in ["spotify", "youtube", "shazam", "deezer", "musicbrainz"] {
        assert!(stats["providers"][p].is_object(), "{p}");
    }

    t.control("spotify", json!({"fault": "outage", "limit": "1/1d"}))
        .await;
    assert_eq!(
        t.client
            .post(t.url("/_control/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let stats = t.stats().await;
    assert_eq!(stats.total_calls, 0);
    let state = t.sim.state();
    assert_eq!(state.fault(Provider::Spotify), None);
    assert_eq!(
        state.limits(Provider::Spotify).limit,
        Some(LimitConfig::new(300, 30_000))
    );
    // Tokens survive a reset.
    assert_eq!(
        t.spotify(&token, "/search?q=iu&type=track").await.status(),
        200
    );
}

#[tokio::test]
async fn releases_endpoint_adds_new_albums() {
    let t = spawn_default().await;
    let response = t
        .client
        .post(t.url("/_control/releases"))
        .json(&json!({"albums": 3, "tracks_per_album": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["albums"].as_array().unwrap().len(), 3);
    assert_eq!(body["songs"].as_array().unwrap().len(), 12);
    assert_eq!(body["albums"][0]["tracks"].as_array().unwrap().len(), 4);
    assert!(body["songs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["is_new"] == true));
    assert_eq!(t.sim.catalog().new_release_albums().len(), 3);

    let by_count = t.sim.state().add_new_releases(6);
    assert_eq!(by_count.len(), 6);
    assert_eq!(
        t.sim.catalog().new_release_albums().len(),
        5,
        "4 + 2 tracks"
    );
}
