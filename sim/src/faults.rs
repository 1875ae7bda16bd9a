//! Faults that can be injected into a provider at runtime: outages, errors, slowness,
//! timeouts, malformed or empty bodies, expired tokens and forced rate limiting.
//!
//! A [`Fault`] is set per provider (through [`crate::SimHandle::set_fault`] or
//! `POST /_control/{provider}`) and consulted once at the start of every provider call
//! (except Spotify's token endpoint, which stands for a separate host). A fault may apply to
//! the next `count` calls only, or for `duration_ms`, then reverts to [`FaultKind::None`].

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Default extra latency of [`FaultKind::Slow`].
pub const DEFAULT_SLOW_DELAY_MS: u64 = 2_000;
/// Default `Retry-After` of [`FaultKind::RateLimited`] (seconds).
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;
/// How long a [`FaultKind::Timeout`] call hangs: far beyond any sane client timeout. The
/// wait ends early when the simulator shuts down.
pub const TIMEOUT_HANG: Duration = Duration::from_secs(300);

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Normal operation.
    #[default]
    None,
    /// 503 with the provider's error shape.
    Outage,
    /// Extra latency (`delay_ms`) before an otherwise normal answer.
    Slow,
    /// The request is accepted and never answered (until shutdown).
    Timeout,
    /// HTTP 200 with a truncated, invalid JSON body.
    Malformed,
    /// A valid, empty result in the provider's shape.
    Empty,
    /// Spotify: every token issued so far is invalidated, once; then reverts to `None`.
    ExpireTokens,
    /// The provider's own rate-limit error, regardless of the real limiter.
    RateLimited,
    /// HTTP 500 with the provider's error shape.
    Error,
}

impl FaultKind {
    /// The snake_case name used over HTTP.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::None => "none",
            FaultKind::Outage => "outage",
            FaultKind::Slow => "slow",
            FaultKind::Timeout => "timeout",
            FaultKind::Malformed => "malformed",
            FaultKind::Empty => "empty",
            FaultKind::ExpireTokens => "expire_tokens",
            FaultKind::RateLimited => "rate_limited",
            FaultKind::Error => "error",
        }
    }
}

/// A fault name that is not one of [`FaultKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault '{0}' (expected none, outage, slow, timeout, malformed, empty, expire_tokens, rate_limited or error)")]
pub struct UnknownFault(pub String);

impl FromStr for FaultKind {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const ALL: [FaultKind; 9] = [
            FaultKind::None,
            FaultKind::Outage,
            FaultKind::Slow,
            FaultKind::Timeout,
            FaultKind::Malformed,
            FaultKind::Empty,
            FaultKind::ExpireTokens,
            FaultKind::RateLimited,
            FaultKind::Error,
        ];
        ALL.into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// A fault together with how long it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// Apply to the next `count` calls only (`None`: until cleared or expired).
    pub count: Option<u32>,
    /// Apply for this long after being set (`None`: until cleared or used up).
    pub duration_ms: Option<u64>,
    /// `Retry-After` sent by [`FaultKind::RateLimited`] (default 5 s).
    pub retry_after_secs: Option<u64>,
    /// Extra latency of [`FaultKind::Slow`] (default 2 s).
    pub delay_ms: Option<u64>,
}

impl Fault {
    /// `kind` until cleared.
    pub const fn new(kind: FaultKind) -> Self {
        Fault {
            kind,
            count: None,
            duration_ms: None,
            retry_after_secs: None,
            delay_ms: None,
        }
    }

    /// No fault.
    pub const fn none() -> Self {
        Fault::new(FaultKind::None)
    }

    /// Applies to the next `n` calls only.
    pub const fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Applies for `d` after being set.
    pub const fn lasting(mut self, d: Duration) -> Self {
        self.duration_ms = Some(d.as_millis() as u64);
        self
    }

