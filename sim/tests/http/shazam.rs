use muze_sim::{Provider, ProviderLimitConfig, SimConfig};
use serde_json::json;

use crate::support::{json, spawn, spawn_default};

async fn search(t: &crate::support::TestSim, term: &str) -> reqwest::Response {
    t.client
        .get(t.url("/shazam/search"))
        .query(&[
            ("term", term),
            ("locale", "en-US"),
            ("offset", "0"),
            ("limit", "5"),
        ])
        .header("X-RapidAPI-Key", "test-key")
        .header("X-RapidAPI-Host", "shazam.p.rapidapi.com")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn search_returns_hits_with_the_recorded_track_shape() {
    let t = spawn_default().await;
    let response = search(&t, "hype boy newjeans").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-ratelimit-requests-limit"], "60");
    assert_eq!(response.headers()["x-ratelimit-requests-remaining"], "59");
    let body = json(response).await;
    let track = &body["tracks"]["hits"][0]["track"];
    assert_eq!(track["type"], "MUSIC");
    assert_eq!(track["title"], "Hype Boy");
    assert_eq!(track["subtitle"], "NewJeans");
    assert!(track["key"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    assert_eq!(track["hub"]["type"], "APPLEMUSIC");
    assert_eq!(track["hub"]["actions"][0]["type"], "applemusicplay");
    assert!(track["images"]["coverart"].is_string());
    assert!(track["share"]["href"]
        .as_str()
        .unwrap()
        .starts_with("https://www.shazam.com/track/"));
    assert!(track["artists"][0]["adamid"].is_string());
}

#[tokio::test]
async fn no_results_is_an_empty_object() {
    let t = spawn_default().await;
    let response = search(&t, "qqqq zzzz xxxx").await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await, json!({}));
}

#[tokio::test]
async fn missing_or_wrong_key_is_401() {
    let t = spawn(SimConfig {
        shazam_api_key: Some("right".into()),
        ..SimConfig::default()
    })
    .await;
    let missing = t.get("/shazam/search?term=iu").await;
    assert_eq!(missing.status(), 401);
    assert!(json(missing).await["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid API key"));
    let wrong = t
        .client
        .get(t.url("/shazam/search?term=iu"))
        .header("X-RapidAPI-Key", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn over_the_plan_limit_is_429() {
    let t = spawn({
        let mut config = SimConfig::default();
        config.set_limits(Provider::Shazam, ProviderLimitConfig::rolling(1, 60_000));
        config
    })
    .await;
    assert_eq!(search(&t, "iu").await.status(), 200);
    let limited = search(&t, "iu").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(json(limited).await, json!({"message": "Too many requests"}));
    assert_eq!(t.provider_stats(Provider::Shazam).await.violations, 1);
}
