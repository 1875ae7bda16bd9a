//! Rate-limit enforcement, strictly in each provider's own terms.
//!
//! A [`LimitConfig`] of `N calls / W` means: at most `N` calls admitted in ANY rolling window
//! of length `W`. [`RollingWindow`] keeps the timestamps of admitted calls (a sliding log, not
//! a token bucket), so a call is a violation exactly when `N` admitted calls already lie within
//! the last `W` — the same guarantee the workers promise to keep. YouTube additionally has a
//! calendar quota ([`DailyQuota`]) that resets at midnight America/Los_Angeles.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde::{Deserialize, Serialize};

/// `calls` admitted calls per rolling `window_ms` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// How many calls may be admitted within any rolling window.
    pub calls: u32,
    /// Length of the rolling window in milliseconds.
    pub window_ms: u64,
}

impl LimitConfig {
    /// `calls` per `window_ms` milliseconds.
    pub const fn new(calls: u32, window_ms: u64) -> Self {
        LimitConfig { calls, window_ms }
    }

    /// The window as a [`Duration`].
    pub const fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }

    /// Parses `<calls>/<duration>` (`300/30s`, `60/1m`, `100/1d`, `1/s`) or `off`/`none`
    /// (→ `Ok(None)`, the limit disabled).
    pub fn parse_optional(s: &str) -> Result<Option<LimitConfig>, LimitParseError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        s.parse().map(Some)
    }
}

impl fmt::Display for LimitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.calls, format_duration_ms(self.window_ms))
    }
}

/// Why a `<calls>/<duration>` string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitParseError {
    /// No `/` between calls and duration.
    #[error("expected <calls>/<duration> (e.g. 300/30s) or off, got '{0}'")]
    Shape(String),
    /// The calls part is not a positive integer.
    #[error("calls must be a positive integer, got '{0}'")]
    Calls(String),
    /// The duration part is not `<n><unit>` with unit ms, s, m, h or d.
    #[error("duration must be <n><unit> with unit ms, s, m, h or d (e.g. 30s), got '{0}'")]
    Duration(String),
}

impl FromStr for LimitConfig {
    type Err = LimitParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (calls, window) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| LimitParseError::Shape(s.to_owned()))?;
        let calls: u32 = calls
            .trim()
            .parse()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| LimitParseError::Calls(calls.to_owned()))?;
        let window_ms = parse_duration_ms(window.trim())
            .filter(|ms| *ms > 0)
            .ok_or_else(|| LimitParseError::Duration(window.to_owned()))?;
        Ok(LimitConfig { calls, window_ms })
    }
}

/// `30s` → 30000, `1m` → 60000, `s` → 1000 (a missing number means 1).
fn parse_duration_ms(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = if number.is_empty() {
        1
    } else {
        number.parse().ok()?
    };
    let unit_ms = match unit.trim() {
        "ms" => 1,
        "s" | "sec" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

fn format_duration_ms(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    UNITS
        .iter()
        .find(|(unit, _)| ms.is_multiple_of(*unit))
        .map(|(unit, name)| format!("{}{name}", ms / unit))
        .unwrap_or_else(|| format!("{ms}ms"))
}

/// The answer of a limiter to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The call is admitted and logged; `remaining` more calls fit in the window right now.
    Admitted {
        /// Calls that would still be admitted right now.
        remaining: u32,
    },
    /// The call is a violation; the earliest admission is `retry_after` from now.
    Rejected {
        /// Time until the oldest logged call leaves the window.
        retry_after: Duration,
    },
}

impl Admission {
    /// Whether the call was admitted.
    pub fn is_admitted(&self) -> bool {
        matches!(self, Admission::Admitted { .. })
    }
}

/// `Retry-After` in whole seconds: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let millis = wait.as_millis() as u64;
    millis.div_ceil(1_000).max(1)
}

/// The sliding log of admitted calls of one provider.
#[derive(Debug, Default, Clone)]
pub struct RollingWindow {
    admitted: VecDeque<Instant>,
}

impl RollingWindow {
    /// An empty log.
    pub fn new() -> Self {
        RollingWindow::default()
    }

