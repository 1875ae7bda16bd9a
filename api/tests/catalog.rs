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

/// A catalog where IU's 좋은 날 is known from Spotify and from a YouTube upload titled with its
/// English name, beside a cover of the same title by someone else.
async fn app_with_good_day() -> TestApp {
    let app = TestApp::spawn().await;
    let first: Uuid = app.search("good day").await["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    app.answer_search(
        first,
        &[
            spotify_track("sp-cover", "좋은 날", "Cover Band"),
            spotify_track("sp-good-day", "좋은 날", "IU"),
        ],
    )
    .await;
    let second: Uuid = app.search("good day mv").await["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let mut upload = spotify_track("yt-good-day", "Good Day(좋은 날)", "IU");
    upload.provider = muze_shared::domain::ProviderName::Youtube;
    upload.url = "https://www.youtube.com/watch?v=jeqdYqsrsA0".into();
    upload.duration_ms = None;
    upload.album = None;
    app.answer_search(second, &[upload]).await;
    app
}

#[tokio::test]
async fn the_catalog_finds_good_day_from_other_spellings_and_names_with_the_exact_match_first() {
    let app = app_with_good_day().await;

    for query in ["좋은날", "iu 좋은 날", "IU - Good Day", "good day iu"] {
        let response = app.get(&format!("/v1/tracks?q={}", urlencode(query))).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        let first = &body["results"][0];
        assert_eq!(first["title"], "좋은 날", "{query}: {body}");
        if query != "좋은날" {
            assert_eq!(
                first["artists"][0], "IU",
                "{query}: exact match first: {body}"
            );
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn one_song_known_under_two_names_is_one_track_with_both_links() {
    let app = app_with_good_day().await;

    let response = app.get("/v1/tracks?q=iu%20good%20day").await;
    let body: Value = response.json().await.expect("json");
    let track = &body["results"][0];

    assert_eq!(track["title"], "좋은 날");
    assert!(track["links"]["spotify"].is_string(), "{track}");
    assert!(track["links"]["youtube"].is_string(), "{track}");
    app.cleanup().await;
}

#[tokio::test]
async fn a_repeated_search_and_a_new_phrasing_of_a_known_song_are_answered_from_the_catalog() {
    let app = app_with_good_day().await;

    // The same normalized search as an earlier one: its stored answer.
    let repeat = app
        .post_search(serde_json::json!({"query": "Good  Day"}))
        .await;
    assert_eq!(repeat.status(), StatusCode::OK);
    let repeat: Value = repeat.json().await.expect("json");
    assert_eq!(repeat["source"], "catalog");
    assert_eq!(repeat["status"], "succeeded");
    assert_eq!(repeat["results"].as_array().map(Vec::len), Some(2));

    // Title and artist in another order, spacing and punctuation: the one song, confidently.
    for query in ["IU - 좋은날", "Good Day (IU)"] {
        let response = app.post_search(serde_json::json!({"query": query})).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["source"], "catalog", "{query}");
        assert_eq!(body["results"][0]["artists"][0], "IU", "{query}: {body}");
        assert_eq!(body["results"].as_array().map(Vec::len), Some(1), "{query}");
        // It is a real search: it can be read back.
        let id = body["id"].as_str().expect("id");
        let read = app.get(&format!("/v1/searches/{id}")).await;
        assert_eq!(read.status(), StatusCode::OK);
    }

    // Only part of a song, or more than one: upstream.
    for query in ["좋은", "IU 좋은 날 live", "IU"] {
        let response = app.post_search(serde_json::json!({"query": query})).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{query}");
    }
    app.cleanup().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The status and body of `POST /v1/searches` for `query`.
async fn post(app: &TestApp, query: &str) -> (StatusCode, Value) {
    let response = app.post_search(serde_json::json!({ "query": query })).await;
    let status = response.status();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_title_alone_is_answered_from_the_catalog_once_earlier_answers_asked_for_it() {
    let app = app_with_catalog().await;

    // Known from one answer only: no evidence which "Palette" a user means.
    let (before, _) = post(&app, "Palette").await;
    // Asked for by name: the catalog answers, and the track has been in two answers.
    let (named, _) = post(&app, "Palette IU").await;
    let (after, body) = post(&app, "PAL ETTE").await;

    assert_eq!(before, StatusCode::ACCEPTED);
    assert_eq!(named, StatusCode::OK);
    assert_eq!(after, StatusCode::OK, "{body}");
    assert_eq!(body["source"], "catalog");
    assert_eq!(body["results"][0]["title"], "Palette");
    assert_eq!(body["results"].as_array().map(Vec::len), Some(1), "{body}");
    app.cleanup().await;
}

#[tokio::test]
async fn one_typo_in_a_long_enough_title_and_artist_is_answered_from_the_catalog() {
    let app = app_with_catalog().await;

    let mut answered = Vec::new();
    for query in [
        "Palete IU",
        "IU Celebrty",
        "Dynamita BTS",
        "BTS Dynamtie",
        "좋은 낮 IU",
    ] {
        let (status, body) = post(&app, query).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["source"], "catalog", "{query}");
        answered.push(body["results"][0]["title"].as_str().map(str::to_string));
    }
    // Two typos: upstream.
    let mut upstream = Vec::new();
    for query in ["Plete IU", "IU Celbrty", "조은 낮 IU"] {
        upstream.push((query, post(&app, query).await.0));
    }

    assert_eq!(
        answered,
        ["Palette", "Celebrity", "Dynamite", "Dynamite", "좋은 날"].map(|t| Some(t.to_string()))
    );
    for (query, status) in upstream {
        assert_eq!(status, StatusCode::ACCEPTED, "{query}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn the_migration_gives_tracks_stored_before_it_the_keys_the_code_gives() {
    let app = app_with_good_day().await;
    let pool = &app.pool;
    let computed: Vec<(Uuid, Vec<String>, Vec<String>)> =
        sqlx::query_as("SELECT id, title_keys, near_keys FROM tracks ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("keys");
    assert!(computed.iter().all(|(_, t, _)| !t.is_empty()));
    assert!(computed.iter().any(|(_, _, n)| !n.is_empty()));

    // As a track stored before the migration: no keys. Then the migration's own statements.
    sqlx::query("UPDATE tracks SET title_keys = '{}', near_keys = '{}'")
        .execute(pool)
        .await
        .expect("clear");
    let migration = include_str!("../../migrations/20261202200001_title_and_near_keys.sql");
    for statement in migration
        .split(';')
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| s.trim_start().starts_with("UPDATE"))
    {
        sqlx::query(&statement)
            .execute(pool)
            .await
            .expect("backfill");
    }
    let mut backfilled: Vec<(Uuid, Vec<String>, Vec<String>)> =
        sqlx::query_as("SELECT id, title_keys, near_keys FROM tracks ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("keys");

    let sorted = |rows: &mut Vec<(Uuid, Vec<String>, Vec<String>)>| {
        for (_, t, n) in rows.iter_mut() {
            t.sort();
            n.sort();
        }
    };
    let mut computed = computed;
    sorted(&mut computed);
    sorted(&mut backfilled);
    assert_eq!(backfilled, computed);
    app.cleanup().await;
}