    /// Sets the `Retry-After` of a rate-limited fault.
    pub const fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Sets the extra latency of a slow fault.
    pub const fn delay(mut self, d: Duration) -> Self {
        self.delay_ms = Some(d.as_millis() as u64);
        self
    }
}

impl From<FaultKind> for Fault {
    fn from(kind: FaultKind) -> Self {
        Fault::new(kind)
    }
}

/// A fault as it acts on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    Outage,
    Slow(Duration),
    Timeout,
    Malformed,
    Empty,
    RateLimited { retry_after_secs: u64 },
    Error,
}

/// The fault currently set on one provider, with its remaining budget.
#[derive(Debug, Clone, Default)]
pub(crate) struct ActiveFault {
    fault: Fault,
    remaining: Option<u32>,
    until: Option<Instant>,
}

impl ActiveFault {
    /// Installs `fault` at `now` (`ExpireTokens` is handled by the caller, not stored).
    pub(crate) fn set(&mut self, fault: Fault, now: Instant) {
        *self = ActiveFault {
            fault,
            remaining: fault.count,
            until: fault.duration_ms.map(|ms| now + Duration::from_millis(ms)),
        };
        if fault.count == Some(0) {
            self.clear();
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = ActiveFault::default();
    }

    /// The fault in force (for reporting), or `None` when there is none.
    pub(crate) fn current(&mut self, now: Instant) -> Option<Fault> {
        self.expire(now);
        (self.fault.kind != FaultKind::None).then_some(Fault {
            count: self.remaining,
            ..self.fault
        })
    }

    /// Consumes one application of the fault for a call arriving at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> Option<Injected> {
        self.expire(now);
        let injected = match self.fault.kind {
            FaultKind::None | FaultKind::ExpireTokens => return None,
            FaultKind::Outage => Injected::Outage,
            FaultKind::Slow => Injected::Slow(Duration::from_millis(
                self.fault.delay_ms.unwrap_or(DEFAULT_SLOW_DELAY_MS),
            )),
            FaultKind::Timeout => Injected::Timeout,
            FaultKind::Malformed => Injected::Malformed,
            FaultKind::Empty => Injected::Empty,
            FaultKind::RateLimited => Injected::RateLimited {
                retry_after_secs: self
                    .fault
                    .retry_after_secs
                    .unwrap_or(DEFAULT_RETRY_AFTER_SECS),
            },
            FaultKind::Error => Injected::Error,
        };
        if let Some(left) = self.remaining.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.clear();
            }
        }
        Some(injected)
    }

    fn expire(&mut self, now: Instant) {
        if self.until.is_some_and(|until| now >= until) {
            self.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_fault_applies_n_times_then_reverts() {
        let now = Instant::now();
        let mut f = ActiveFault::default();
        f.set(Fault::new(FaultKind::Outage).times(2), now);
        assert_eq!(f.take(now), Some(Injected::Outage));
        assert_eq!(f.current(now).unwrap().count, Some(1));
        assert_eq!(f.take(now), Some(Injected::Outage));
        assert_eq!(f.take(now), None);
        assert_eq!(f.current(now), None);
    }

    #[test]
    fn timed_fault_expires() {
        let now = Instant::now();
        let mut f = ActiveFault::default();
        f.set(
            Fault::new(FaultKind::RateLimited)
                .lasting(Duration::from_millis(100))
                .retry_after(7),
            now,
        );
        assert_eq!(
            f.take(now),
            Some(Injected::RateLimited {
                retry_after_secs: 7
            })
        );
        assert_eq!(f.take(now + Duration::from_millis(100)), None);
    }

    #[test]
    fn parses_names() {
        assert_eq!(
            "expire_tokens".parse::<FaultKind>().unwrap(),
            FaultKind::ExpireTokens
        );
        assert_eq!(
            "rate_limited".parse::<FaultKind>().unwrap(),
            FaultKind::RateLimited
        );
        assert!("boom".parse::<FaultKind>().is_err());
    }
}
