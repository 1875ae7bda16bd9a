//! `muze-sim`, the providers' stand-in: started in this process, and its control and counters
//! over HTTP.

use muze_sim::{
    config::{DEFAULT_SEED, DEFAULT_SONGS},
    Sim, SimConfig,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// The sim at one base URL.
#[derive(Debug, Clone)]
pub struct SimClient {
    base: String,
    http: reqwest::Client,
}

/// A sim running in this process; stops when dropped.
#[derive(Debug)]
pub struct RunningSim {
    pub client: SimClient,
    stop: CancellationToken,
}

impl RunningSim {
    /// Starts a sim with `config` on a free port.
    pub async fn start(config: SimConfig) -> RunningSim {
        let sim = Sim::build(config).await.expect("the sim starts");
        let client = SimClient::new(sim.base_url());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = sim.run(async move { stopped.cancelled().await }).await;
        });
        RunningSim { client, stop }
    }

    /// Stops the sim.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl SimClient {
    /// The sim at `base` (`http://127.0.0.1:<port>`).
    pub fn new(base: impl Into<String>) -> SimClient {
        SimClient {
            base: base.into(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("HTTP client"),
        }
    }

    /// The base URL, which the workers' provider URLs start with.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Every provider's call counters (`GET /_stats`).
    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_stats", self.base))
            .send()
            .await
            .expect("sim stats")
            .json()
            .await
            .expect("sim stats as JSON")
    }

    /// Calls the sim counted to one provider endpoint (`"spotify"`, `"/v1/search"`).
    pub async fn calls(&self, provider: &str, endpoint: &str) -> u64 {
        self.stats().await["providers"][provider]["endpoints"][endpoint]
            .as_u64()
            .unwrap_or(0)
    }

    /// Calls over any provider's limit.
    pub async fn violations(&self) -> u64 {
        self.stats().await["total_violations"].as_u64().unwrap_or(0)
    }

    /// Sets a fault, latency or limit on one provider (`POST /_control/{provider}`).
    pub async fn control(&self, provider: &str, body: Value) {
        let response = self
            .http
            .post(format!("{}/_control/{provider}", self.base))
            .json(&body)
            .send()
            .await
            .expect("sim control");
        assert!(response.status().is_success(), "sim control {body}");
    }

    /// Makes `provider` enforce `calls` per rolling `window_ms` (its plan, as it counts it).
    pub async fn limit(&self, provider: &str, calls: u32, window_ms: u64) {
        self.control(
            provider,
            json!({"limit": {"calls": calls, "window_ms": window_ms}}),
        )
        .await;
    }

    /// Adds new-release albums to the catalog; the new songs as the sim lists them (with
    /// `isrc`, `spotify_id`, `deezer_id`, ...).
    pub async fn add_releases(&self, albums: usize, tracks_per_album: usize) -> Vec<Value> {
        let response = self
            .http
            .post(format!("{}/_control/releases", self.base))
            .json(&json!({"albums": albums, "tracks_per_album": tracks_per_album}))
            .send()
            .await
            .expect("sim releases");
        assert!(response.status().is_success(), "sim releases");
        let body: Value = response.json().await.expect("JSON");
        body["songs"].as_array().cloned().expect("songs")
    }
}

/// Distinct "title artist" queries, one per song of the sim's default catalog, in order.
pub fn catalog_queries(n: usize) -> Vec<String> {
    catalog_queries_of(DEFAULT_SONGS)
        .into_iter()
        .take(n)
        .collect()
}

/// Distinct "title artist" queries, one per song of the catalog a sim started with
/// `--songs <songs>` (and the default seed) serves, in order.
pub fn catalog_queries_of(songs: usize) -> Vec<String> {
    muze_sim::catalog::Catalog::generate(DEFAULT_SEED, songs).title_artist_queries()
}
