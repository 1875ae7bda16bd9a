use muze_sim::{Provider, ProviderLimitConfig, SimConfig};
use serde_json::json;

use crate::support::{json, spawn, spawn_default};

#[tokio::test]
async fn search_items_have_no_isrc_but_the_track_has() {
    let t = spawn_default().await;
    let response = t
        .get("/deezer/search?q=daft%20punk%20one%20more%20time")
        .await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    let item = &body["data"][0];
    assert_eq!(item["title"], "One More Time");
    assert_eq!(item["duration"], 320, "seconds");
    assert_eq!(item["artist"]["name"], "Daft Punk");
    assert_eq!(item["album"]["title"], "Discovery");
    assert_eq!(item["type"], "track");
    assert!(item.get("isrc").is_none());
    assert_eq!(body["total"], 1);

    let id = item["id"].as_u64().unwrap();
    let track = json(t.get(&format!("/deezer/track/{id}")).await).await;
    assert_eq!(track["isrc"], "GBDUW0000053");
    assert_eq!(track["release_date"], "2001-03-12");
    assert_eq!(track["contributors"][0]["name"], "Daft Punk");

    let by_isrc = json(t.get("/deezer/track/isrc:GBDUW0000053").await).await;
    assert_eq!(by_isrc["id"], id);
}

#[tokio::test]
async fn advanced_search_syntax_is_understood() {
    let t = spawn_default().await;
    let body = json(
        t.get("/deezer/search?q=artist:%22IU%22%20track:%22%EB%B0%A4%ED%8E%B8%EC%A7%80%22")
            .await,
    )
    .await;
    assert_eq!(body["total"], 1);
    assert_eq!(body["data"][0]["title"], "밤편지");
}

#[tokio::test]
async fn search_forgives_a_typo_unless_strict() {
    let t = spawn_default().await;
    let fuzzy = json(
        t.get("/deezer/search?q=daft%20punk%20one%20more%20tyme")
            .await,
    )
    .await;
    assert_eq!(fuzzy["data"][0]["title"], "One More Time");
    let strict = json(
        t.get("/deezer/search?q=daft%20punk%20one%20more%20tyme&strict=on")
            .await,
    )
    .await;
    assert_eq!(strict["total"], 0);
}

#[tokio::test]
async fn unknown_id_is_http_200_with_data_exception_800() {
    let t = spawn_default().await;
    let response = t.get("/deezer/track/1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await,
        json!({"error": {"type": "DataException", "message": "no data", "code": 800}})
    );
}

#[tokio::test]
async fn over_quota_is_http_200_with_code_4() {
    let t = spawn({
        let mut config = SimConfig::default();
        config.set_limits(Provider::Deezer, ProviderLimitConfig::rolling(2, 5_000));
        config
    })
    .await;
    for _ in 0..2 {
        assert!(json(t.get("/deezer/search?q=love").await)
            .await
            .get("data")
            .is_some());
    }
    let response = t.get("/deezer/search?q=love").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await,
        json!({"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}})
    );
    assert_eq!(t.provider_stats(Provider::Deezer).await.violations, 1);
}

#[tokio::test]
async fn editorial_releases_list_new_albums_whose_tracks_carry_isrcs() {
    let t = spawn_default().await;
    let empty = json(t.get("/deezer/editorial/0/releases").await).await;
    assert_eq!(empty["data"], json!([]));
    let added = t.sim.state().add_new_release_albums(2, 4);

    let releases = json(t.get("/deezer/editorial/0/releases").await).await;
    let albums = releases["data"].as_array().unwrap();
    assert_eq!(albums.len(), 2);
    let tracklist = albums[0]["tracklist"].as_str().unwrap();
    let tracks = json(t.client.get(tracklist).send().await.unwrap()).await;
    let tracks = tracks["data"].as_array().unwrap();
    assert_eq!(tracks.len(), 4);
    for track in tracks {
        let isrc = track["isrc"].as_str().unwrap();
        assert!(added.iter().any(|s| s.isrc == isrc));
        assert!(track["track_position"].is_u64());
    }
    let chart = json(t.get("/deezer/chart/0/albums").await).await;
    assert_eq!(chart["data"][0]["position"], 1);
}
