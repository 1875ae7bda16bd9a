use std::time::Duration;

use muze_sim::{LimitConfig, Provider, ProviderLimitConfig, SimConfig};
use serde_json::json;

use crate::support::{json, spawn, spawn_default};

#[tokio::test]
async fn token_then_search_returns_iu_good_day_with_its_isrc() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;

    let response = t
        .spotify(&token, "/search?q=%EC%95%84%EC%9D%B4%EC%9C%A0%20%EC%A2%8B%EC%9D%80%20%EB%82%A0&type=track&market=KR&limit=5")
        .await;

    assert_eq!(response.status(), 200);
    let body = json(response).await;
    let tracks = &body["tracks"];
    assert_eq!(tracks["limit"], 5);
    assert_eq!(tracks["offset"], 0);
    let first = &tracks["items"][0];
    assert_eq!(first["name"], "좋은 날");
    assert_eq!(first["artists"][0]["name"], "IU");
    assert_eq!(first["external_ids"]["isrc"], "KRA381001057");
    assert_eq!(first["duration_ms"], 233_000);
    assert_eq!(first["album"]["name"], "Real");
    assert_eq!(first["album"]["release_date"], "2010-12-09");
    assert_eq!(first["album"]["images"].as_array().unwrap().len(), 3);
    assert_eq!(first["type"], "track");
    assert!(first["preview_url"].is_null());
    let id = first["id"].as_str().unwrap();
    assert_eq!(id.len(), 22);
    assert_eq!(
        first["external_urls"]["spotify"],
        format!("https://open.spotify.com/track/{id}")
    );
    assert_eq!(first["uri"], format!("spotify:track:{id}"));
}

#[tokio::test]
async fn a_typo_in_a_long_enough_word_is_forgiven() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    // "tme" is too short to forgive; "punl" is one key from "punk".
    let first = |body: serde_json::Value| body["tracks"]["items"][0]["name"].clone();
    let forgiven = json(
        t.spotify(
            &token,
            "/search?q=daft%20punl%20one%20more%20time&type=track",
        )
        .await,
    )
    .await;
    assert_eq!(first(forgiven), "One More Time");
    // 좋은 typed without its ㅎ (조은): still 좋은 날.
    let hangul = json(
        t.spotify(
            &token,
            "/search?q=%EC%95%84%EC%9D%B4%EC%9C%A0%20%EC%A1%B0%EC%9D%80%20%EB%82%A0&type=track",
        )
        .await,
    )
    .await;
    assert_eq!(first(hangul), "좋은 날");
    let short = json(
        t.spotify(
            &token,
            "/search?q=daft%20punk%20one%20more%20tme&type=track",
        )
        .await,
    )
    .await;
    assert_eq!(short["tracks"]["total"], 0);
}

#[tokio::test]
async fn isrc_filter_finds_exactly_that_track() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    let body = json(
        t.spotify(&token, "/search?q=isrc:GBDUW0000053&type=track")
            .await,
    )
    .await;
    assert_eq!(body["tracks"]["total"], 1);
    assert_eq!(body["tracks"]["items"][0]["name"], "One More Time");
}

#[tokio::test]
async fn search_without_a_valid_token_is_401() {
    let t = spawn_default().await;
    let missing = t.get("/spotify/v1/search?q=iu&type=track").await;
    assert_eq!(missing.status(), 401);
    assert_eq!(json(missing).await["error"]["status"], 401);

    let unknown = t.spotify("not-a-token", "/search?q=iu&type=track").await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        json(unknown).await["error"]["message"],
        "Invalid access token"
    );
}

#[tokio::test]
async fn wrong_client_credentials_get_invalid_client() {
    let t = spawn_default().await;
    for auth in [Some(("muze-sim-client", "wrong")), None] {
        let mut request = t
            .client
            .post(t.url("/spotify/api/token"))
            .form(&[("grant_type", "client_credentials")]);
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            json(response).await,
            json!({"error": "invalid_client", "error_description": "Invalid client"})
        );
    }
}

