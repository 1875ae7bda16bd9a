//! Cron schedules with seconds, read in an IANA time zone.
//!
//! Parsing and the search for the next occurrence are croner's, which follows the Open Cron
//! Pattern Specification's daylight-saving rules: a fixed-time job whose local time does not
//! exist on a spring-forward day runs at the first valid time after the gap, and one whose local
//! time happens twice on a fall-back day runs once; interval jobs keep their real-time rhythm.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::{
    parser::{CronParser, Seconds},
    Cron,
};

/// A cron expression read in a time zone.
#[derive(Clone)]
pub struct CronSchedule {
    expression: String,
    cron: Cron,
    timezone: Tz,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CronSchedule({:?} in {})",
            self.expression, self.timezone
        )
    }
}

/// Why a cron expression or zone was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CronError {
    #[error("cron expression {expression:?} is invalid ({reason}); expected six fields: second minute hour day-of-month month day-of-week, e.g. \"0 0 3 * * *\"")]
    Expression { expression: String, reason: String },
    #[error("{0:?} is not an IANA time zone")]
    Timezone(String),
}

impl CronSchedule {
    /// Parses a six-field expression (seconds first) and a zone name.
    pub fn parse(expression: &str, timezone: &str) -> Result<CronSchedule, CronError> {
        let timezone: Tz = timezone
            .parse()
            .map_err(|_| CronError::Timezone(timezone.to_string()))?;
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .build()
            .parse(expression.trim())
            .map_err(|e| CronError::Expression {
                expression: expression.to_string(),
                reason: e.to_string(),
            })?;
        Ok(CronSchedule {
            expression: expression.trim().to_string(),
            cron,
            timezone,
        })
    }

    /// The expression as configured.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The zone it is read in.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first occurrence strictly after `after`, if the expression ever fires again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Occurrences in `(after, until]`, oldest first, at most `max` of them (the newest `max`
    /// when there are more).
    pub fn between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        max: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut ticks = std::collections::VecDeque::new();
        let mut cursor = after;
        while let Some(next) = self.next_after(cursor) {
            if next > until {
                break;
            }
            if ticks.len() == max {
                ticks.pop_front();
            }
            ticks.push_back(next);
            cursor = next;
        }
        ticks.into()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn three_in_the_morning_in_seoul() {
        let s = CronSchedule::parse("0 0 3 * * *", "Asia/Seoul").expect("valid");
        // 03:00 KST is 18:00 UTC the day before.
        assert_eq!(
            s.next_after(utc("2026-11-28T12:00:00Z")),
            Some(utc("2026-11-28T18:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-11-28T18:00:00Z")),
            Some(utc("2026-11-29T18:00:00Z"))
        );
    }

    #[test]
    fn every_two_seconds() {
        let s = CronSchedule::parse("*/2 * * * * *", "UTC").expect("valid");
        let ticks = s.between(
            utc("2026-11-28T00:00:00Z"),
            utc("2026-11-28T00:00:09Z"),
            100,
        );
        assert_eq!(ticks.len(), 4);
        assert_eq!(ticks[0], utc("2026-11-28T00:00:02Z"));
        assert_eq!(ticks[3], utc("2026-11-28T00:00:08Z"));
        let newest = s.between(utc("2026-11-28T00:00:00Z"), utc("2026-11-28T00:00:09Z"), 2);
        assert_eq!(newest, ticks[2..].to_vec());
    }

    #[test]
    fn spring_forward_runs_a_skipped_local_time_once_after_the_gap() {
        // 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist.
        let s = CronSchedule::parse("0 30 2 * * *", "America/New_York").expect("valid");
        let ny = chrono_tz::America::New_York;
        let before = ny
            .with_ymd_and_hms(2026, 3, 7, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let ticks = s.between(before, before + chrono::Duration::days(2), 10);
        assert_eq!(ticks.len(), 2, "{ticks:?}");
        assert_eq!(
            ticks[0],
            ny.with_ymd_and_hms(2026, 3, 8, 3, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
        assert_eq!(
            ticks[1],
            ny.with_ymd_and_hms(2026, 3, 9, 2, 30, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
    }

    #[test]
    fn fall_back_runs_a_repeated_local_time_once() {
        // 2026-11-01 in New York: 01:30 happens twice (EDT, then EST).
        let s = CronSchedule::parse("0 30 1 * * *", "America/New_York").expect("valid");
        let start = utc("2026-10-31T12:00:00Z");
        let ticks = s.between(start, start + chrono::Duration::days(2), 10);
        assert_eq!(ticks.len(), 2, "{ticks:?}");
        assert_eq!(
            ticks[0],
            utc("2026-11-01T05:30:00Z"),
            "the first 01:30 (EDT)"
        );
        assert_eq!(ticks[1], utc("2026-11-02T06:30:00Z"));
    }

    #[test]
    fn refuses_bad_expressions_and_zones() {
        let err = CronSchedule::parse("0 3 * * *", "UTC").expect_err("five fields");
        assert!(err.to_string().contains("six fields"), "{err}");
        assert!(CronSchedule::parse("0 0 25 * * *", "UTC").is_err());
        assert!(matches!(
            CronSchedule::parse("0 0 3 * * *", "Mars/Olympus"),
            Err(CronError::Timezone(_))
        ));
    }
}
