//! How YouTube says no: Google's error body names a `reason`, and the reason decides.
//!
//! Every call spends one unit of the project's search.list bucket (about 100 a day), which
//! resets at midnight Pacific time (`quota_timezone`, `America/Los_Angeles` by default), so a
//! quota error means "exhausted until the next midnight there" ([`calendar::next_reset`], the
//! same calendar the limiter counts the quota in), not "retry in a few seconds"; `rateLimitExceeded` is a short-term limit that passes
//! by itself; anything else is classified by its status like every other provider's.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use muze_shared::rate_limit::calendar;
use reqwest::{header::HeaderMap, StatusCode};
use serde::Deserialize;

use crate::providers::{http, ProviderError};

/// Error reasons meaning the daily quota is spent: nothing works until the Pacific midnight.
const DAILY_QUOTA_REASONS: &[&str] = &["quotaExceeded", "dailyLimitExceeded"];
/// Error reasons meaning "too fast": a short-term limit that passes by itself.
const RATE_REASONS: &[&str] = &["rateLimitExceeded", "userRateLimitExceeded"];

/// Classifies a non-success answer from its status and Google's error body.
pub(super) fn classify_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    quota_zone: Tz,
) -> ProviderError {
    let reasons: Vec<String> = serde_json::from_slice::<ErrorResponse>(body)
        .map(|b| {
            b.error
                .errors
                .into_iter()
                .filter_map(|e| e.reason)
                .collect()
        })
        .unwrap_or_default();
    let has = |set: &[&str]| reasons.iter().any(|r| set.contains(&r.as_str()));
    if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
        if has(DAILY_QUOTA_REASONS) {
            return ProviderError::QuotaExhausted {
                until: Some(calendar::next_reset(now, quota_zone)),
            };
        }
        if has(RATE_REASONS) {
            return ProviderError::RateLimited {
                retry_after: http::retry_after(headers),
            };
        }
    }
    match (http::classify_status(status, headers), reasons.first()) {
        (ProviderError::Permanent(_), Some(reason)) => {
            ProviderError::Permanent(format!("HTTP {} ({reason})", status.as_u16()))
        }
        (error, _) => error,
    }
}

#[derive(Debug, Deserialize)]
struct ErrorResponse {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("valid instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn quota_exceeded_lasts_until_the_next_los_angeles_midnight() {
        let body = br#"{"error":{"code":403,"message":"The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
            "errors":[{"message":"The request cannot be completed because you have exceeded your quota.",
            "domain":"youtube.quota","reason":"quotaExceeded"}]}}"#;
        let error = classify_error(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            body,
            at("2026-01-15T12:00:00Z"),
            chrono_tz::America::Los_Angeles,
        );
        // 04:00 PST on the 15th → midnight PST starting the 16th.
        assert_eq!(
            error,
            ProviderError::QuotaExhausted {
                until: Some(at("2026-01-16T08:00:00Z"))
            }
        );
    }

    #[test]
    fn quota_exceeded_lasts_until_midnight_in_the_configured_zone() {
        let body = br#"{"error":{"code":403,"errors":[{"domain":"youtube.quota","reason":"quotaExceeded"}]}}"#;
        let seoul: Tz = "Asia/Seoul".parse().expect("zone");
        let error = classify_error(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            body,
            at("2026-01-15T12:00:00Z"),
            seoul,
        );
        // 21:00 KST on the 15th → midnight KST starting the 16th.
        assert_eq!(
            error,
            ProviderError::QuotaExhausted {
                until: Some(at("2026-01-15T15:00:00Z"))
            }
        );
    }

    #[test]
    fn classifies_google_errors() {
        let now = at("2026-01-15T12:00:00Z");
        let body = |status: u16, domain: &str, reason: &str| {
            format!(
                r#"{{"error":{{"code":{status},"message":"m","errors":[{{"message":"m","domain":"{domain}","reason":"{reason}"}}],"status":"X"}}}}"#
            )
        };
        let classify = |status: u16, body: &str| {
            classify_error(
                StatusCode::from_u16(status).expect("status"),
                &HeaderMap::new(),
                body.as_bytes(),
                now,
                chrono_tz::America::Los_Angeles,
            )
        };
        assert!(matches!(
            classify(403, &body(403, "usageLimits", "dailyLimitExceeded")),
            ProviderError::QuotaExhausted { until: Some(_) }
        ));
        assert_eq!(
            classify(403, &body(403, "usageLimits", "rateLimitExceeded")),
            ProviderError::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(403, &body(403, "usageLimits", "userRateLimitExceeded")),
            ProviderError::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(403, &body(403, "global", "forbidden")),
            ProviderError::Permanent("HTTP 403 (forbidden)".into())
        );
        assert_eq!(
            classify(400, &body(400, "global", "badRequest")),
            ProviderError::Permanent("HTTP 400 (badRequest)".into())
        );
        assert!(matches!(
            classify(503, &body(503, "global", "backendError")),
            ProviderError::Transient(_)
        ));
        assert!(matches!(
            classify(500, "<html>"),
            ProviderError::Transient(_)
        ));
        assert_eq!(
            classify(403, "not json"),
            ProviderError::Permanent("HTTP 403".into())
        );
    }
}
