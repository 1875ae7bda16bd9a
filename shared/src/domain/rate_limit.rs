//! A provider's limit in its own terms: at most `calls` in any rolling `window`.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

/// `<calls>/<duration>`, e.g. `300/30s`, `60/1m`, `100/1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls allowed in any window.
    pub calls: u32,
    /// Window length.
    pub window: Duration,
}

/// Why a rate limit string did not parse.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid rate limit {input:?}: {reason} (expected <calls>/<duration> such as 300/30s, 60/1m, 100/1d)")]
pub struct RateLimitParseError {
    input: String,
    reason: &'static str,
}

impl RateLimit {
    /// Parses `<calls>/<n><unit>` with unit `ms`, `s`, `m`, `h` or `d` (`n` defaults to 1).
    pub fn parse(input: &str) -> Result<RateLimit, RateLimitParseError> {
        let err = |reason| RateLimitParseError {
            input: input.to_string(),
            reason,
        };
        let (calls, window) = input.trim().split_once('/').ok_or_else(|| err("no '/'"))?;
        let calls: u32 = calls
            .trim()
            .parse()
            .map_err(|_| err("calls is not a whole number"))?;
        if calls == 0 {
            return Err(err("calls must be at least 1"));
        }
        let window = window.trim();
        let split = window
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| err("missing unit"))?;
        let (amount, unit) = window.split_at(split);
        let amount: u64 = if amount.is_empty() {
            1
        } else {
            amount.parse().map_err(|_| err("bad duration"))?
        };
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(err("unit must be ms, s, m, h or d")),
        };
        let window_ms = amount
            .checked_mul(unit_ms)
            .filter(|ms| *ms > 0)
            .ok_or_else(|| err("duration must be positive"))?;
        Ok(RateLimit {
            calls,
            window: Duration::from_millis(window_ms),
        })
    }

    /// Window length in milliseconds.
    pub fn window_ms(&self) -> u64 {
        u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX)
    }
}

impl FromStr for RateLimit {
    type Err = RateLimitParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RateLimit::parse(s)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.window_ms();
        let (n, unit) = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ]
        .into_iter()
        .find(|(u, _)| ms.is_multiple_of(*u))
        .map(|(u, name)| (ms / u, name))
        .unwrap_or((ms, "ms"));
        write!(f, "{}/{}{}", self.calls, n, unit)
    }
}

impl Serialize for RateLimit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RateLimit::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_examples() {
        let l = RateLimit::parse("300/30s").expect("parses");
        assert_eq!((l.calls, l.window), (300, Duration::from_secs(30)));
        assert_eq!(
            RateLimit::parse("60/1m").expect("parses").window,
            Duration::from_secs(60)
        );
        assert_eq!(
            RateLimit::parse("100/1d").expect("parses").window,
            Duration::from_secs(86_400)
        );
        assert_eq!(
            RateLimit::parse("20/500ms").expect("parses").window,
            Duration::from_millis(500)
        );
        assert_eq!(RateLimit::parse("5/s").expect("parses").window_ms(), 1000);
    }

    #[test]
    fn rejects_malformed_limits() {
        for bad in [
            "", "300", "0/30s", "x/30s", "300/30", "300/30y", "300/0s", "-1/1s",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        assert_eq!(
            RateLimit::parse("300/30s").expect("ok").to_string(),
            "300/30s"
        );
        assert_eq!(
            RateLimit::parse("100/24h").expect("ok").to_string(),
            "100/1d"
        );
        assert_eq!(
            RateLimit::parse("7/1500ms").expect("ok").to_string(),
            "7/1500ms"
        );
    }
}
