//! A short-lived, per-process copy of fresh catalog answers, already serialized.
//!
//! Popular searches repeat many times a second; each repeat would cost two Postgres queries
//! and a JSON encoding for the same bytes. Entries live [`HOLD`] at most and never past the
//! moment their answer turns stale, so an answer is never served staler than Postgres would
//! serve it, and a refreshed answer replaces an old one everywhere within [`HOLD`]. Stale and
//! missing answers go to Postgres, which also triggers the refresh.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::body::Bytes;

/// How long an answer is kept here at most.
pub const HOLD: Duration = Duration::from_secs(5);
/// Entries kept at most; past it the cache starts over (popular answers return at once).
const CAPACITY: usize = 20_000;

/// `(normalized query, type, limit)`.
pub type Key = (String, &'static str, u8);

#[derive(Debug)]
struct Entry {
    body: Bytes,
    expires: Instant,
}

/// Fresh answers by search key.
#[derive(Debug, Default)]
pub struct AnswerCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl AnswerCache {
    /// The serialized answer, if held and not expired.
    pub fn get(&self, key: &Key) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|e| e.expires > Instant::now())
            .map(|e| e.body.clone())
    }

    /// Holds `body` until `fresh_for` or [`HOLD`] runs out, whichever is first.
    pub fn put(&self, key: Key, body: Bytes, fresh_for: Duration) {
        let expires = Instant::now() + fresh_for.min(HOLD);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.expires > Instant::now());
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, Entry { body, expires });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(q: &str) -> Key {
        (q.to_string(), "track", 10)
    }

    #[test]
    fn holds_an_answer_no_longer_than_it_stays_fresh() {
        let cache = AnswerCache::default();
        cache.put(key("a"), Bytes::from_static(b"{}"), Duration::from_secs(60));
        cache.put(key("b"), Bytes::from_static(b"{}"), Duration::ZERO);
        assert!(cache.get(&key("a")).is_some());
        assert!(cache.get(&key("b")).is_none(), "already stale");
        assert!(cache.get(&key("c")).is_none());
    }
}
