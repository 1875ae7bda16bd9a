use muze_sim::SimConfig;

use crate::support::{json, spawn, spawn_default, UA};

const QUERY: &str = "/musicbrainz/ws/2/recording?query=recording:%22One%20More%20Time%22%20AND%20artist:%22Daft%20Punk%22&fmt=json&limit=5";

#[tokio::test]
async fn lucene_query_finds_the_recording_with_isrcs() {
    let t = spawn_default().await;
    let response = t
        .client
        .get(t.url(QUERY))
        .header("User-Agent", UA)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["count"], 1);
    assert_eq!(body["offset"], 0);
    assert!(body["created"].as_str().unwrap().ends_with('Z'));
    let rec = &body["recordings"][0];
    assert_eq!(rec["title"], "One More Time");
    assert_eq!(rec["score"], 100);
    assert_eq!(rec["length"], 320_357);
    assert_eq!(rec["video"], false);
    assert_eq!(rec["isrcs"][0], "GBDUW0000053");
    assert_eq!(rec["artist-credit"][0]["name"], "Daft Punk");
    assert!(rec["artist-credit"][0]["artist"]["sort-name"].is_string());
    assert_eq!(rec["first-release-date"], "2001-03-12");
    assert_eq!(rec["releases"][0]["title"], "Discovery");
    assert!(uuid::Uuid::parse_str(rec["id"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn plain_text_queries_work_too() {
    let t = spawn(SimConfig::default().unlimited()).await;
    let response = t
        .client
        .get(t.url("/musicbrainz/ws/2/recording"))
        .query(&[("query", "아이유 밤편지"), ("fmt", "json")])
        .header("User-Agent", UA)
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await["recordings"][0]["title"], "밤편지");
}

#[tokio::test]
async fn lucene_search_matches_words_as_typed() {
    let t = spawn(SimConfig::default().unlimited()).await;
    let response = t
        .client
        .get(t.url("/musicbrainz/ws/2/recording"))
        .query(&[("query", "아이유 밤편쥐"), ("fmt", "json")])
        .header("User-Agent", UA)
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await["count"], 0);
}

#[tokio::test]
async fn requests_without_a_meaningful_user_agent_are_403() {
    let t = spawn_default().await;
    // reqwest sends no User-Agent by default.
    assert_eq!(t.get(QUERY).await.status(), 403);
    let curl = t
        .client
        .get(t.url(QUERY))
        .header("User-Agent", "curl/8.5.0")
        .send()
        .await
        .unwrap();
    assert_eq!(curl.status(), 403);
    assert!(json(curl).await["error"].is_string());
}

#[tokio::test]
async fn more_than_one_call_per_second_is_503_with_retry_after() {
    let t = spawn_default().await;
    let first = t
        .client
        .get(t.url(QUERY))
        .header("User-Agent", UA)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = t
        .client
        .get(t.url(QUERY))
        .header("User-Agent", UA)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "1");
    assert_eq!(t.stats().await.total_violations, 1);
}
