//! What a hostile or broken client can send, and what it gets: control characters in every
//! text field are a 400 with a specific code (never a 5xx), made-up methods add no metric
//! series, a client dribbling its headers is cut off, the connection and long-poll caps
//! answer 503 with `Retry-After`, provider error text never reaches a client, browsers are
//! let in only from configured origins, and a process with no key refuses to start.

mod support;

use std::{process::Command, time::Duration};

use chrono::Utc;
use muze_shared::{
    db::{self, searches},
    domain::{Attempt, AttemptOutcome, ProviderName},
};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use support::{error_of, spotify_track, TestApp, ADMIN_KEY};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use uuid::Uuid;

/// Control characters a client might slip into text: C0 (NUL, BEL, ESC, a line break inside
/// the text), DEL and C1.
const CONTROLS: [char; 6] = ['\0', '\u{7}', '\u{1b}', '\n', '\u{7f}', '\u{9b}'];

#[tokio::test]
async fn control_characters_in_every_text_field_get_400_with_a_specific_code() {
    let app = TestApp::spawn().await;
    let mut seen = Vec::new();

    for c in CONTROLS {
        let text = format!("아이유{c}좋은 날");
        // POST /v1/searches: query, type.
        let query = app.post_search(json!({ "query": text })).await;
        seen.push(("query", error_of(query).await, "control_characters"));
        let kind = app
            .post_search(json!({ "query": "IU", "type": format!("track{c}") }))
            .await;
        seen.push(("type", error_of(kind).await, "invalid_type"));
        // GET /v1/tracks: q, limit.
        let q = app
            .http
            .get(app.url("/v1/tracks"))
            .query(&[("q", text.as_str())])
            .bearer_auth(support::KEY)
            .send()
            .await
            .expect("sent");
        seen.push(("q", error_of(q).await, "control_characters"));
        let limit = app
            .http
            .get(app.url("/v1/tracks"))
            .query(&[("q", "IU"), ("limit", &format!("1{c}"))])
            .bearer_auth(support::KEY)
            .send()
            .await
            .expect("sent");
        seen.push(("limit", error_of(limit).await, "invalid_limit"));
        // GET /v1/searches/{id}?wait=
        let wait = app
            .http
            .get(app.url(&format!("/v1/searches/{}", Uuid::now_v7())))
            .query(&[("wait", format!("1{c}"))])
            .bearer_auth(support::KEY)
            .send()
            .await
            .expect("sent");
        seen.push(("wait", error_of(wait).await, "invalid_wait"));
        // POST /v1/admin/crawls: sources.
        let sources = app
            .post_crawl(Some(json!({ "sources": [format!("spotify{c}")] })))
            .await;
        seen.push(("sources", error_of(sources).await, "invalid_sources"));
    }
    // Path ids, percent-encoded.
    for path in ["/v1/searches/%00", "/v1/tracks/%00", "/v1/admin/crawls/%00"] {
        let response = app.get_as_admin(path).await;
        seen.push(("id", error_of(response).await, "invalid_id"));
    }

    for (field, (status, code), expected) in &seen {
        assert_eq!(
            (*status, code.as_str()),
            (StatusCode::BAD_REQUEST, *expected),
            "{field}"
        );
    }
    // At either end too: the document's pattern refuses them anywhere, and so does the API.
    let edges = app
        .post_search(json!({ "query": "\n아이유 좋은 날\t" }))
        .await;
    assert_eq!(
        error_of(edges).await,
        (StatusCode::BAD_REQUEST, "control_characters".into())
    );
    // Plain surrounding spaces are trimmed.
    let spaced = app
        .post_search(json!({ "query": "  아이유 좋은 날 " }))
        .await;
    assert_eq!(spaced.status(), StatusCode::ACCEPTED);
    app.cleanup().await;
}