#[tokio::test]
async fn expire_tokens_invalidates_old_tokens_and_new_ones_work() {
    let t = spawn_default().await;
    let old = t.spotify_token().await;
    assert_eq!(
        t.spotify(&old, "/search?q=iu&type=track").await.status(),
        200
    );

    assert_eq!(
        t.control("spotify", json!({"fault": "expire_tokens"}))
            .await
            .status(),
        200
    );

    let rejected = t.spotify(&old, "/search?q=iu&type=track").await;
    assert_eq!(rejected.status(), 401);
    assert_eq!(
        json(rejected).await["error"]["message"],
        "The access token expired"
    );
    let fresh = t.spotify_token().await;
    assert_eq!(
        t.spotify(&fresh, "/search?q=iu&type=track").await.status(),
        200
    );
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let t = spawn(SimConfig {
        spotify_token_ttl_secs: 1,
        ..SimConfig::default()
    })
    .await;
    let response = t
        .client
        .post(t.url("/spotify/api/token"))
        .basic_auth("muze-sim-client", Some("muze-sim-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body = json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        t.spotify(token, "/search?q=iu&type=track").await.status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        t.spotify(token, "/search?q=iu&type=track").await.status(),
        401
    );
}

#[tokio::test]
async fn fourth_call_over_a_3_per_second_limit_is_429_with_retry_after_and_counted() {
    let t = spawn({
        let mut config = SimConfig::default();
        config.set_limits(Provider::Spotify, ProviderLimitConfig::rolling(3, 1_000));
        config
    })
    .await;
    let token = t.spotify_token().await; // the token endpoint does not count

    for _ in 0..3 {
        assert_eq!(
            t.spotify(&token, "/search?q=love&type=track")
                .await
                .status(),
            200
        );
    }
    let limited = t.spotify(&token, "/search?q=love&type=track").await;

    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry_after, 1);
    assert_eq!(json(limited).await["error"]["status"], 429);
    let stats = t.provider_stats(Provider::Spotify).await;
    assert_eq!(stats.violations, 1);
    assert_eq!(stats.calls, 5);
    assert_eq!(stats.ok, 4);
    assert_eq!(stats.endpoints["/v1/search"], 4);
    assert_eq!(stats.endpoints["/api/token"], 1);
    assert_eq!(t.stats().await.total_violations, 1);
}

#[tokio::test]
async fn retry_after_counts_whole_seconds_until_the_oldest_call_leaves_the_window() {
    let t = spawn_default().await;
    t.sim
        .state()
        .set_limit(Provider::Spotify, LimitConfig::new(1, 5_000));
    let token = t.spotify_token().await;
    assert_eq!(
        t.spotify(&token, "/search?q=love&type=track")
            .await
            .status(),
        200
    );
    let limited = t.spotify(&token, "/search?q=love&type=track").await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((4..=5).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn invalid_parameters_are_400() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    for (query, message) in [
        ("/search?q=iu&type=track&limit=11", "Invalid limit"),
        ("/search?q=iu&type=track&limit=0", "Invalid limit"),
        ("/search?type=track", "No search query"),
        ("/search?q=iu", "Missing parameter type"),
    ] {
        let response = t.spotify(&token, query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(json(response).await["error"]["message"], message, "{query}");
    }
}

#[tokio::test]
async fn paging_links_and_defaults() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    let body = json(t.spotify(&token, "/search?q=night&type=track").await).await;
    let tracks = &body["tracks"];
    assert_eq!(tracks["limit"], 5, "default limit is 5");
    assert!(tracks["total"].as_u64().unwrap() > 5);
    assert!(tracks["previous"].is_null());
    let next = tracks["next"].as_str().unwrap();
    assert!(next.contains("offset=5"), "{next}");
    let next_page = t.client.get(next).bearer_auth(&token).send().await.unwrap();
    assert_eq!(json(next_page).await["tracks"]["offset"], 5);
}

#[tokio::test]
async fn new_release_crawl_albums_then_tracks_then_isrcs() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    let added = t.sim.state().add_new_release_albums(2, 3);
    assert_eq!(added.len(), 6);

    let albums = json(
        t.spotify(&token, "/search?q=tag:new&type=album&market=KR&limit=10")
            .await,
    )
    .await;
    let items = albums["albums"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(albums["albums"]["total"], 2);
    let album_id = items[0]["id"].as_str().unwrap();

    let tracks = json(
        t.spotify(&token, &format!("/albums/{album_id}/tracks?limit=50"))
            .await,
    )
    .await;
    let track_items = tracks["items"].as_array().unwrap();
    assert_eq!(track_items.len(), 3);
    assert!(
        track_items[0].get("external_ids").is_none(),
        "simplified tracks carry no ISRC"
    );
    let track_id = track_items[0]["id"].as_str().unwrap();

    let track = json(t.spotify(&token, &format!("/tracks/{track_id}")).await).await;
    let isrc = track["external_ids"]["isrc"].as_str().unwrap();
    assert!(added.iter().any(|s| s.isrc == isrc));
    assert_eq!(track["album"]["id"], album_id);

    let album = json(t.spotify(&token, &format!("/albums/{album_id}")).await).await;
    assert_eq!(album["tracks"]["items"].as_array().unwrap().len(), 3);
    let artist_id = album["artists"][0]["id"].as_str().unwrap();
    let artist = json(t.spotify(&token, &format!("/artists/{artist_id}")).await).await;
    assert_eq!(artist["type"], "artist");
    let artist_albums = json(
        t.spotify(&token, &format!("/artists/{artist_id}/albums?limit=10"))
            .await,
    )
    .await;
    assert!(artist_albums["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == album_id));
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let t = spawn_default().await;
    let token = t.spotify_token().await;
    for path in [
        "/tracks/0000000000000000000000",
        "/albums/nope/tracks",
        "/tracks/x",
    ] {
        let response = t.spotify(&token, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            json(response).await,
            json!({"error": {"status": 404, "message": "Resource not found"}})
        );
    }
}
