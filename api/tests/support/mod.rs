//! A real `muze-api` for each test, against the real Postgres, Redis and RabbitMQ.
//!
//! Every [`TestApp`] stands in a [`World`] of its own (namespace, database, budgets; see
//! `muze_testkit::world`) and on a port of its own, so tests run in parallel and in any order.
//! [`TestApp::cleanup`] stops the server and tears the world down; a test that fails before it
//! gets there has the same removed when its `TestApp` (and so its `World`) is dropped.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::{net::SocketAddr, sync::Arc, time::Duration};

use chrono::Utc;
use lapin::options::{BasicGetOptions, QueueDeleteOptions};
use muze_api::Api;
use muze_shared::{
    db::{self, searches},
    domain::{Attempt, AttemptOutcome, ProviderName, ProviderTrack},
    queue::{Broker, CrawlMessage, JobMessage, SearchMessage},
    telemetry, Settings,
};
use muze_testkit::World;
use reqwest::{header, Response, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// The client key every test app accepts.
pub const KEY: &str = "test-key";
/// The admin key every test app accepts.
pub const ADMIN_KEY: &str = "admin-key";

/// A running API in a world of its own.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    pub namespace: String,
    pub settings: Settings,
    /// The test's own connection to the app's database, to act as a worker would.
    pub pool: PgPool,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    /// Dropped last: removes the database, queues and Redis keys if `cleanup` did not.
    world: World,
}

impl TestApp {
    /// A new world with the API's test settings: a small pool, a free port, [`KEY`] and
    /// [`ADMIN_KEY`]. Add to it, then [`TestApp::spawn_in`].
    pub fn new_world() -> World {
        World::new("tapi")
            .with("MUZE__DATABASE__MAX_CONNECTIONS", "4")
            .with("MUZE__API__BIND", "127.0.0.1:0")
            .with("MUZE__API__KEYS", KEY)
            .with("MUZE__API__ADMIN_KEYS", ADMIN_KEY)
    }