#[tokio::test]
async fn a_made_up_method_adds_no_metric_series() {
    let app = TestApp::spawn().await;
    let method = Method::from_bytes(b"FOO123").expect("a token");

    let response = app
        .http
        .request(method, app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    let metrics = app
        .get_with_authorization("/metrics", None)
        .await
        .text()
        .await
        .expect("text");

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(!metrics.contains("FOO123"), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("muze_http_requests_total") && l.contains(r#"method="other""#)),
        "the request was not counted at all: {metrics}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_client_sending_headers_one_byte_a_second_is_cut_off() {
    // Arrange: a 2 s header-read timeout; the request takes ~40 s at one byte a second.
    let app = TestApp::spawn_with(&[("MUZE__API__HEADER_READ_TIMEOUT_SECS", "2")]).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: muze\r\nUser-Agent: slowloris\r\n\r\n";
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");

    // Act: one byte a second until the server hangs up (or the request is all sent).
    let mut sent = 0;
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    let mut closed = false;
    while sent < request.len() {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => { closed = true; break; }
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if stream.write_all(&request[sent..=sent]).await.is_err() {
                    closed = true;
                    break;
                }
                sent += 1;
            }
        }
    }

    // Assert
    assert!(closed, "the whole request went through, one byte a second");
    assert!(sent < request.len(), "sent {sent} of {}", request.len());
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains(" 200 "), "it was served: {answer}");
    app.cleanup().await;
}

#[tokio::test]
async fn past_the_connection_cap_a_client_gets_503_with_retry_after() {
    // Arrange: two connections allowed, both held open by idle clients.
    let app = TestApp::spawn_with(&[("MUZE__API__MAX_CONNECTIONS", "2")]).await;
    let _held = [
        TcpStream::connect(app.addr).await.expect("connect"),
        TcpStream::connect(app.addr).await.expect("connect"),
    ];

    // Act
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("an answer, not a reset");

    // Assert
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(response.headers()[header::CONNECTION], "close");
    assert_eq!(
        error_of(response).await,
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded".into())
    );
    drop(_held);
    app.cleanup().await;
}

#[tokio::test]
async fn past_the_long_poll_cap_a_long_poll_gets_503_with_retry_after() {
    // Arrange: one long-poll at a time, and a search nobody answers yet.
    let app = TestApp::spawn_with(&[("MUZE__API__MAX_LONG_POLLS", "1")]).await;
    let search = app.search("아이유 좋은 날").await;
    let id: Uuid = search["id"].as_str().expect("id").parse().expect("uuid");
    let path = format!("/v1/searches/{id}");
    let waiting = {
        let (http, url) = (app.http.clone(), app.url(&format!("{path}?wait=30")));
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(support::KEY)
                .send()
                .await
                .expect("sent")
        })
    };

    // Act: a second long-poll, once the first one holds the slot (as the gauge shows).
    for _ in 0..500 {
        if long_polls_waiting(&app).await >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        long_polls_waiting(&app).await,
        1.0,
        "the first long-poll never waited"
    );
    let refused = app.get(&format!("{path}?wait=1")).await;
    let plain_poll = app.get(&path).await;
    app.answer_search(id, &[spotify_track("sp-1", "좋은 날", "IU")])
        .await;
    let first = waiting.await.expect("long-poll task");

    // Assert
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        error_of(refused).await,
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded".into())
    );
    assert_eq!(
        plain_poll.status(),
        StatusCode::OK,
        "a poll without wait is not capped"
    );
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.expect("JSON");
    assert_eq!(first["status"], "succeeded");
    app.cleanup().await;
}

/// The `muze_long_poll_waiters` gauge, from `/metrics`.
async fn long_polls_waiting(app: &TestApp) -> f64 {
    let metrics = app
        .get_with_authorization("/metrics", None)
        .await
        .text()
        .await
        .expect("text");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("muze_long_poll_waiters "))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

