//! Call accounting: every call to a provider stand-in is counted, by endpoint and by outcome,
//! and reported at `GET /_stats` (and [`crate::SimHandle::stats`]).
//!
//! Benchmarks and fleet tests read `violations` to prove that the workers never exceeded a
//! provider's limit; `faults_injected` separates deliberate failures from real ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::LimitConfig;
use crate::provider::Provider;

/// How a call ended, as far as accounting is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A successful answer (2xx without an error body).
    Ok,
    /// Refused because the provider's limit or quota was exceeded (not an injected fault).
    Violation,
    /// Answered by an injected fault (outage, error, malformed, empty, forced rate limit, ...).
    Fault,
    /// Refused for a client error: bad credentials, bad parameters, unknown id.
    Rejected,
}

/// Counters of one provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStats {
    /// Every call received, including token calls and refused ones.
    pub calls: u64,
    /// Calls answered successfully.
    pub ok: u64,
    /// Calls that exceeded the limit or quota (each one a bug in a well-behaved client).
    pub violations: u64,
    /// Calls answered by an injected fault.
    pub faults_injected: u64,
    /// Calls refused for client errors (credentials, parameters, unknown ids).
    #[serde(default)]
    pub rejected: u64,
    /// Calls per endpoint, keyed by the path template below the provider prefix
    /// (`"/v1/search"`, `"/api/token"`, `"/track/{id}"`).
    pub endpoints: BTreeMap<String, u64>,
    /// The rolling limit in force (`null` when disabled).
    #[serde(default)]
    pub limit: Option<LimitConfig>,
    /// The daily quota in force (YouTube), `null` when none.
    #[serde(default)]
    pub daily_quota: Option<u32>,
    /// Admitted calls currently inside the rolling window.
    #[serde(default)]
    pub in_window: u32,
    /// Quota units spent today (YouTube).
    #[serde(default)]
    pub quota_used: u32,
}

impl ProviderStats {
    pub(crate) fn count_call(&mut self, endpoint: &str) {
        self.calls += 1;
        match self.endpoints.get_mut(endpoint) {
            Some(n) => *n += 1,
            None => {
                self.endpoints.insert(endpoint.to_owned(), 1);
            }
        }
    }

    pub(crate) fn count_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Violation => self.violations += 1,
            Outcome::Fault => self.faults_injected += 1,
            Outcome::Rejected => self.rejected += 1,
        }
    }
}

/// A snapshot of all counters, as served by `GET /_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Counters per provider.
    pub providers: BTreeMap<Provider, ProviderStats>,
    /// Sum of `calls` over providers.
    pub total_calls: u64,
    /// Sum of `violations` over providers.
    pub total_violations: u64,
}

impl Stats {
    /// Builds the totals from per-provider counters.
    pub fn from_providers(providers: BTreeMap<Provider, ProviderStats>) -> Self {
        Stats {
            total_calls: providers.values().map(|p| p.calls).sum(),
            total_violations: providers.values().map(|p| p.violations).sum(),
            providers,
        }
    }

    /// The counters of one provider (zeroes if absent).
    pub fn provider(&self, provider: Provider) -> ProviderStats {
        self.providers.get(&provider).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_lowercase_provider_keys_and_totals() {
        let mut spotify = ProviderStats::default();
        spotify.count_call("/v1/search");
        spotify.count_call("/v1/search");
        spotify.count_call("/api/token");
        spotify.count_outcome(Outcome::Ok);
        spotify.count_outcome(Outcome::Violation);
        let stats = Stats::from_providers(BTreeMap::from([(Provider::Spotify, spotify)]));
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["providers"]["spotify"]["calls"], 3);
        assert_eq!(json["providers"]["spotify"]["endpoints"]["/v1/search"], 2);
        assert_eq!(json["total_violations"], 1);
        let back: Stats = serde_json::from_value(json).unwrap();
        assert_eq!(back, stats);
    }
}