    /// An app with the test settings.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// An app with the test settings plus `extra` `MUZE__*` variables.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let mut world = TestApp::new_world();
        for (key, value) in extra {
            world.set(key, *value);
        }
        TestApp::spawn_in(world).await
    }

    /// An app in `world` (made by [`TestApp::new_world`]), which it tears down.
    pub async fn spawn_in(world: World) -> TestApp {
        if std::env::var_os("TEST_LOG").is_some() {
            telemetry::init(None);
        }
        let settings = world.settings();
        let api = Api::build(settings.clone()).await.expect("API builds");
        let addr = api.local_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(api.run(async {
            let _ = stopped.await;
        }));
        let pool = world.pool(2).await;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        TestApp {
            addr,
            namespace: world.namespace().to_string(),
            settings,
            pool,
            http,
            shutdown: Some(shutdown),
            server: Some(server),
            world,
        }
    }

    /// The app's world.
    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `POST /v1/searches` with the client key and a JSON body.
    pub async fn post_search(&self, body: Value) -> Response {
        self.post_raw(body.to_string(), Some("application/json"))
            .await
    }

    /// `POST /v1/searches` with the client key, any body and content type.
    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> Response {
        let mut request = self
            .http
            .post(self.url("/v1/searches"))
            .bearer_auth(KEY)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        request.send().await.expect("request sent")
    }

    /// `GET path` with the client key.
    pub async fn get(&self, path: &str) -> Response {
        self.get_with_authorization(path, Some(&format!("Bearer {KEY}")))
            .await
    }

    /// `GET path` with the given `Authorization` header, or none.
    pub async fn get_with_authorization(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        request.send().await.expect("request sent")
    }

    /// `POST path` with the given `Authorization` header (or none) and JSON body (or none).
    pub async fn post_with_authorization(
        &self,
        path: &str,
        body: Option<Value>,
        authorization: Option<&str>,
    ) -> Response {
        let mut request = self.http.post(self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        request.send().await.expect("request sent")
    }

    /// `POST /v1/admin/crawls` with the admin key and the given JSON body (or none).
    pub async fn post_crawl(&self, body: Option<Value>) -> Response {
        self.post_with_authorization(
            "/v1/admin/crawls",
            body,
            Some(&format!("Bearer {ADMIN_KEY}")),
        )
        .await
    }

    /// `GET path` with the admin key.
    pub async fn get_as_admin(&self, path: &str) -> Response {
        self.get_with_authorization(path, Some(&format!("Bearer {ADMIN_KEY}")))
            .await
    }

    /// Messages ready on the namespace's crawl queue, as RabbitMQ counts them (passive
    /// `queue.declare`).
    pub async fn crawl_queue_depth(&self) -> u32 {
        let broker = self.broker().await;
        let ready = broker
            .ready_in(&broker.topology().crawl.work)
            .await
            .expect("passive queue.declare");
        broker.close().await;
        u32::try_from(ready).expect("a queue depth")
    }

    /// Takes every message from the namespace's crawl queue.
    pub async fn take_crawl_messages(&self) -> Vec<CrawlMessage> {
        let broker = self.broker().await;
        let channel = broker.channel().await.expect("channel");
        let queue = broker.topology().crawl.work.clone();
        let mut messages = Vec::new();
        while let Some(got) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            messages.push(CrawlMessage::from_json(&got.delivery.data).expect("a CrawlMessage"));
        }
        broker.close().await;
        messages
    }

    /// Posts a search that must be accepted, and returns its JSON.
    pub async fn search(&self, query: &str) -> Value {
        let response = self
            .post_search(serde_json::json!({ "query": query }))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.json().await.expect("search JSON")
    }

    /// Does what a worker does when a provider answered: claim the job, then store the answer
    /// (tracks, results, final state, NOTIFY) in one transaction. The real code path.
    pub async fn answer_search(&self, id: Uuid, found: &[ProviderTrack]) {
        let claim = searches::claim(&self.pool, id, 30).await.expect("claim");
        assert!(matches!(claim, searches::Claim::Claimed(_)), "{claim:?}");
        let attempt = Attempt {
            provider: ProviderName::Spotify,
            outcome: AttemptOutcome::Ok,
            at: Utc::now(),
            detail: None,
        };
        let finished = searches::succeed(
            &self.pool,
            &db::search_done_channel(&self.namespace),
            id,
            "spotify",
            &[attempt],
            found,
        )
        .await
        .expect("succeed");
        assert_eq!(finished, searches::Finish::Done);
    }

    /// Takes one message from the namespace's search queue, if there is one.
    pub async fn take_queued_message(&self) -> Option<SearchMessage> {
        let broker = self.broker().await;
        let channel = broker.channel().await.expect("channel");
        let got = channel
            .basic_get(
                broker.topology().search.work.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get");
        broker.close().await;
        got.map(|m| SearchMessage::from_json(&m.delivery.data).expect("a SearchMessage"))
    }

    /// Deletes one of the namespace's queues (to make publishing fail).
    pub async fn delete_queue(&self, queue: &str) {
        let broker = self.broker().await;
        let channel = broker.channel().await.expect("channel");
        channel
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await
            .expect("queue.delete");
        broker.close().await;
    }

    async fn broker(&self) -> Arc<Broker> {
        self.world.broker().await
    }

    /// Stops the app, then removes its world: database, queues, budgets and Redis keys.
    pub async fn cleanup(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
        self.pool.close().await;
        self.world.teardown().await;
    }
}

/// Status and `error.code` of an error response (asserting the contract's error shape).
pub async fn error_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"))
        .to_string();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "no error.message in {body}"
    );
    (status, code)
}

/// A track as Spotify would describe it.
pub fn spotify_track(provider_id: &str, title: &str, artist: &str) -> ProviderTrack {
    ProviderTrack {
        provider: ProviderName::Spotify,
        provider_id: provider_id.to_string(),
        url: format!("https://open.spotify.com/track/{provider_id}"),
        title: title.to_string(),
        artists: vec![artist.to_string()],
        album: Some("Real".to_string()),
        duration_ms: Some(233_000),
        isrc: None,
        release_date: Some("2010-12-09".to_string()),
        image_url: None,
    }
}
