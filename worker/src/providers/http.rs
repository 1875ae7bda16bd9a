//! HTTP plumbing shared by the provider clients: one client per provider with its timeout and
//! an honest User-Agent, the reading of status codes every API uses the same way, and the
//! joining of the API's own paths onto a configured base URL.

use std::time::Duration;

use reqwest::{header::HeaderMap, StatusCode};
use url::Url;

use super::ProviderError;

/// Identifies us to providers (MusicBrainz rejects anonymous clients).
pub const USER_AGENT: &str = concat!(
    "MuzeSearch/",
    env!("CARGO_PKG_VERSION"),
    " ( https://github.com/muze-search/muze ; ops@muze.example )"
);

/// A client for one provider.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

/// The provider's API key, if one is configured and not blank.
pub fn api_key(settings: &muze_shared::config::ProviderSettings) -> Option<secrecy::SecretString> {
    use secrecy::ExposeSecret;
    settings
        .api_key
        .clone()
        .filter(|k| !k.expose_secret().trim().is_empty())
}

/// Sends a built request; a transport failure is classified (timeout, connection, ...).
pub async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<reqwest::Response, ProviderError> {
    client
        .execute(request)
        .await
        .map_err(|e| ProviderError::from_reqwest(&e))
}

/// `Retry-After` in seconds, if present and numeric.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The usual reading of a non-success status: 429 throttled, 5xx transient, other 4xx
/// permanent.
pub fn classify_status(status: StatusCode, headers: &HeaderMap) -> ProviderError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        ProviderError::RateLimited {
            retry_after: retry_after(headers),
        }
    } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        ProviderError::Transient(format!("HTTP {}", status.as_u16()))
    } else {
        ProviderError::Permanent(format!("HTTP {}", status.as_u16()))
    }
}

/// Reads a body as JSON of type `T`; anything else is a malformed body.
pub async fn json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ProviderError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ProviderError::from_reqwest(&e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ProviderError::Permanent(format!("malformed body: {e}")))
}

/// Appends a path segment to a base URL that may or may not end in `/`.
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
        for part in path.split('/') {
            segments.push(part);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_paths_onto_base_urls() {
        let base = Url::parse("http://127.0.0.1:9100/spotify/v1").expect("url");
        assert_eq!(
            join(&base, "search").as_str(),
            "http://127.0.0.1:9100/spotify/v1/search"
        );
        let base = Url::parse("https://api.spotify.com/v1/").expect("url");
        assert_eq!(
            join(&base, "albums/x/tracks").as_str(),
            "https://api.spotify.com/v1/albums/x/tracks"
        );
    }
}
