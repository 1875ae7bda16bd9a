//! A whole system around one [`TestApp`]: `muze-sim` standing in for the providers and a real
//! `muze-worker`, both in this process, in the app's world (same database, namespace and
//! budgets). The app's world removes the database, queues and Redis keys (also when a test
//! panics); [`Stack::cleanup`] stops the worker and the sim first.
#![allow(dead_code)]

use std::time::Duration;

use muze_sim::SimConfig;
use muze_testkit::{ApiClient, RunningSim};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

pub use muze_testkit::catalog_queries;

use crate::support::{TestApp, ADMIN_KEY, KEY};

/// The app, a worker (when asked for) and the sim.
pub struct Stack {
    /// Declared first, so dropped (and aborted) before the app's world is removed: a test that
    /// panics leaves no worker re-declaring the world's queues.
    worker: Option<AbortOnDropHandle<()>>,
    pub app: TestApp,
    /// The app as a client calls it, with [`KEY`].
    pub api: ApiClient,
    pub sim: RunningSim,
    worker_stop: CancellationToken,
}

impl Stack {
    /// The sim, the app pointed at it (Spotify only in the fallback order, its limit
    /// `1000/5m` so every call of a test stays in the window), and a worker if `with_worker`
    /// (ready: its consumers are subscribed).
    pub async fn start(with_worker: bool, extra: &[(&str, &str)]) -> Stack {
        let sim = RunningSim::start(SimConfig::default()).await;
        let mut world = TestApp::new_world();
        world.point_at_sim(sim.client.base(), "1000/5m");
        world.lift_client_limits();
        for (key, value) in [
            ("MUZE__SEARCH__PROVIDERS", "spotify"),
            ("MUZE__WORKER__SWEEP_INTERVAL_SECS", "1"),
        ]
        .iter()
        .chain(extra)
        {
            world.set(key, *value);
        }
        let app = TestApp::spawn_in(world).await;
        let api = ApiClient::new(app.url(""), KEY);
        let mut stack = Stack {
            app,
            api,
            sim,
            worker_stop: CancellationToken::new(),
            worker: None,
        };
        if with_worker {
            stack.start_worker().await;
        }
        stack
    }

    /// Starts the worker in the app's world and waits until its `/readyz` answers.
    async fn start_worker(&mut self) {
        let worker =
            muze_testkit::worker::start(self.app.settings.clone(), self.worker_stop.clone()).await;
        self.worker = Some(AbortOnDropHandle::new(worker.task));
    }

    /// Posts a search; returns its HTTP status and body.
    pub async fn post(&self, query: &str) -> (u16, Value) {
        self.api
            .post_search(&serde_json::json!({ "query": query }))
            .await
    }

    /// Long-polls a search until it is final (or 30 s pass); returns its last state.
    pub async fn wait_done(&self, id: &str) -> Value {
        self.api.wait_done(id, Duration::from_secs(30)).await
    }

    /// `GET /v1/admin/status` with the admin key, as JSON.
    pub async fn status(&self) -> Value {
        self.api
            .with_key(ADMIN_KEY)
            .get_json("/v1/admin/status")
            .await
    }

    /// How many calls the sim counted to one provider endpoint.
    pub async fn sim_calls(&self, provider: &str, endpoint: &str) -> u64 {
        self.sim.client.calls(provider, endpoint).await
    }

    /// Stops the worker and waits for it (its in-flight jobs settle first).
    pub async fn stop_worker(&mut self) {
        self.worker_stop.cancel();
        if let Some(worker) = self.worker.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), worker).await;
        }
    }

    /// Stops the worker and the sim, then the app, and removes the app's world: database,
    /// queues, budgets and namespaced Redis keys (the answer counts among them).
    pub async fn cleanup(mut self) {
        self.stop_worker().await;
        self.sim.stop();
        self.app.cleanup().await;
    }
}

/// The admin key's `Authorization` value.
pub fn admin_bearer() -> String {
    format!("Bearer {ADMIN_KEY}")
}
