use muze_sim::{Provider, ProviderLimitConfig, SimConfig};
use serde_json::json;

use crate::support::{json, spawn, spawn_default};

const SEARCH: &str =
    "/youtube/youtube/v3/search?part=snippet&type=video&videoCategoryId=10&key=test-key";

#[tokio::test]
async fn search_answers_a_search_list_response() {
    let t = spawn_default().await;
    let response = t
        .get(&format!(
            "{SEARCH}&q=daft%20punk%20one%20more%20time&maxResults=3"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["kind"], "youtube#searchListResponse");
    assert!(body["etag"].is_string());
    assert_eq!(body["pageInfo"]["resultsPerPage"], 3);
    let item = &body["items"][0];
    assert_eq!(item["kind"], "youtube#searchResult");
    assert_eq!(item["id"]["kind"], "youtube#video");
    let video_id = item["id"]["videoId"].as_str().unwrap();
    assert_eq!(video_id.len(), 11);
    assert_eq!(video_id, t.sim.catalog().get(2).unwrap().youtube_id);
    let snippet = &item["snippet"];
    for key in [
        "publishedAt",
        "channelId",
        "title",
        "description",
        "channelTitle",
    ] {
        assert!(snippet[key].is_string(), "snippet.{key}");
    }
    assert!(snippet["title"].as_str().unwrap().contains("One More Time"));
    assert_eq!(snippet["liveBroadcastContent"], "none");
    for size in ["default", "medium", "high"] {
        assert!(snippet["thumbnails"][size]["url"]
            .as_str()
            .unwrap()
            .contains(video_id));
    }
}

#[tokio::test]
async fn titles_are_html_escaped_like_the_real_api() {
    let t = spawn_default().await;
    // Enough results that some use the `Artist "Title" M/V` style.
    let body = json(t.get(&format!("{SEARCH}&q=%EB%B0%A4&maxResults=50")).await).await;
    let titles: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["snippet"]["title"].as_str().unwrap())
        .collect();
    assert!(titles.iter().any(|t| t.contains("&quot;")), "{titles:?}");
    assert!(titles.iter().all(|t| !t.contains('"')));
}

#[tokio::test]
async fn missing_key_is_403_forbidden() {
    let t = spawn_default().await;
    let response = t.get("/youtube/youtube/v3/search?part=snippet&q=iu").await;
    assert_eq!(response.status(), 403);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], 403);
    assert_eq!(body["error"]["errors"][0]["reason"], "forbidden");
}

#[tokio::test]
async fn part_must_be_snippet() {
    let t = spawn_default().await;
    let response = t
        .get("/youtube/youtube/v3/search?part=contentDetails&q=iu&key=k")
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await["error"]["errors"][0]["reason"],
        "badRequest"
    );
}

#[tokio::test]
async fn daily_quota_exceeded_is_403_quota_exceeded_and_invalid_calls_count() {
    let t = spawn({
        let mut config = SimConfig::default();
        config.set_limits(Provider::Youtube, ProviderLimitConfig::daily(2));
        config
    })
    .await;
    // An invalid call still costs quota.
    assert_eq!(
        t.get("/youtube/youtube/v3/search?q=iu&key=k")
            .await
            .status(),
        400
    );
    assert_eq!(t.get(&format!("{SEARCH}&q=iu")).await.status(), 200);

    let response = t.get(&format!("{SEARCH}&q=iu")).await;

    assert_eq!(response.status(), 403);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], 403);
    assert_eq!(body["error"]["errors"][0]["reason"], "quotaExceeded");
    assert_eq!(body["error"]["errors"][0]["domain"], "youtube.quota");
    let stats = t.provider_stats(Provider::Youtube).await;
    assert_eq!(stats.violations, 1);
    assert_eq!(stats.quota_used, 2);
    assert_eq!(stats.daily_quota, Some(2));
}

#[tokio::test]
async fn quota_can_be_a_rolling_window_for_tests() {
    let t = spawn_default().await;
    let set = t
        .control(
            "youtube",
            json!({"limit": {"calls": 2, "window_ms": 10_000}, "daily_quota": null}),
        )
        .await;
    assert_eq!(set.status(), 200);
    for _ in 0..2 {
        assert_eq!(t.get(&format!("{SEARCH}&q=iu")).await.status(), 200);
    }
    let response = t.get(&format!("{SEARCH}&q=iu")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        json(response).await["error"]["errors"][0]["reason"],
        "quotaExceeded"
    );
}
