//! A whole system around one [`TestApp`]: `muze-sim` standing in for the providers and a real
//! `muze-worker`, both in this process, configured like the app (same database, namespace and
//! budgets). The app's own clean-up (also when a test panics) removes the database, queues and
//! Redis keys; [`Stack::cleanup`] stops the worker and the sim first.
#![allow(dead_code)]

use std::time::Duration;

use muze_sim::{Sim, SimConfig};
use muze_worker::Worker;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::support::{TestApp, ADMIN_KEY};

/// The app, a worker (when asked for) and the sim.
pub struct Stack {
    pub app: TestApp,
    pub sim_url: String,
    sim_stop: CancellationToken,
    worker_stop: CancellationToken,
    worker: Option<JoinHandle<()>>,
}

/// Distinct "title artist" queries for songs the sim's catalog holds.
pub fn catalog_queries(n: usize) -> Vec<String> {
    muze_sim::catalog::Catalog::generate(42, 3000)
        .title_artist_queries()
        .into_iter()
        .take(n)
        .collect()
}

impl Stack {
    /// The sim, the app pointed at it (Spotify only in the fallback order, its limit
    /// `1000/5m` so every call of a test stays in the window), and `workers` workers (0 or 1).
    pub async fn start(with_worker: bool, extra: &[(&str, &str)]) -> Stack {
        let sim = Sim::build(SimConfig::default()).await.expect("sim starts");
        let sim_url = sim.base_url();
        let sim_stop = CancellationToken::new();
        let stop = sim_stop.clone();
        tokio::spawn(async move {
            let _ = sim.run(async move { stop.cancelled().await }).await;
        });
        let urls = [
            (
                "MUZE__PROVIDERS__SPOTIFY__BASE_URL",
                format!("{sim_url}/spotify/v1"),
            ),
            (
                "MUZE__PROVIDERS__SPOTIFY__TOKEN_URL",
                format!("{sim_url}/spotify/api/token"),
            ),
            (
                "MUZE__PROVIDERS__YOUTUBE__BASE_URL",
                format!("{sim_url}/youtube/youtube/v3"),
            ),
            (
                "MUZE__PROVIDERS__SHAZAM__BASE_URL",
                format!("{sim_url}/shazam"),
            ),
            (
                "MUZE__PROVIDERS__DEEZER__BASE_URL",
                format!("{sim_url}/deezer"),
            ),
            (
                "MUZE__PROVIDERS__MUSICBRAINZ__BASE_URL",
                format!("{sim_url}/musicbrainz/ws/2"),
            ),
        ];
        let mut env: Vec<(&str, &str)> = urls.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend([
            ("MUZE__PROVIDERS__SPOTIFY__CLIENT_ID", "muze-sim-client"),
            ("MUZE__PROVIDERS__SPOTIFY__CLIENT_SECRET", "muze-sim-secret"),
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "1000/5m"),
            ("MUZE__PROVIDERS__YOUTUBE__API_KEY", "muze-sim-key"),
            ("MUZE__PROVIDERS__SHAZAM__API_KEY", "muze-sim-key"),
            ("MUZE__SEARCH__PROVIDERS", "spotify"),
            ("MUZE__API__REQUESTS_PER_MINUTE", "100000"),
            ("MUZE__API__SEARCHES_PER_MINUTE", "100000"),
            ("MUZE__API__SEARCH_BURST", "10000"),
            ("MUZE__WORKER__SWEEP_INTERVAL_SECS", "1"),
        ]);
        env.extend_from_slice(extra);
        let app = TestApp::spawn_with(&env).await;
        let mut stack = Stack {
            app,
            sim_url,
            sim_stop,
            worker_stop: CancellationToken::new(),
            worker: None,
        };
        if with_worker {
            let worker = Worker::build(stack.app.settings.clone())
                .await
                .expect("worker starts");
            let stop = stack.worker_stop.clone();
            stack.worker = Some(tokio::spawn(async move {
                worker
                    .run(async move { stop.cancelled().await })
                    .await
                    .expect("worker runs");
            }));
        }
        stack
    }

    /// Posts a search; returns its HTTP status and body.
    pub async fn post(&self, query: &str) -> (u16, Value) {
        let response = self
            .app
            .post_search(serde_json::json!({ "query": query }))
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("search JSON"))
    }

    /// Long-polls a search until it is final (or 30 s pass); returns its last state.
    pub async fn wait_done(&self, id: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            let search: Value = self
                .app
                .get(&format!("/v1/searches/{id}?wait=5"))
                .await
                .json()
                .await
                .expect("search JSON");
            let status = search["status"].as_str().unwrap_or_default();
            if status == "succeeded" || status == "failed" || started.elapsed().as_secs() > 30 {
                return search;
            }
        }
    }

    /// `GET /v1/admin/status` with the admin key, as JSON.
    pub async fn status(&self) -> Value {
        let response = self.app.get_as_admin("/v1/admin/status").await;
        assert_eq!(response.status().as_u16(), 200, "GET /v1/admin/status");
        response.json().await.expect("status JSON")
    }

    /// How many calls the sim counted to one provider endpoint.
    pub async fn sim_calls(&self, provider: &str, endpoint: &str) -> u64 {
        let stats: Value = self
            .app
            .http
            .get(format!("{}/_stats", self.sim_url))
            .send()
            .await
            .expect("sim stats")
            .json()
            .await
            .expect("sim stats JSON");
        stats["providers"][provider]["endpoints"][endpoint]
            .as_u64()
            .unwrap_or(0)
    }

    /// Stops the worker and waits for it (its in-flight jobs settle first).
    pub async fn stop_worker(&mut self) {
        self.worker_stop.cancel();
        if let Some(worker) = self.worker.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), worker).await;
        }
    }

    /// Stops the worker and the sim, then the app, and removes the app's database, queues,
    /// budgets and namespaced Redis keys (the answer counts among them).
    pub async fn cleanup(mut self) {
        self.stop_worker().await;
        self.sim_stop.cancel();
        self.app.cleanup().await;
    }
}

/// The admin key's `Authorization` value.
pub fn admin_bearer() -> String {
    format!("Bearer {ADMIN_KEY}")
}
