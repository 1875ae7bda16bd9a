//! A provider's budget as configured, in the provider's own terms.

use std::time::Duration;

use chrono_tz::Tz;

use crate::{
    config::ProviderSettings,
    domain::{ProviderName, RateLimit},
};

/// Everything the limiter needs to know about one provider.
#[derive(Debug, Clone)]
pub struct ProviderBudget {
    pub provider: ProviderName,
    /// At most `calls` in any rolling `window`, fleet-wide.
    pub limit: RateLimit,
    /// Added to the window to absorb the delay between our grant and the provider's count.
    pub margin: Duration,
    /// Calls of each window that background work may not take.
    pub reserve: u32,
    /// Budget units per call.
    pub cost: u32,
    /// Adapt below `limit` after 429s (for unpublished limits).
    pub adaptive: bool,
    /// Calls per local day, if the provider has a calendar quota.
    pub daily_quota: Option<(u32, Tz)>,
    /// Consecutive transient failures that open the circuit.
    pub breaker_failures: u32,
    /// How long the circuit stays open.
    pub breaker_cooloff: Duration,
}

impl ProviderBudget {
    /// The budget of `provider` from its settings (already validated).
    pub fn from_settings(provider: ProviderName, s: &ProviderSettings) -> ProviderBudget {
        let reserve = (u64::from(s.limit_calls()) * u64::from(s.reserve_percent)).div_ceil(100);
        ProviderBudget {
            provider,
            limit: s.rate_limit,
            margin: Duration::from_millis(s.safety_margin_ms),
            reserve: u32::try_from(reserve).unwrap_or(u32::MAX),
            cost: s.cost,
            adaptive: s.adaptive,
            daily_quota: s
                .daily_quota
                .map(|calls| (calls, s.quota_timezone.parse().unwrap_or(Tz::UTC))),
            breaker_failures: s.breaker_failures,
            breaker_cooloff: Duration::from_secs(s.breaker_cooloff_secs),
        }
    }
}

impl ProviderSettings {
    fn limit_calls(&self) -> u32 {
        self.rate_limit.calls
    }
}
