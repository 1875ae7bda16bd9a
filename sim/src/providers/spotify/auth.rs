//! Spotify's client-credentials flow: `POST /spotify/api/token` issues bearer tokens that
//! really expire after the configured TTL, and every Web API call checks its bearer token.
//!
//! The `expire_tokens` fault invalidates every token issued so far (tokens issued afterwards
//! work), which is how tests exercise a client's re-authentication path.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use rand::Rng;
use serde_json::json;

use crate::provider::Provider;
use crate::state::SimHandle;
use crate::stats::Outcome;
use crate::wire;

/// Tokens kept before expired ones are pruned.
const PRUNE_ABOVE: usize = 50_000;
const TOKEN_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// Whether a presented token works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenStatus {
    Valid,
    Expired,
    Unknown,
}

/// Issued access tokens and their expiry instants.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
}

impl TokenStore {
    /// Issues a new random token valid for `ttl`.
    pub(crate) fn issue(&self, ttl: Duration) -> String {
        let mut rng = rand::rng();
        let mut token = String::with_capacity(102);
        token.push_str("BQ");
        for _ in 0..100 {
            token.push(TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())] as char);
        }
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if tokens.len() > PRUNE_ABOVE {
            // Forget tokens that expired more than an hour ago (they answer "invalid" now).
            tokens.retain(|_, expires| {
                now.saturating_duration_since(*expires) < Duration::from_secs(3_600)
            });
        }
        tokens.insert(token.clone(), now + ttl);
        token
    }

    /// Checks a presented token.
    pub(crate) fn check(&self, token: &str) -> TokenStatus {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get(token) {
            Some(expires) if Instant::now() < *expires => TokenStatus::Valid,
            Some(_) => TokenStatus::Expired,
            None => TokenStatus::Unknown,
        }
    }

    /// Expires every token issued so far.
    pub(crate) fn expire_all(&self) {
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        for expires in tokens.values_mut() {
            *expires = (*expires).min(now);
        }
    }
}

fn oauth_error(error: &str, description: &str) -> Response {
    wire::json(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description}),
    )
}

/// `POST /spotify/api/token` — client credentials in `Authorization: Basic` (or the form
/// body), `grant_type=client_credentials`.
pub(crate) async fn token(
    State(sim): State<SimHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match sim
        .enter_without_faults(Provider::Spotify, "/api/token")
        .await
    {
        Ok(call) => call,
        Err(response) => return response,
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let credentials = basic_credentials(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let config = sim.config();
    let valid = credentials.is_some_and(|(id, secret)| {
        id == config.spotify_client_id && secret == config.spotify_client_secret
    });
    if !valid {
        return call.finish(
            Outcome::Rejected,
            oauth_error("invalid_client", "Invalid client"),
        );
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        None => {
            return call.finish(
                Outcome::Rejected,
                oauth_error("unsupported_grant_type", "grant_type parameter is missing"),
            )
        }
        Some(_) => {
            return call.finish(
                Outcome::Rejected,
                oauth_error(
                    "unsupported_grant_type",
                    "grant_type must be client_credentials, authorization_code or refresh_token",
                ),
            )
        }
    }
    let ttl = config.spotify_token_ttl_secs;
    let token = sim.inner.tokens.issue(Duration::from_secs(ttl));
    let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl});
    call.finish(Outcome::Ok, wire::json(StatusCode::OK, &body))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Checks the `Authorization: Bearer` header of a Web API call; `Err` is the 401 message.
pub(crate) fn bearer(sim: &SimHandle, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err("No token provided");
    };
    let value = value.to_str().unwrap_or("");
    let token = match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err("Only valid bearer authentication supported"),
    };
    match sim.inner.tokens.check(token) {
        TokenStatus::Valid => Ok(()),
        TokenStatus::Expired => Err("The access token expired"),
        TokenStatus::Unknown => Err("Invalid access token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_can_be_expired_at_once() {
        let store = TokenStore::default();
        let short = store.issue(Duration::ZERO);
        let long = store.issue(Duration::from_secs(60));
        assert_eq!(store.check(&short), TokenStatus::Expired);
        assert_eq!(store.check(&long), TokenStatus::Valid);
        assert_eq!(store.check("nope"), TokenStatus::Unknown);
        store.expire_all();
        assert_eq!(store.check(&long), TokenStatus::Expired);
        let fresh = store.issue(Duration::from_secs(60));
        assert_eq!(store.check(&fresh), TokenStatus::Valid);
        assert!(fresh.starts_with("BQ") && fresh.len() > 80);
    }
}
