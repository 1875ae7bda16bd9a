//! A client of `muze-api`'s HTTP interface, as a user or operator calls it.

use std::time::{Duration, Instant};

use muze_shared::domain::SearchView;
use serde_json::{json, Value};

/// `muze-api` at one base URL, calling with one key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl ApiClient {
    /// The API at `base` (`http://127.0.0.1:<port>`), calling with the bearer `key`.
    pub fn new(base: impl Into<String>, key: impl Into<String>) -> ApiClient {
        ApiClient {
            base: base.into(),
            key: key.into(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
        }
    }

    /// The API at `base` through `http`, a client configured by the caller (a benchmark's
    /// connection pool); cheap, since clients share their pool when cloned.
    pub fn with_http(
        base: impl Into<String>,
        key: impl Into<String>,
        http: reqwest::Client,
    ) -> ApiClient {
        ApiClient {
            base: base.into(),
            key: key.into(),
            http,
        }
    }

    /// The same API with another key.
    pub fn with_key(&self, key: impl Into<String>) -> ApiClient {
        ApiClient {
            key: key.into(),
            ..self.clone()
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /v1/searches` with `body`: the status and the JSON answer (`null` if none).
    pub async fn post_search(&self, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url("/v1/searches"))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .expect("POST /v1/searches");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts a search for `query` that must be accepted (or answered at once); its id.
    pub async fn search(&self, query: &str) -> String {
        let (status, body) = self.post_search(&json!({ "query": query })).await;
        assert!(
            status == 202 || status == 200,
            "POST {query:?} → {status} {body}"
        );
        body["id"].as_str().expect("a search id").to_string()
    }

    /// `GET /v1/searches/{id}?wait=<wait>`, which must answer 200.
    pub async fn get_search(&self, id: &str, wait_secs: u64) -> Value {
        let response = self
            .http
            .get(self.url(&format!("/v1/searches/{id}?wait={wait_secs}")))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("GET /v1/searches/{id}");
        assert_eq!(response.status().as_u16(), 200, "GET search {id}");
        response.json().await.expect("a search as JSON")
    }

    /// Long-polls until the search is final or `within` has passed; its last state.
    pub async fn wait_done(&self, id: &str, within: Duration) -> Value {
        let started = Instant::now();
        loop {
            let search = self.get_search(id, 5).await;
            let status = search["status"].as_str().unwrap_or_default();
            if status == "succeeded" || status == "failed" || started.elapsed() > within {
                return search;
            }
        }
    }

    /// `GET path`, which must answer 2xx, as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("the API answers");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }

    /// Posts a search and long-polls it until final, typed, with errors instead of panics (for
    /// benchmarks, which count failures rather than stop at one).
    pub async fn search_until_final(&self, query: &str) -> anyhow::Result<SearchView> {
        let mut view: SearchView = self
            .http
            .post(self.url("/v1/searches"))
            .bearer_auth(&self.key)
            .json(&json!({ "query": query }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        while !view.status.is_final() {
            view = self
                .http
                .get(self.url(&format!("/v1/searches/{}?wait=30", view.id)))
                .bearer_auth(&self.key)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
        }
        Ok(view)
    }
}
