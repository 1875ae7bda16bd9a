//! Waiting on signals instead of sleeping: a readiness endpoint, or any condition.

use std::{
    future::Future,
    time::{Duration, Instant},
};

/// Polls `url` until it answers 2xx, failing if `within` passes first or if `alive` reports
/// that the process behind it is gone (its `Err` says how).
pub async fn ready(
    url: &str,
    within: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        alive()?;
        if started.elapsed() > within {
            return Err(format!("{url} did not answer 2xx within {within:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `check` every 200 ms until it returns `Some` or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if started.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
