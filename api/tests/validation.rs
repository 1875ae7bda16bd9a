//! Every malformed request gets its own status and error code, and nothing is created.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{error_of, TestApp};

async fn assert_search_refused(app: &TestApp, body: Value, code: &str) {
    let response = app.post_search(body.clone()).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, code.to_string()),
        "body {body}"
    );
}

#[tokio::test]
async fn an_empty_or_whitespace_query_is_400_empty_query() {
    let app = TestApp::spawn().await;

    assert_search_refused(&app, json!({"query": ""}), "empty_query").await;
    assert_search_refused(&app, json!({"query": "  \t\n "}), "empty_query").await;

    app.cleanup().await;
}

#[tokio::test]
async fn a_query_over_200_characters_is_400_but_200_hangul_are_accepted() {
    let app = TestApp::spawn().await;

    assert_search_refused(&app, json!({"query": "a".repeat(201)}), "query_too_long").await;
    let hangul = app.post_search(json!({"query": "가".repeat(200)})).await;

    assert_eq!(hangul.status(), StatusCode::ACCEPTED);
    app.cleanup().await;
}

#[tokio::test]
async fn a_missing_or_non_string_query_is_refused() {
    let app = TestApp::spawn().await;

    assert_search_refused(&app, json!({"limit": 5}), "missing_query").await;
    assert_search_refused(&app, json!({"query": 42}), "invalid_query").await;

    app.cleanup().await;
}

#[tokio::test]
async fn an_unknown_field_is_400_unknown_field_naming_it() {
    let app = TestApp::spawn().await;

    let response = app
        .post_search(json!({"query": "IU", "market": "KR"}))
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "unknown_field");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("market"),
        "{body}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_limit_that_is_not_an_integer_from_1_to_50_is_400_invalid_limit() {
    let app = TestApp::spawn().await;

    for limit in [json!(0), json!(51), json!("10"), json!(2.5), json!(-1)] {
        assert_search_refused(
            &app,
            json!({"query": "IU", "limit": limit}),
            "invalid_limit",
        )
        .await;
    }

    app.cleanup().await;
}

#[tokio::test]
async fn a_type_other_than_track_is_400_invalid_type() {
    let app = TestApp::spawn().await;

    assert_search_refused(
        &app,
        json!({"query": "IU", "type": "album"}),
        "invalid_type",
    )
    .await;
    assert_search_refused(&app, json!({"query": "IU", "type": 1}), "invalid_type").await;

    app.cleanup().await;
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_400_invalid_json_saying_why() {
    let app = TestApp::spawn().await;

    for (body, why) in [
        (
            "{\"query\": ",
            "not valid JSON: EOF while parsing a value at line 1 column 10",
        ),
        (
            "not json",
            "not valid JSON: expected ident at line 1 column 2",
        ),
        (
            "{\"query\": \"IU\",}",
            "not valid JSON: trailing comma at line 1 column 16",
        ),
        ("[\"IU\"]", "must be a JSON object, not an array"),
        (
            "{\"query\": \"IU\", \"query\": \"BTS\"}",
            "`query` appears more than once",
        ),
        ("", "empty"),
    ] {
        let response = app.post_raw(body, Some("application/json")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "body {body:?}");
        let error: Value = response.json().await.expect("JSON");
        assert_eq!(error["error"]["code"], "invalid_json", "body {body:?}");
        let message = error["error"]["message"].as_str().expect("message");
        assert!(message.contains(why), "body {body:?}: {message}");
    }

    app.cleanup().await;
}

#[tokio::test]
async fn a_body_over_16_kib_is_413_payload_too_large() {
    let app = TestApp::spawn().await;
    let body = json!({"query": "IU", "padding": "x".repeat(17 * 1024)}).to_string();

    let response = app.post_raw(body, Some("application/json")).await;

    assert_eq!(
        error_of(response).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let body = json!({"query": "IU"}).to_string();

    let plain = app.post_raw(body.clone(), Some("text/plain")).await;
    let undeclared = app.post_raw(body, None).await;

    let expected = (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type".to_string(),
    );
    assert_eq!(error_of(plain).await, expected);
    assert_eq!(error_of(undeclared).await, expected);
    app.cleanup().await;
}

#[tokio::test]
async fn a_malformed_id_is_400_invalid_id() {
    let app = TestApp::spawn().await;

    let search = app.get("/v1/searches/not-a-uuid").await;
    let track = app.get("/v1/tracks/12345").await;

    assert_eq!(
        error_of(search).await,
        (StatusCode::BAD_REQUEST, "invalid_id".into())
    );
    assert_eq!(
        error_of(track).await,
        (StatusCode::BAD_REQUEST, "invalid_id".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_outside_0_to_30_seconds_is_400_invalid_wait() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::now_v7();

    for wait in ["31", "-1", "1.5", "soon"] {
        let response = app.get(&format!("/v1/searches/{id}?wait={wait}")).await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::BAD_REQUEST, "invalid_wait".into()),
            "wait={wait}"
        );
    }

    app.cleanup().await;
}

#[tokio::test]
async fn refused_requests_create_no_search() {
    let app = TestApp::spawn().await;

    assert_search_refused(&app, json!({"query": " "}), "empty_query").await;
    assert_search_refused(&app, json!({"query": "IU", "limit": 0}), "invalid_limit").await;

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM searches")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 0);
    app.cleanup().await;
}
