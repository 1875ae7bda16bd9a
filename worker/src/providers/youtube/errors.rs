//! How YouTube says no: Google's error body names a `reason`, and the reason decides.
//!
//! Every call spends one unit of the project's search.list bucket (about 100 a day), which
//! resets at midnight Pacific time, so a quota error means "exhausted until the next Los Angeles
//! midnight", not "retry in a few seconds"; `rateLimitExceeded` is a short-term limit that passes
//! by itself; anything else is classified by its status like every other provider's.

use chrono::{DateTime, Duration as TimeDelta, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use reqwest::{header::HeaderMap, StatusCode};
use serde::Deserialize;

use crate::providers::{http, ProviderError};

/// Error reasons meaning the daily quota is spent: nothing works until the Pacific midnight.
const DAILY_QUOTA_REASONS: &[&str] = &["quotaExceeded", "dailyLimitExceeded"];
/// Error reasons meaning "too fast": a short-term limit that passes by itself.
const RATE_REASONS: &[&str] = &["rateLimitExceeded", "userRateLimitExceeded"];

/// When the daily search quota comes back: the first midnight in America/Los_Angeles strictly
/// after `now` (23 or 25 hours away on DST change days).
pub fn next_quota_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&Los_Angeles).date_naive();
    today
        .succ_opt()
        .map(|tomorrow| tomorrow.and_time(NaiveTime::MIN))
        // DST changes at 02:00 there, so midnight always exists exactly once.
        .and_then(|midnight| Los_Angeles.from_local_datetime(&midnight).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| now + TimeDelta::hours(24))
}

/// Classifies a non-success answer from its status and Google's error body.
pub(super) fn classify_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
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
                until: Some(next_quota_reset(now)),
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
    fn next_quota_reset_follows_pacific_time_across_dst() {
        // Summer: PDT is UTC-7; 23:30 PDT on June 30 is already July 1 in UTC.
        assert_eq!(
            next_quota_reset(at("2026-07-01T06:30:00Z")),
            at("2026-07-01T07:00:00Z")
        );
        // Spring forward (8 March 2026): 01:00 PST, the day has 23 hours; midnight after it is PDT.
        assert_eq!(
            next_quota_reset(at("2026-03-08T09:00:00Z")),
            at("2026-03-09T07:00:00Z")
        );
        // Fall back (1 November 2026): 01:00 PDT, the day has 25 hours; midnight after it is PST.
        assert_eq!(
            next_quota_reset(at("2026-11-01T08:00:00Z")),
            at("2026-11-02T08:00:00Z")
        );
        // Exactly at midnight: the next one, a day later.
        assert_eq!(
            next_quota_reset(at("2026-01-16T08:00:00Z")),
            at("2026-01-17T08:00:00Z")
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
