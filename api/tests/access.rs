//! Who may call what: API keys, the admin prefix, and the per-key request limit.

mod support;

use std::time::Duration;

use muze_shared::{
    domain::ProviderName,
    rate_limit::{Decision, Outcome, Priority, RateLimiter},
    redis_conn::Redis,
};
use reqwest::{header, StatusCode};
use serde_json::Value;
use support::{error_of, TestApp, ADMIN_KEY, KEY};
use uuid::Uuid;

#[tokio::test]
async fn v1_without_a_known_bearer_key_is_401_unauthorized() {
    let app = TestApp::spawn().await;
    let path = format!("/v1/searches/{}", Uuid::now_v7());

    for authorization in [
        None,
        Some("Bearer wrong-key".to_string()),
        Some(format!("Basic {KEY}")),
        Some(KEY.to_string()),
        Some("Bearer ".to_string()),
    ] {
        let response = app
            .get_with_authorization(&path, authorization.as_deref())
            .await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into()),
            "Authorization: {authorization:?}"
        );
    }

    app.cleanup().await;
}

#[tokio::test]
async fn a_post_without_a_key_is_401_and_creates_nothing() {
    let app = TestApp::spawn().await;

    let response = app
        .http
        .post(app.url("/v1/searches"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"query":"IU"}"#)
        .send()
        .await
        .expect("sent");

    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM searches")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn admin_paths_refuse_client_keys_with_403_and_admit_admin_keys() {
    let app = TestApp::spawn().await;

    let client = app
        .get_with_authorization("/v1/admin/providers", Some(&format!("Bearer {KEY}")))
        .await;
    let admin = app
        .get_with_authorization("/v1/admin/providers", Some(&format!("Bearer {ADMIN_KEY}")))
        .await;

    assert_eq!(
        error_of(client).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    assert_eq!(admin.status(), StatusCode::OK);
    app.cleanup().await;
}

#[tokio::test]
async fn admin_sees_each_providers_shared_budget_cooldown_and_circuit() {
    let app = TestApp::spawn_with(&[("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "40/10s")]).await;
    // What workers of this namespace would do: spend budget and hit a 429.
    let redis = Redis::connect(&app.settings.redis.url)
        .await
        .expect("redis");
    let limiter = RateLimiter::new(&app.settings, redis, app.pool.clone());
    let mut grants = Vec::new();
    for _ in 0..3 {
        match limiter
            .acquire(ProviderName::Spotify, Priority::Interactive)
            .await
            .expect("acquire")
        {
            Decision::Granted(grant) => grants.push(grant),
            wait => panic!("expected a grant, got {wait:?}"),
        }
    }
    limiter
        .report(
            &grants[2],
            Outcome::Throttled {
                retry_after: Duration::from_secs(60),
            },
        )
        .await
        .expect("report");

    let response = app
        .get_with_authorization("/v1/admin/providers", Some(&format!("Bearer {ADMIN_KEY}")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    let providers = body["providers"].as_array().expect("providers");
    assert_eq!(providers.len(), ProviderName::ALL.len());
    let spotify = &providers[0];
    assert_eq!(spotify["provider"], "spotify");
    assert_eq!(spotify["limit"], "40/10s");
    assert_eq!(spotify["calls_in_window"], 3);
    assert_eq!(spotify["calls_in_flight"], 2, "two calls not reported yet");
    assert_eq!(spotify["budget"], format!("spotify:{}", app.namespace));
    assert_eq!(spotify["declared_limits"], serde_json::json!(["40/10s"]));
    assert_eq!(spotify["effective_limit"], 32, "adapted down after the 429");
    assert!(spotify["cooldown_until"].is_string());
    assert_eq!(spotify["circuit"], "closed");
    assert_eq!(spotify["fallback_position"], 0);
    let youtube = &providers[1];
    assert_eq!(youtube["quota"]["limit"], 100);
    assert_eq!(youtube["quota"]["left"], 100);
    assert!(youtube["quota"]["resets_at"].is_string());
    assert_eq!(providers[3]["provider"], "deezer");
    assert!(providers[3]["fallback_position"].is_null());
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_key_is_also_a_client_key() {
    let app = TestApp::spawn().await;

    let response = app
        .get_with_authorization(
            &format!("/v1/searches/{}", Uuid::now_v7()),
            Some(&format!("Bearer {ADMIN_KEY}")),
        )
        .await;

    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_key_past_its_burst_gets_429_with_retry_after() {
    // One request a minute after a burst of three: the fourth comes well within the minute.
    let app = TestApp::spawn_with(&[
        ("MUZE__API__REQUESTS_PER_MINUTE", "1"),
        ("MUZE__API__REQUEST_BURST", "3"),
    ])
    .await;
    let path = format!("/v1/searches/{}", Uuid::now_v7());

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.get(&path).await.status());
    }
    let refused = app.get(&path).await;

    assert!(
        statuses.iter().all(|s| *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    let retry_after: u64 = refused.headers()[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        error_of(refused).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_request_limit_is_per_key() {
    let app = TestApp::spawn_with(&[
        ("MUZE__API__REQUESTS_PER_MINUTE", "1"),
        ("MUZE__API__REQUEST_BURST", "1"),
    ])
    .await;
    let path = format!("/v1/searches/{}", Uuid::now_v7());

    let client = app.get(&path).await;
    let client_again = app.get(&path).await;
    let admin = app
        .get_with_authorization(&path, Some(&format!("Bearer {ADMIN_KEY}")))
        .await;

    // The client key used up its one request; the admin key's first is still within its own.
    assert_eq!(client.status(), StatusCode::NOT_FOUND);
    assert_eq!(client_again.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(admin.status(), StatusCode::NOT_FOUND);
    app.cleanup().await;
}

#[tokio::test]
async fn operational_endpoints_need_no_key() {
    let app = TestApp::spawn().await;

    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let response = app.get_with_authorization(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }

    app.cleanup().await;
}
