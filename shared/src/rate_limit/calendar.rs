//! Calendar quotas: a number of calls per local day in the provider's zone (YouTube: 100
//! searches a day, reset at midnight America/Los_Angeles). DST-correct: a local day may be 23 or
//! 25 hours long.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The local date whose quota `now` spends.
pub fn period(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// When the quota that `now` spends resets: the next local midnight.
pub fn next_reset(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let tomorrow = period(now, tz).succ_opt().unwrap_or(NaiveDate::MAX);
    start_of(tomorrow, tz).unwrap_or(now + Duration::days(1))
}

/// When the period that `now` spends began: the last local midnight.
pub fn period_start(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    start_of(period(now, tz), tz).unwrap_or(now - Duration::days(1))
}

/// The first instant of local `day`.
fn start_of(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    // Where midnight falls in a DST gap (a few zones switch at midnight), the day starts at
    // the first instant that exists.
    (0..=4)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + Duration::minutes(30 * h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid instant")
            .with_timezone(&Utc)
    }

    const LA: Tz = chrono_tz::America::Los_Angeles;

    #[test]
    fn resets_at_midnight_pacific() {
        // 10:00 in Seoul on 28 Nov is 17:00 on 27 Nov in Los Angeles (PST, UTC-8).
        let now = utc("2026-11-28T01:00:00Z");
        assert_eq!(
            period(now, LA),
            NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
        );
        assert_eq!(next_reset(now, LA), utc("2026-11-28T08:00:00Z"));
        // One second before and at midnight.
        assert_eq!(
            next_reset(utc("2026-11-28T07:59:59Z"), LA),
            utc("2026-11-28T08:00:00Z")
        );
        assert_eq!(
            next_reset(utc("2026-11-28T08:00:00Z"), LA),
            utc("2026-11-29T08:00:00Z")
        );
    }

    #[test]
    fn a_period_starts_at_the_last_local_midnight() {
        let now = utc("2026-11-28T01:00:00Z"); // 17:00 on 27 Nov in Los Angeles
        assert_eq!(period_start(now, LA), utc("2026-11-27T08:00:00Z"));
        assert_eq!(
            period_start(utc("2026-11-28T08:00:00Z"), LA),
            utc("2026-11-28T08:00:00Z")
        );
    }

    #[test]
    fn follows_daylight_saving_changes() {
        // 8 Mar 2026: clocks spring forward at 02:00 PST; the next midnight is in PDT (UTC-7).
        let before = utc("2026-03-08T09:00:00Z"); // 01:00 PST
        assert_eq!(next_reset(before, LA), utc("2026-03-09T07:00:00Z"));
        // That local day is 23 hours long.
        assert_eq!(
            next_reset(utc("2026-03-08T08:00:00Z"), LA) - utc("2026-03-08T08:00:00Z"),
            Duration::hours(23)
        );
        // 1 Nov 2026: clocks fall back; the day after is 25 hours long.
        let start = utc("2026-11-01T07:00:00Z"); // midnight PDT
        assert_eq!(next_reset(start, LA), utc("2026-11-02T08:00:00Z"));
    }

    #[test]
    fn handles_zones_that_skip_midnight() {
        // Santiago springs forward at 00:00 → 01:00 on 6 Sep 2026: that day starts at 01:00.
        let tz = chrono_tz::America::Santiago;
        let now = utc("2026-09-05T12:00:00Z");
        let reset = next_reset(now, tz).with_timezone(&tz);
        assert_eq!(
            reset.date_naive(),
            NaiveDate::from_ymd_opt(2026, 9, 6).expect("date")
        );
        assert!(reset > now.with_timezone(&tz));
    }
}
