//! Helpers: a simulator on port 0 with an HTTP client and shortcuts for common calls.

use muze_sim::{Provider, RunningSim, Sim, SimConfig, Stats};
use reqwest::{Client, Response};
use serde_json::Value;

/// A User-Agent MusicBrainz accepts.
pub const UA: &str = "MuzeSimTests/0.1 ( tests@muze.example )";

pub struct TestSim {
    pub sim: RunningSim,
    pub client: Client,
}

pub async fn spawn(config: SimConfig) -> TestSim {
    let sim = Sim::build(config).await.expect("sim builds").spawn();
    TestSim {
        sim,
        client: Client::new(),
    }
}

pub async fn spawn_default() -> TestSim {
    spawn(SimConfig::default()).await
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// A fresh Spotify access token for the default credentials.
    pub async fn spotify_token(&self) -> String {
        let response = self
            .client
            .post(self.url("/spotify/api/token"))
            .basic_auth("muze-sim-client", Some("muze-sim-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn spotify(&self, token: &str, path_and_query: &str) -> Response {
        self.client
            .get(self.url(&format!("/spotify/v1{path_and_query}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("spotify request")
    }

    pub async fn control(&self, provider: &str, body: Value) -> Response {
        self.client
            .post(self.url(&format!("/_control/{provider}")))
            .json(&body)
            .send()
            .await
            .expect("control request")
    }

    pub async fn stats(&self) -> Stats {
        self.get("/_stats").await.json().await.expect("stats json")
    }

    pub async fn provider_stats(&self, provider: Provider) -> muze_sim::ProviderStats {
        self.stats().await.provider(provider)
    }
}

pub async fn json(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"))
}
