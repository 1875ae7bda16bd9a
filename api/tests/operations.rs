//! Health, readiness, metrics, the OpenAPI document, and JSON for unknown routes and methods.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{error_of, TestApp};

#[tokio::test]
async fn healthz_says_ok() {
    let app = TestApp::spawn().await;

    let response = app.get_with_authorization("/healthz", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({"status": "ok"})
    );
    app.cleanup().await;
}

#[tokio::test]
async fn readyz_reports_postgres_redis_and_rabbitmq_ok() {
    let app = TestApp::spawn().await;

    let response = app.get_with_authorization("/readyz", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({"status": "ready", "checks": {"postgres": "ok", "redis": "ok", "rabbitmq": "ok"}})
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn().await;

    let response = app.get_with_authorization("/openapi.json", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.expect("JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/searches",
        "/v1/searches/{id}",
        "/v1/tracks",
        "/v1/tracks/{id}",
        "/v1/admin/providers",
        "/v1/admin/crawls",
        "/v1/admin/crawls/{id}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "SearchRequest",
        "SearchView",
        "Track",
        "CrawlRequest",
        "CrawlView",
        "ErrorBody",
    ] {
        assert!(schemas[schema].is_object(), "missing schema {schema}");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    app.cleanup().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_method_and_status() {
    let app = TestApp::spawn().await;
    app.get_with_authorization("/healthz", None).await;

    let response = app.get_with_authorization("/metrics", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");
    let counted = text.lines().any(|line| {
        line.starts_with("muze_http_requests_total{")
            && line.contains(r#"route="/healthz""#)
            && line.contains(r#"method="GET""#)
            && line.contains(r#"status="200""#)
    });
    assert!(counted, "{text}");
    assert!(
        text.contains("muze_http_request_duration_seconds_bucket"),
        "{text}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_unknown_route_is_404_json() {
    let app = TestApp::spawn().await;

    let root = app.get_with_authorization("/nothing-here", None).await;
    let v1 = app.get("/v1/nothing-here").await;

    assert_eq!(
        error_of(root).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    assert_eq!(
        error_of(v1).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_wrong_method_is_405_json() {
    let app = TestApp::spawn().await;

    let on_v1 = app
        .http
        .delete(app.url("/v1/searches"))
        .bearer_auth(support::KEY)
        .send()
        .await
        .expect("sent");
    let on_root = app
        .http
        .post(app.url("/healthz"))
        .send()
        .await
        .expect("sent");

    let expected = (
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed".to_string(),
    );
    assert_eq!(error_of(on_v1).await, expected);
    assert_eq!(error_of(on_root).await, expected);
    app.cleanup().await;
}

#[tokio::test]
async fn a_handler_that_panics_is_answered_500_and_counted_in_the_http_metrics() {
    // The API's own layers around a route that panics (no production route does).
    let routes = axum::Router::new().route(
        "/panics",
        axum::routing::get(|| async {
            panic!("a handler bug");
            #[allow(unreachable_code)]
            ""
        }),
    );
    let app = muze_api::layered(routes, tower_http::cors::CorsLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let handle = muze_shared::telemetry::metrics_handle();

    let response = reqwest::get(format!("http://{addr}/panics"))
        .await
        .expect("an answer, not a reset");

    assert_eq!(
        error_of(response).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "internal".to_string())
    );
    let text = handle.render();
    let counted = text.lines().any(|line| {
        line.starts_with("muze_http_requests_total{")
            && line.contains(r#"route="/panics""#)
            && line.contains(r#"status="500""#)
    });
    assert!(counted, "the 500 was not counted: {text}");
    server.abort();
}