#[tokio::test]
async fn clients_see_an_attempts_outcome_but_not_the_providers_words() {
    // Arrange: a search whose first attempt failed with error text naming a host.
    let app = TestApp::spawn().await;
    let search = app.search("아이유 좋은 날").await;
    let id: Uuid = search["id"].as_str().expect("id").parse().expect("uuid");
    searches::claim(&app.pool, id, 30).await.expect("claim");
    let attempts = [
        Attempt {
            provider: ProviderName::Spotify,
            outcome: AttemptOutcome::Error,
            at: Utc::now(),
            detail: Some("connect to 10.0.0.7:443 failed: connection refused".into()),
        },
        Attempt {
            provider: ProviderName::Youtube,
            outcome: AttemptOutcome::Ok,
            at: Utc::now(),
            detail: None,
        },
    ];
    searches::succeed(
        &app.pool,
        &db::search_done_channel(&app.namespace),
        id,
        "youtube",
        &attempts,
        &[spotify_track("sp-1", "좋은 날", "IU")],
    )
    .await
    .expect("succeed");

    // Act
    let shown: Value = app
        .get(&format!("/v1/searches/{id}"))
        .await
        .json()
        .await
        .expect("JSON");

    // Assert
    assert_eq!(
        shown["attempts"],
        json!([
            {"provider": "spotify", "outcome": "error", "at": shown["attempts"][0]["at"]},
            {"provider": "youtube", "outcome": "ok", "at": shown["attempts"][1]["at"]},
        ])
    );
    let stored: (String,) = sqlx::query_as("SELECT attempts::text FROM searches WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert!(
        stored.0.contains("10.0.0.7"),
        "the detail is kept for operators"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn browsers_are_let_in_only_from_configured_origins() {
    let app = TestApp::spawn_with(&[("MUZE__API__CORS_ORIGINS", "https://app.muze.example")]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/v1/searches"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type",
            )
            .send()
    };

    let allowed = preflight("https://app.muze.example").await.expect("sent");
    let other = preflight("https://evil.example").await.expect("sent");

    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.muze.example"
    );
    assert!(!other
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    app.cleanup().await;

    // None by default.
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/healthz"))
        .header(header::ORIGIN, "https://app.muze.example")
        .send()
        .await
        .expect("sent");
    assert!(!response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    app.cleanup().await;
}

#[tokio::test]
async fn the_api_pool_cancels_a_statement_past_its_timeout() {
    let app = TestApp::spawn().await;
    let pool = db::connect_with(
        &app.settings.database.url,
        1,
        Some(Duration::from_millis(200)),
    )
    .await
    .expect("pool");

    let stuck = sqlx::query("SELECT pg_sleep(30)").execute(&pool).await;
    let quick = sqlx::query("SELECT 1").execute(&pool).await;

    let code = match stuck {
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.to_string()),
        other => panic!("not cancelled: {other:?}"),
    };
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled");
    assert!(quick.is_ok(), "the connection is usable after the cancel");
    pool.close().await;
    app.cleanup().await;
}

#[test]
fn without_a_profile_or_keys_muze_api_refuses_to_start_with_a_one_line_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_muze-api"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("muze-api runs");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it started: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("MUZE__API__KEYS"), "{stderr}");
    assert!(stderr.contains("production"), "{stderr}");
}

#[tokio::test]
async fn the_dev_key_works_only_in_the_dev_profile() {
    let dev = TestApp::spawn_with(&[("MUZE__PROFILE", "dev"), ("MUZE__API__KEYS", "")]).await;
    let response = dev
        .get_with_authorization("/v1/tracks?q=iu", Some("Bearer muze-dev-key"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    dev.cleanup().await;

    let production = TestApp::spawn().await;
    let response = production
        .get_with_authorization("/v1/tracks?q=iu", Some("Bearer muze-dev-key"))
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    // The admin key is refused nothing a client key may do.
    let admin = production
        .get_with_authorization("/v1/tracks?q=iu", Some(&format!("Bearer {ADMIN_KEY}")))
        .await;
    assert_eq!(admin.status(), StatusCode::OK);
    production.cleanup().await;
}