    /// Admits the call at `now` if fewer than `limit.calls` admitted calls lie within the last
    /// `limit.window` (a call exactly `window` old has left it), logging it; otherwise rejects
    /// it without logging.
    pub fn try_admit(&mut self, limit: &LimitConfig, now: Instant) -> Admission {
        self.prune(limit, now);
        let in_window = self.admitted.len();
        if in_window >= limit.calls as usize {
            // The (in_window - calls + 1)-th oldest call must leave before one more fits; with
            // an unchanged limit that is the oldest one.
            let blocking = self.admitted[in_window - limit.calls as usize];
            let retry_after = (blocking + limit.window()).saturating_duration_since(now);
            return Admission::Rejected { retry_after };
        }
        self.admitted.push_back(now);
        Admission::Admitted {
            remaining: limit.calls - self.admitted.len() as u32,
        }
    }

    /// Admitted calls within the last window at `now`.
    pub fn in_window(&mut self, limit: &LimitConfig, now: Instant) -> u32 {
        self.prune(limit, now);
        self.admitted.len() as u32
    }

    /// Forgets every logged call.
    pub fn clear(&mut self) {
        self.admitted.clear();
    }

    /// Un-logs the most recent admission (when another limit refused the same call).
    pub fn undo_last(&mut self) {
        self.admitted.pop_back();
    }

