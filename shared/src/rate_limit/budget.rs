//! A provider's budget as configured, in the provider's own terms, and whose budget it is.
//!
//! A budget belongs to a credential, not to a deployment: staging and production sharing one
//! Spotify app share one budget. Its name is therefore derived from the credential (a hash of
//! the client id or API key, never the credential itself) or, for providers that take none and
//! limit per IP, from the operator's egress name. `MUZE__PROVIDERS__<P>__BUDGET_KEY` overrides it.

use std::time::Duration;

use chrono_tz::Tz;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::{
    config::ProviderSettings,
    domain::{ProviderName, RateLimit},
};

/// Windows at least this long are kept call by call in Postgres as well as in Redis: losing
/// Redis must not cost a day of waiting (YouTube's `100/1d`), and such budgets make few calls.
pub const DURABLE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// A call whose outcome is never reported may still reach the provider a little after our
/// client gave up on it (a request already on the wire): its slot is held this long past the
/// timeout.
pub const UNREPORTED_GRACE: Duration = Duration::from_secs(1);

/// Everything the limiter needs to know about one provider.
#[derive(Debug, Clone)]
pub struct ProviderBudget {
    pub provider: ProviderName,
    /// The budget's name: every process with the same name shares one log, cooldown,
    /// breaker and quota.
    pub id: String,
    /// At most `calls` in any rolling `window`, fleet-wide.
    pub limit: RateLimit,
    /// An optional extra: a slot is held this much longer than its call's own accounting.
    pub margin: Duration,
    /// The per-call timeout: a call never reported holds its slot this long (plus
    /// [`UNREPORTED_GRACE`] and the margin) past its grant.
    pub timeout: Duration,
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
    /// The budget of `provider` from its settings (already validated); `egress` names the
    /// address keyless providers see us from.
    pub fn from_settings(
        provider: ProviderName,
        s: &ProviderSettings,
        egress: &str,
    ) -> ProviderBudget {
        let reserve = (u64::from(s.rate_limit.calls) * u64::from(s.reserve_percent)).div_ceil(100);
        ProviderBudget {
            provider,
            id: budget_id(provider, s, egress),
            limit: s.rate_limit,
            margin: Duration::from_millis(s.safety_margin_ms),
            timeout: s.timeout(),
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

    /// Whether every grant is also recorded in Postgres, so a lost Redis state is rebuilt
    /// exactly rather than waited out.
    pub fn durable(&self) -> bool {
        self.daily_quota.is_some() || self.limit.window >= DURABLE_WINDOW
    }

    /// How long past its grant a call that is never reported keeps its slot in the window's
    /// accounting: the latest moment it can reach the provider.
    pub fn unreported_arrival(&self) -> Duration {
        self.timeout + UNREPORTED_GRACE
    }

    /// The declaration other users of this budget see: `<calls>/<window ms>`.
    pub fn declaration(&self) -> String {
        format!("{}/{}", self.limit.calls, self.limit.window_ms())
    }
}

/// `<provider>:<name>`: the override, or a hash of the credential, or the egress name.
fn budget_id(provider: ProviderName, s: &ProviderSettings, egress: &str) -> String {
    if let Some(key) = &s.budget_key {
        return format!("{provider}:{key}");
    }
    let credential = s.client_id.as_ref().or(s.api_key.as_ref());
    match credential {
        Some(secret) => {
            let digest = Sha256::digest(format!("{provider}\0{}", secret.expose_secret()));
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("{provider}:{hex}")
        }
        None => format!("{provider}:egress:{egress}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn budget(provider: ProviderName, env: &[(&str, &str)]) -> ProviderBudget {
        let settings = Settings::load_from(
            None,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .expect("settings");
        ProviderBudget::from_settings(
            provider,
            settings.providers.get(provider),
            &settings.limiter.egress,
        )
    }

    #[test]
    fn one_credential_is_one_budget_whatever_the_namespace() {
        let a = budget(
            ProviderName::Spotify,
            &[
                ("MUZE__NAMESPACE", "staging"),
                ("MUZE__PROVIDERS__SPOTIFY__CLIENT_ID", "app-1"),
            ],
        );
        let b = budget(
            ProviderName::Spotify,
            &[
                ("MUZE__NAMESPACE", "production"),
                ("MUZE__PROVIDERS__SPOTIFY__CLIENT_ID", "app-1"),
            ],
        );
        let other = budget(
            ProviderName::Spotify,
            &[("MUZE__PROVIDERS__SPOTIFY__CLIENT_ID", "app-2")],
        );
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, other.id);
        assert!(a.id.starts_with("spotify:"), "{}", a.id);
        assert!(!a.id.contains("app-1"), "the credential itself never shows");
    }

    #[test]
    fn keyless_providers_share_a_budget_per_egress() {
        let a = budget(
            ProviderName::Deezer,
            &[("MUZE__LIMITER__EGRESS", "eu-nat-1")],
        );
        assert_eq!(a.id, "deezer:egress:eu-nat-1");
        assert_eq!(
            budget(ProviderName::Deezer, &[]).id,
            "deezer:egress:default"
        );
    }

    #[test]
    fn an_operator_may_name_the_budget() {
        let a = budget(
            ProviderName::Youtube,
            &[
                ("MUZE__PROVIDERS__YOUTUBE__API_KEY", "k"),
                ("MUZE__PROVIDERS__YOUTUBE__BUDGET_KEY", "team-a"),
            ],
        );
        assert_eq!(a.id, "youtube:team-a");
    }

    #[test]
    fn budgets_with_a_quota_or_a_long_window_are_durable() {
        assert!(budget(ProviderName::Youtube, &[]).durable());
        assert!(!budget(ProviderName::Spotify, &[]).durable());
        assert!(budget(
            ProviderName::Shazam,
            &[("MUZE__PROVIDERS__SHAZAM__RATE_LIMIT", "500/1h")]
        )
        .durable());
    }
}
