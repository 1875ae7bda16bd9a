//! How a provider call can fail, classified once at the leaf so callers never match strings.

use std::time::Duration;

use chrono::{DateTime, Utc};
use muze_shared::{domain::AttemptOutcome, rate_limit::Outcome};

/// A 429 without `Retry-After` still cools the provider down this long (and a
/// `Retry-After: 0` cannot make a caller spin).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The failure of one provider call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The provider said "too many requests"; try again after `retry_after` if it said when.
    #[error("rate limited{}", .retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// A daily or monthly quota is used up until `until`.
    #[error("quota exhausted{}", .until.map(|t| format!(" until {}", t.to_rfc3339())).unwrap_or_default())]
    QuotaExhausted { until: Option<DateTime<Utc>> },
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// Worth retrying later: 5xx, connection refused or reset.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Retrying will not help: bad credentials, bad request, malformed body.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The provider refused an access token it had issued (revoked or expired early); a
    /// fresh token may work, as a new call with its own budget.
    #[error("access token refused")]
    Unauthorized,
}

impl ProviderError {
    /// How the attempt is shown to the user.
    pub fn outcome(&self) -> AttemptOutcome {
        match self {
            ProviderError::RateLimited { .. } | ProviderError::QuotaExhausted { .. } => {
                AttemptOutcome::RateLimited
            }
            ProviderError::Timeout => AttemptOutcome::Timeout,
            ProviderError::Transient(_)
            | ProviderError::Permanent(_)
            | ProviderError::Unauthorized => AttemptOutcome::Error,
        }
    }

    /// What the shared limiter learns from this failure: cooldown, breaker, and whether the
    /// provider surely counted the call by now (it answered) or may still be about to.
    pub fn limiter_outcome(&self) -> Outcome {
        match self {
            ProviderError::RateLimited { retry_after } => Outcome::Throttled {
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            },
            ProviderError::QuotaExhausted { until } => Outcome::QuotaExhausted {
                until: until.unwrap_or_else(|| Utc::now() + chrono::Duration::hours(1)),
            },
            ProviderError::Timeout | ProviderError::Transient(_) => Outcome::Transient,
            ProviderError::Permanent(_) | ProviderError::Unauthorized => Outcome::Rejected,
        }
    }

    /// How long the provider asked not to be called, for throttling failures.
    pub fn throttled_for(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after } => Some(
                retry_after
                    .unwrap_or(DEFAULT_RETRY_AFTER)
                    .max(DEFAULT_RETRY_AFTER),
            ),
            ProviderError::QuotaExhausted { until } => Some(
                until
                    .and_then(|u| (u - Utc::now()).to_std().ok())
                    .unwrap_or(Duration::from_secs(3_600))
                    .max(DEFAULT_RETRY_AFTER),
            ),
            _ => None,
        }
    }

    /// Classifies a transport error from reqwest.
    pub fn from_reqwest(e: &reqwest::Error) -> ProviderError {
        if e.is_timeout() {
            ProviderError::Timeout
        } else if e.is_decode() {
            ProviderError::Permanent("malformed body".into())
        } else {
            ProviderError::Transient(format!("connection failed: {}", without_url(e)))
        }
    }
}

/// reqwest errors print the URL, which can carry an API key in its query string.
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(start) = e.find(" for url (") {
        if let Some(end) = e[start..].find(')') {
            e.replace_range(start..start + end + 1, "");
        }
    }
    e
}