    fn prune(&mut self, limit: &LimitConfig, now: Instant) {
        let window = limit.window();
        while let Some(&oldest) = self.admitted.front() {
            if now.saturating_duration_since(oldest) >= window {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
    }
}

/// A calendar quota that resets at midnight America/Los_Angeles (YouTube's daily quota).
#[derive(Debug, Clone, Default)]
pub struct DailyQuota {
    used: u32,
    resets_at: Option<DateTime<Utc>>,
}

impl DailyQuota {
    /// A quota with nothing used.
    pub fn new() -> Self {
        DailyQuota::default()
    }

    /// Spends one unit at `now` if fewer than `quota` were used since the last Pacific
    /// midnight; returns whether the call is admitted and the time the quota resets.
    pub fn try_spend(&mut self, quota: u32, now: DateTime<Utc>) -> (bool, DateTime<Utc>) {
        let resets_at = match self.resets_at {
            Some(at) if now < at => at,
            _ => {
                self.used = 0;
                let at = next_pacific_midnight(now);
                self.resets_at = Some(at);
                at
            }
        };
        if self.used >= quota {
            return (false, resets_at);
        }
        self.used += 1;
        (true, resets_at)
    }

    /// Units spent in the current day (0 if the day has rolled over since).
    pub fn used(&self, now: DateTime<Utc>) -> u32 {
        match self.resets_at {
            Some(at) if now < at => self.used,
            _ => 0,
        }
    }

    /// Forgets the usage.
    pub fn clear(&mut self) {
        *self = DailyQuota::default();
    }
}

/// The first 00:00 America/Los_Angeles strictly after `now`.
pub fn next_pacific_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let local_date = now.with_timezone(&Los_Angeles).date_naive();
    let next = local_date
        .checked_add_days(Days::new(1))
        .expect("date in range")
        .and_time(NaiveTime::MIN);
    Los_Angeles
        .from_local_datetime(&next)
        .earliest()
        .expect("midnight exists in America/Los_Angeles")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_calls_per_duration() {
        assert_eq!(
            "300/30s".parse::<LimitConfig>().unwrap(),
            LimitConfig::new(300, 30_000)
        );
        assert_eq!(
            "60/1m".parse::<LimitConfig>().unwrap(),
            LimitConfig::new(60, 60_000)
        );
        assert_eq!(
            "100/1d".parse::<LimitConfig>().unwrap(),
            LimitConfig::new(100, 86_400_000)
        );
        assert_eq!(
            "1/s".parse::<LimitConfig>().unwrap(),
            LimitConfig::new(1, 1_000)
        );
        assert_eq!(
            "5/250ms".parse::<LimitConfig>().unwrap(),
            LimitConfig::new(5, 250)
        );
        assert_eq!(LimitConfig::parse_optional("off").unwrap(), None);
        assert!("0/1s".parse::<LimitConfig>().is_err());
        assert!("10/1y".parse::<LimitConfig>().is_err());
        assert!("10".parse::<LimitConfig>().is_err());
        assert_eq!(LimitConfig::new(300, 30_000).to_string(), "300/30s");
        assert_eq!(LimitConfig::new(5, 250).to_string(), "5/250ms");
    }

    #[test]
    fn admits_up_to_the_limit_then_rejects_until_the_oldest_call_leaves() {
        let limit = LimitConfig::new(3, 1_000);
        let t0 = Instant::now();
        let mut w = RollingWindow::new();
        assert_eq!(
            w.try_admit(&limit, t0),
            Admission::Admitted { remaining: 2 }
        );
        assert!(w
            .try_admit(&limit, t0 + Duration::from_millis(100))
            .is_admitted());
        assert!(w
            .try_admit(&limit, t0 + Duration::from_millis(200))
            .is_admitted());
        // Fourth call at 300 ms: the oldest (t0) leaves at 1000 ms → 700 ms to wait.
        assert_eq!(
            w.try_admit(&limit, t0 + Duration::from_millis(300)),
            Admission::Rejected {
                retry_after: Duration::from_millis(700)
            }
        );
        // One millisecond before the boundary the call is still inside the window.
        assert!(!w
            .try_admit(&limit, t0 + Duration::from_millis(999))
            .is_admitted());
        // Exactly `window` later the oldest call has left: one slot frees.
        assert!(w
            .try_admit(&limit, t0 + Duration::from_millis(1_000))
            .is_admitted());
        assert!(!w
            .try_admit(&limit, t0 + Duration::from_millis(1_050))
            .is_admitted());
        assert_eq!(w.in_window(&limit, t0 + Duration::from_millis(1_150)), 2);
    }

    #[test]
    fn rejected_calls_do_not_extend_the_window() {
        let limit = LimitConfig::new(1, 1_000);
        let t0 = Instant::now();
        let mut w = RollingWindow::new();
        assert!(w.try_admit(&limit, t0).is_admitted());
        for ms in [10, 500, 900] {
            assert!(!w
                .try_admit(&limit, t0 + Duration::from_millis(ms))
                .is_admitted());
        }
        assert!(w
            .try_admit(&limit, t0 + Duration::from_millis(1_000))
            .is_admitted());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_at_least_one() {
        assert_eq!(retry_after_secs(Duration::from_millis(0)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(700)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1_000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(29_999)), 30);
    }

    #[test]
    fn shrinking_a_limit_counts_calls_already_in_the_window() {
        let t0 = Instant::now();
        let mut w = RollingWindow::new();
        let wide = LimitConfig::new(10, 10_000);
        for i in 0..5 {
            assert!(w
                .try_admit(&wide, t0 + Duration::from_millis(i * 100))
                .is_admitted());
        }
        let narrow = LimitConfig::new(2, 10_000);
        match w.try_admit(&narrow, t0 + Duration::from_millis(600)) {
            // 5 in window, 2 allowed: the 4th oldest (at 300 ms) must leave first → 9.7 s.
            Admission::Rejected { retry_after } => {
                assert_eq!(retry_after, Duration::from_millis(9_700))
            }
            other => panic!("expected rejection, got {other:?}"),
        }
    }

    #[test]
    fn daily_quota_resets_at_pacific_midnight() {
        // 2026-07-01 06:59:59 UTC = 23:59:59 PDT on June 30.
        let before = Utc.with_ymd_and_hms(2026, 7, 1, 6, 59, 59).unwrap();
        let reset = Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).unwrap();
        assert_eq!(next_pacific_midnight(before), reset);
        // Winter (PST, UTC-8).
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        assert_eq!(
            next_pacific_midnight(winter),
            Utc.with_ymd_and_hms(2026, 1, 16, 8, 0, 0).unwrap()
        );

        let mut q = DailyQuota::new();
        assert!(q.try_spend(2, before).0);
        assert!(q.try_spend(2, before).0);
        let (ok, at) = q.try_spend(2, before);
        assert!(!ok);
        assert_eq!(at, reset);
        assert_eq!(q.used(before), 2);
        assert!(
            q.try_spend(2, reset).0,
            "a new Pacific day starts a fresh quota"
        );
        assert_eq!(q.used(reset), 1);
    }
}
