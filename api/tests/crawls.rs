//! `POST /v1/admin/crawls` and `GET /v1/admin/crawls/{id}`: an operator starts a new-release
//! crawl now and follows it.

mod support;

use std::collections::BTreeSet;

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use support::{error_of, TestApp, ADMIN_KEY, KEY};
use uuid::Uuid;

/// The root pages of a crawl over the default sources: one Spotify listing, two Deezer ones.
const DEFAULT_ROOTS: [&str; 3] = ["deezer:chart:0", "deezer:releases:0", "spotify:new:0"];

fn id_of(crawl: &Value) -> Uuid {
    crawl["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_else(|| panic!("no id in {crawl}"))
}

/// Starts a crawl that must be accepted; returns its JSON.
async fn start(app: &TestApp, body: Option<Value>) -> Value {
    let response = app.post_crawl(body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.expect("crawl JSON")
}

async fn crawl_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM crawls")
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn crawl_routes_refuse_client_keys_with_403_and_requests_without_a_key_with_401() {
    let app = TestApp::spawn().await;
    let client = format!("Bearer {KEY}");
    let show = format!("/v1/admin/crawls/{}", Uuid::now_v7());

    let post_client = app
        .post_with_authorization("/v1/admin/crawls", None, Some(&client))
        .await;
    let post_anonymous = app
        .post_with_authorization("/v1/admin/crawls", None, None)
        .await;
    let get_client = app.get_with_authorization(&show, Some(&client)).await;
    let get_anonymous = app.get_with_authorization(&show, None).await;

    let forbidden = (StatusCode::FORBIDDEN, "forbidden".to_string());
    let unauthorized = (StatusCode::UNAUTHORIZED, "unauthorized".to_string());
    assert_eq!(error_of(post_client).await, forbidden);
    assert_eq!(error_of(post_anonymous).await, unauthorized);
    assert_eq!(error_of(get_client).await, forbidden);
    assert_eq!(error_of(get_anonymous).await, unauthorized);
    assert_eq!(crawl_count(&app).await, 0);
    assert_eq!(app.crawl_queue_depth().await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_starts_a_crawl_of_the_configured_sources_and_its_root_pages_are_queued() {
    let app = TestApp::spawn().await;

    let response = app.post_crawl(None).await;

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .expect("ASCII")
        .to_string();
    let crawl: Value = response.json().await.expect("JSON");
    let id = id_of(&crawl);
    assert_eq!(location, format!("/v1/admin/crawls/{id}"));
    assert_eq!(crawl["status"], "running");
    assert_eq!(crawl["trigger"], "admin");
    assert_eq!(crawl["sources"], json!(["spotify", "deezer"]));
    assert_eq!(
        crawl["pages"],
        json!({"total": 3, "pending": 3, "running": 0, "done": 0, "failed": 0})
    );
    assert_eq!(crawl["tracks_added"], 0);
    assert!(crawl["tick"].is_null());
    assert!(crawl["finished_at"].is_null());
    assert_eq!(crawl["errors"], json!([]));

    assert_eq!(app.crawl_queue_depth().await, 3);
    let messages = app.take_crawl_messages().await;
    assert!(messages.iter().all(|m| m.crawl_id == id), "{messages:?}");
    let keys: BTreeSet<&str> = messages.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, BTreeSet::from(DEFAULT_ROOTS));
    let published: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crawl_pages WHERE crawl_id = $1 AND published_at IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(published, 3);
    app.cleanup().await;
}

#[tokio::test]
async fn an_empty_object_also_means_the_configured_sources() {
    let app = TestApp::spawn().await;

    let crawl = start(&app, Some(json!({}))).await;

    assert_eq!(crawl["sources"], json!(["spotify", "deezer"]));
    assert_eq!(crawl["pages"]["total"], 3);
    app.cleanup().await;
}

#[tokio::test]
async fn the_configured_sources_come_from_muze_crawl_sources() {
    let app = TestApp::spawn_with(&[("MUZE__CRAWL__SOURCES", "deezer")]).await;

    let crawl = start(&app, None).await;

    assert_eq!(crawl["sources"], json!(["deezer"]));
    assert_eq!(crawl["pages"]["total"], 2);
    app.cleanup().await;
}

#[tokio::test]
async fn a_crawl_may_name_a_subset_of_the_sources() {
    let app = TestApp::spawn().await;

    let crawl = start(&app, Some(json!({"sources": ["deezer"]}))).await;

    assert_eq!(crawl["sources"], json!(["deezer"]));
    assert_eq!(crawl["pages"]["total"], 2);
    assert_eq!(app.crawl_queue_depth().await, 2);
    let keys: BTreeSet<String> = app
        .take_crawl_messages()
        .await
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "deezer:chart:0".to_string(),
            "deezer:releases:0".to_string()
        ])
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_crawl_of_a_provider_without_new_releases_or_of_an_unknown_one_is_400_invalid_sources() {
    let app = TestApp::spawn().await;

    for sources in [
        json!(["youtube"]),
        json!(["napster"]),
        json!(["spotify", "shazam"]),
        json!([]),
        json!("spotify"),
    ] {
        let response = app.post_crawl(Some(json!({ "sources": sources }))).await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::BAD_REQUEST, "invalid_sources".into()),
            "sources {sources}"
        );
    }

    assert_eq!(crawl_count(&app).await, 0);
    assert_eq!(app.crawl_queue_depth().await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_crawl_request_with_an_unknown_field_or_malformed_json_is_400() {
    let app = TestApp::spawn().await;

    let unknown = app.post_crawl(Some(json!({"bogus": 1}))).await;
    let malformed = app
        .http
        .post(app.url("/v1/admin/crawls"))
        .bearer_auth(ADMIN_KEY)
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"sources": ["spotify""#)
        .send()
        .await
        .expect("sent");
    let not_json = app
        .http
        .post(app.url("/v1/admin/crawls"))
        .bearer_auth(ADMIN_KEY)
        .header(header::CONTENT_TYPE, "text/plain")
        .body("spotify")
        .send()
        .await
        .expect("sent");

    assert_eq!(
        error_of(unknown).await,
        (StatusCode::BAD_REQUEST, "unknown_field".into())
    );
    assert_eq!(
        error_of(malformed).await,
        (StatusCode::BAD_REQUEST, "invalid_json".into())
    );
    assert_eq!(
        error_of(not_json).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type".into()
        )
    );
    assert_eq!(crawl_count(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_follows_a_crawl_by_its_id() {
    let app = TestApp::spawn().await;
    let started = start(&app, None).await;
    let id = id_of(&started);

    let response = app.get_as_admin(&format!("/v1/admin/crawls/{id}")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let crawl: Value = response.json().await.expect("JSON");
    assert_eq!(id_of(&crawl), id);
    assert_eq!(crawl["trigger"], "admin");
    assert_eq!(crawl["status"], "running");
    assert_eq!(crawl["pages"]["total"], 3);
    app.cleanup().await;
}

#[tokio::test]
async fn an_unknown_crawl_is_404_and_a_malformed_id_is_400() {
    let app = TestApp::spawn().await;

    let unknown = app
        .get_as_admin(&format!("/v1/admin/crawls/{}", Uuid::now_v7()))
        .await;
    let malformed = app.get_as_admin("/v1/admin/crawls/not-a-uuid").await;

    assert_eq!(
        error_of(unknown).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    assert_eq!(
        error_of(malformed).await,
        (StatusCode::BAD_REQUEST, "invalid_id".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_crawl_the_broker_does_not_take_is_still_started_and_left_to_the_sweeper() {
    let app = TestApp::spawn().await;
    // Without its queue, RabbitMQ returns the messages as unroutable instead of confirming them.
    app.delete_queue(&format!("{}.crawl", app.namespace)).await;

    let crawl = start(&app, None).await;

    let unpublished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crawl_pages WHERE crawl_id = $1 AND published_at IS NULL",
    )
    .bind(id_of(&crawl))
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(unpublished, 3, "the workers' sweeper publishes them later");
    app.cleanup().await;
}

#[tokio::test]
async fn a_crawl_postgres_cannot_store_is_503_unavailable() {
    let app = TestApp::spawn().await;
    // The database refuses the crawl as it would if it were down: every statement fails.
    sqlx::query("ALTER TABLE crawls RENAME TO crawls_unavailable")
        .execute(&app.pool)
        .await
        .expect("rename");

    let response = app.post_crawl(None).await;

    assert_eq!(
        error_of(response).await,
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable".into())
    );
    assert_eq!(app.crawl_queue_depth().await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_crawl_routes_for_admins() {
    let app = TestApp::spawn().await;

    let doc: Value = app
        .get_with_authorization("/openapi.json", None)
        .await
        .json()
        .await
        .expect("JSON");

    let start = &doc["paths"]["/v1/admin/crawls"]["post"];
    let show = &doc["paths"]["/v1/admin/crawls/{id}"]["get"];
    for operation in [start, show] {
        assert_eq!(operation["tags"], json!(["admin"]), "{operation}");
        assert_eq!(
            operation["security"],
            json!([{"api_key": []}]),
            "{operation}"
        );
    }
    assert_eq!(start["operationId"], "start_crawl");
    assert_ne!(
        start["requestBody"]["required"], true,
        "the body is optional"
    );
    assert!(start["responses"]["202"]["headers"]["Location"].is_object());
    assert_eq!(
        start["responses"]["202"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CrawlView"
    );
    assert_eq!(show["operationId"], "show_crawl");
    assert!(doc["components"]["schemas"]["CrawlRequest"].is_object());
    app.cleanup().await;
}

#[tokio::test]
async fn crawls_started_by_an_admin_are_counted_in_metrics() {
    let app = TestApp::spawn().await;
    start(&app, None).await;

    let response = app.get_with_authorization("/metrics", None).await;

    let text = response.text().await.expect("text");
    let counted = text.lines().any(|line| {
        line.starts_with("muze_crawls_started_total{")
            && line.contains(r#"trigger="admin""#)
            && line
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .is_some_and(|n| n >= 1.0)
    });
    assert!(counted, "{text}");
    app.cleanup().await;
}
