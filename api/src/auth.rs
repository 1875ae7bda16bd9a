//! Who is calling: the `Authorization: Bearer <key>` check in front of every `/v1/*` route.
//!
//! Keys are kept only as SHA-256 digests, and a presented key is compared with every known
//! digest without stopping at the first differing byte, so response timing says nothing about
//! how close a guess was. The middleware leaves a [`Caller`] in the request extensions for the
//! layers and handlers after it (the per-key request limit uses its [`Caller::key_id`]).
//!
//! Everything under `/v1/admin` additionally needs an admin key (403 `forbidden` otherwise).
//! The check is by path, so an admin route added later is protected by being added there.

use axum::{
    extract::{OriginalUri, Request, State},
    http::{header, HeaderMap},
    middleware::Next,
    response::Response,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::{error::ApiError, state::AppState};

/// Paths below this need an admin key.
pub const ADMIN_PREFIX: &str = "/v1/admin";

type KeyDigest = [u8; 32];

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A client key: every `/v1/*` route except `/v1/admin/*`.
    Client,
    /// An admin key: everything a client key may, plus `/v1/admin/*`.
    Admin,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// First 16 hex digits of the key's SHA-256: names the key in Redis and logs without
    /// revealing it.
    pub key_id: String,
    pub role: Role,
}

/// The keys this process accepts, as digests.
#[derive(Clone)]
pub struct KeySet {
    keys: Vec<(KeyDigest, Role)>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not even the digests: they would let anyone holding a dump test guesses offline.
        f.debug_struct("KeySet")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl KeySet {
    /// Client keys and admin keys; an admin key is also a valid client key.
    pub fn new(client_keys: &[SecretString], admin_keys: &[SecretString]) -> KeySet {
        let client = client_keys
            .iter()
            .map(|k| (digest(k.expose_secret()), Role::Client));
        let admin = admin_keys
            .iter()
            .map(|k| (digest(k.expose_secret()), Role::Admin));
        KeySet {
            keys: client.chain(admin).collect(),
        }
    }

    /// The caller holding `presented`, if it is one of our keys. Looks at every key whatever
    /// happens, so the time taken does not depend on which key (if any) matched.
    pub fn identify(&self, presented: &str) -> Option<Caller> {
        let presented_digest = digest(presented);
        let mut role = None;
        for (known, known_role) in &self.keys {
            if equal_in_constant_time(&presented_digest, known) && role != Some(Role::Admin) {
                role = Some(*known_role);
            }
        }
        role.map(|role| Caller {
            key_id: key_id(&presented_digest),
            role,
        })
    }
}

fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

/// Compares every byte, accumulating differences, instead of returning at the first mismatch.
fn equal_in_constant_time(a: &KeyDigest, b: &KeyDigest) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn key_id(digest: &KeyDigest) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The key in `Authorization: Bearer <key>`, if the header has that shape.
fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

fn is_admin_path(path: &str) -> bool {
    path.strip_prefix(ADMIN_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Middleware: 401 without a known key, 403 for a client key on an admin path; otherwise the
/// request continues with its [`Caller`] attached.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = bearer_key(request.headers())
        .and_then(|key| state.keys.identify(key))
        .ok_or(ApiError::Unauthorized)?;
    // Inside the nested `/v1` router the URI has its prefix stripped; judge the full path.
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |uri| uri.path());
    if is_admin_path(path) && caller.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn keys() -> KeySet {
        KeySet::new(
            &[SecretString::from("client-1"), SecretString::from("both")],
            &[SecretString::from("admin-1"), SecretString::from("both")],
        )
    }

    #[test]
    fn identifies_client_and_admin_keys() {
        let keys = keys();
        assert_eq!(
            keys.identify("client-1").map(|c| c.role),
            Some(Role::Client)
        );
        assert_eq!(keys.identify("admin-1").map(|c| c.role), Some(Role::Admin));
        assert_eq!(keys.identify("both").map(|c| c.role), Some(Role::Admin));
        assert_eq!(keys.identify("client-2"), None);
        assert_eq!(keys.identify(""), None);
    }

    #[test]
    fn key_id_is_sixteen_hex_digits_and_stable() {
        let id = keys().identify("client-1").expect("known").key_id;
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(keys().identify("client-1").expect("known").key_id, id);
    }

    #[test]
    fn reads_only_bearer_credentials() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            headers
        };
        assert_eq!(bearer_key(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer_key(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_key(&with("Basic abc")), None);
        assert_eq!(bearer_key(&with("Bearer ")), None);
        assert_eq!(bearer_key(&with("abc")), None);
        assert_eq!(bearer_key(&HeaderMap::new()), None);
    }

    #[test]
    fn admin_paths_are_the_admin_prefix_and_below() {
        assert!(is_admin_path("/v1/admin"));
        assert!(is_admin_path("/v1/admin/crawls"));
        assert!(!is_admin_path("/v1/administrators"));
        assert!(!is_admin_path("/v1/searches"));
    }
}
