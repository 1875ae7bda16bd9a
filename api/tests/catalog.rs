//! The catalog: tracks stored by earlier searches, searched and read without any upstream call.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{error_of, spotify_track, TestApp};
use uuid::Uuid;

/// A catalog holding the answers of one finished search.
async fn app_with_catalog() -> TestApp {
    let app = TestApp::spawn().await;
    let search = app.search("iu").await;
    let id: Uuid = search["id"].as_str().expect("id").parse().expect("uuid");
    app.answer_search(
        id,
        &[
            spotify_track("sp-good-day", "좋은 날", "IU"),
            spotify_track("sp-palette", "Palette", "IU"),
            spotify_track("sp-celebrity", "Celebrity", "IU"),
            spotify_track("sp-dynamite", "Dynamite", "BTS"),
        ],
    )
    .await;
    app
}

async fn titles(app: &TestApp, path: &str) -> Vec<String> {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let body: Value = response.json().await.expect("JSON");
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_string())
        .collect()
}

#[tokio::test]
async fn the_catalog_finds_tracks_by_title_exact_match_first() {
    let app = app_with_catalog().await;

    let palette = titles(&app, "/v1/tracks?q=palette").await;
    let hangul = titles(&app, "/v1/tracks?q=%EC%A2%8B%EC%9D%80").await; // 좋은
    let by_artist = titles(&app, "/v1/tracks?q=IU&limit=2").await;

    assert_eq!(palette.first().map(String::as_str), Some("Palette"));
    assert_eq!(hangul, ["좋은 날"]);
    assert_eq!(by_artist.len(), 2);
    app.cleanup().await;
}

#[tokio::test]
async fn the_catalog_finds_nothing_for_an_unknown_song() {
    let app = app_with_catalog().await;

    let found = titles(&app, "/v1/tracks?q=zzqqxx").await;

    assert!(found.is_empty(), "{found:?}");
    app.cleanup().await;
}

#[tokio::test]
async fn a_catalog_track_is_served_by_id_with_its_links() {
    let app = app_with_catalog().await;
    let listed: Value = app
        .get("/v1/tracks?q=palette")
        .await
        .json()
        .await
        .expect("JSON");
    let id = listed["results"][0]["id"].as_str().expect("id").to_string();

    let response = app.get(&format!("/v1/tracks/{id}")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let track: Value = response.json().await.expect("JSON");
    assert_eq!(track["title"], "Palette");
    assert_eq!(track["album"], "Real");
    assert_eq!(track["isrc"], Value::Null);
    assert_eq!(
        track["links"]["spotify"],
        "https://open.spotify.com/track/sp-palette"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_unknown_track_is_404() {
    let app = TestApp::spawn().await;

    let response = app.get(&format!("/v1/tracks/{}", Uuid::now_v7())).await;

    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_catalog_search_needs_q_and_a_limit_from_1_to_50() {
    let app = TestApp::spawn().await;

    for (path, code) in [
        ("/v1/tracks", "invalid_query"),
        ("/v1/tracks?q=", "invalid_query"),
        ("/v1/tracks?q=%20%20", "invalid_query"),
        ("/v1/tracks?q=iu&limit=0", "invalid_limit"),
        ("/v1/tracks?q=iu&limit=51", "invalid_limit"),
        ("/v1/tracks?q=iu&limit=ten", "invalid_limit"),
    ] {
        let response = app.get(path).await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::BAD_REQUEST, code.to_string()),
            "{path}"
        );
    }

    app.cleanup().await;
}
