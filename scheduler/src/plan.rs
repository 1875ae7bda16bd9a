//! Which due ticks a round fires: the catch-up policy, as a pure function.
//!
//! Every replica plans the same way from the same facts (the ticks due since its cursor, the
//! clock, when it started, the configured [`CatchUp`]), so whichever replica wins a tick in the
//! database fires it with the same `catch_up` flag the others would have. A tick is *on time*
//! when some replica was up to see it come and it is still fresh; everything else was *missed*
//! (no scheduler was running, or the database was unreachable for longer than [`LATE_AFTER`])
//! and is left to the policy.

use chrono::{DateTime, TimeDelta, Utc};
use muze_shared::config::CatchUp;

/// How old a tick may be and still be fired as on time. Well above a round's usual delay (a
/// few milliseconds, a few seconds under load or a short database hiccup), well below any
/// sensible crawl period, so a late tick is one the fleet really slept through.
pub const LATE_AFTER: TimeDelta = TimeDelta::seconds(10);

/// Most ticks a round looks at. A six-field cron fires at most once a second, so at most 11
/// ticks are on time at once; the rest of the room keeps the newest
/// [`CatchUp::MAX_BACKFILL`] missed ones in view for a backfill.
pub const MAX_DUE: usize = CatchUp::MAX_BACKFILL + 16;

/// A tick to fire, and whether it is fired late by the catch-up policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedTick {
    pub tick: DateTime<Utc>,
    /// Set for a missed tick fired by the policy; recorded with the tick.
    pub catch_up: bool,
}

/// Decides which of `due` (oldest first) to fire at `now`, for a replica that started at
/// `started_at`. The result is oldest first.
pub fn plan(
    due: &[DateTime<Utc>],
    now: DateTime<Utc>,
    started_at: DateTime<Utc>,
    policy: CatchUp,
) -> Vec<PlannedTick> {
    let (on_time, missed): (Vec<_>, Vec<_>) = due
        .iter()
        .copied()
        .partition(|tick| is_on_time(*tick, now, started_at));
    let mut planned = catch_up(&missed, !on_time.is_empty(), policy);
    planned.extend(on_time.into_iter().map(|tick| PlannedTick {
        tick,
        catch_up: false,
    }));
    planned.sort_by_key(|p| p.tick);
    planned
}

/// A tick this replica was up to see come, and that is not yet stale.
fn is_on_time(tick: DateTime<Utc>, now: DateTime<Utc>, started_at: DateTime<Utc>) -> bool {
    tick > started_at && now - tick <= LATE_AFTER
}

/// The missed ticks (oldest first) the policy fires late.
fn catch_up(missed: &[DateTime<Utc>], any_on_time: bool, policy: CatchUp) -> Vec<PlannedTick> {
    let late = |tick: &DateTime<Utc>| PlannedTick {
        tick: *tick,
        catch_up: true,
    };
    match policy {
        CatchUp::Skip => Vec::new(),
        // The on-time run does the work a late one would: a crawl reads the current releases.
        CatchUp::RunOnce if any_on_time => Vec::new(),
        CatchUp::RunOnce => missed.last().map(late).into_iter().collect(),
        CatchUp::Backfill => {
            let newest = missed.len().saturating_sub(CatchUp::MAX_BACKFILL);
            missed[newest..].iter().map(late).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed origin, so ticks read as seconds after it.
    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid timestamp")
    }

    fn ticks(secs: &[i64]) -> Vec<DateTime<Utc>> {
        secs.iter().map(|s| at(*s)).collect()
    }

    fn fired(plan: &[PlannedTick]) -> Vec<(i64, bool)> {
        plan.iter()
            .map(|p| ((p.tick - at(0)).num_seconds(), p.catch_up))
            .collect()
    }

    const POLICIES: [CatchUp; 3] = [CatchUp::Skip, CatchUp::RunOnce, CatchUp::Backfill];

    #[test]
    fn nothing_due_fires_nothing() {
        for policy in POLICIES {
            assert!(plan(&[], at(100), at(0), policy).is_empty());
        }
    }

    #[test]
    fn on_time_ticks_fire_under_every_policy() {
        // Started at 0; ticks at 96 and 98 are after the start and at most 10 s old at 100.
        for policy in POLICIES {
            let planned = plan(&ticks(&[96, 98]), at(100), at(0), policy);
            assert_eq!(fired(&planned), [(96, false), (98, false)], "{policy:?}");
        }
    }

    #[test]
    fn a_tick_exactly_late_after_old_is_still_on_time() {
        let planned = plan(&ticks(&[90]), at(100), at(0), CatchUp::Skip);
        assert_eq!(fired(&planned), [(90, false)]);
        let planned = plan(&ticks(&[89]), at(100), at(0), CatchUp::Skip);
        assert!(planned.is_empty(), "89 is 11 s old: missed");
    }

    #[test]
    fn ticks_before_the_replica_started_are_missed_however_fresh() {
        // Started at 100, the tick at 99 came while no one was watching.
        let planned = plan(&ticks(&[99]), at(101), at(100), CatchUp::Skip);
        assert!(planned.is_empty());
        let planned = plan(&ticks(&[99]), at(101), at(100), CatchUp::RunOnce);
        assert_eq!(fired(&planned), [(99, true)]);
    }

    #[test]
    fn skip_drops_every_missed_tick() {
        let planned = plan(&ticks(&[10, 20, 30]), at(100), at(50), CatchUp::Skip);
        assert!(planned.is_empty());
        let planned = plan(&ticks(&[10, 20, 95]), at(100), at(50), CatchUp::Skip);
        assert_eq!(fired(&planned), [(95, false)]);
    }

    #[test]
    fn run_once_fires_only_the_newest_missed_tick() {
        let planned = plan(&ticks(&[10, 20, 30]), at(100), at(50), CatchUp::RunOnce);
        assert_eq!(fired(&planned), [(30, true)]);
    }

    #[test]
    fn run_once_leaves_missed_ticks_to_an_on_time_one() {
        let planned = plan(&ticks(&[10, 20, 95]), at(100), at(50), CatchUp::RunOnce);
        assert_eq!(fired(&planned), [(95, false)]);
    }

    #[test]
    fn backfill_fires_every_missed_tick_oldest_first() {
        let planned = plan(
            &ticks(&[10, 20, 30, 95]),
            at(100),
            at(50),
            CatchUp::Backfill,
        );
        assert_eq!(
            fired(&planned),
            [(10, true), (20, true), (30, true), (95, false)]
        );
    }

    #[test]
    fn backfill_keeps_only_the_newest_max_backfill_missed_ticks() {
        let max = i64::try_from(CatchUp::MAX_BACKFILL).expect("small");
        let due: Vec<_> = (1..=max + 5).map(at).collect();
        let now = at(max + 1_000);
        let planned = plan(&due, now, at(0), CatchUp::Backfill);
        assert_eq!(planned.len(), CatchUp::MAX_BACKFILL);
        assert_eq!(planned[0].tick, at(6), "the 5 oldest are dropped");
        assert_eq!(planned[planned.len() - 1].tick, at(max + 5));
        assert!(planned.iter().all(|p| p.catch_up));
    }

    #[test]
    fn a_database_outage_longer_than_late_after_turns_ticks_into_missed_ones() {
        // The replica was up since 0, but the rounds for the ticks at 50 and 60 failed.
        let due = ticks(&[50, 60, 70]);
        assert_eq!(
            fired(&plan(&due, at(70), at(0), CatchUp::RunOnce)),
            [(60, false), (70, false)],
            "60 is 10 s old at 70: still on time"
        );
        assert_eq!(
            fired(&plan(&due, at(71), at(0), CatchUp::RunOnce)),
            [(70, false)],
            "at 71 only 70 is on time, and it covers the missed ones"
        );
        assert_eq!(
            fired(&plan(&due, at(81), at(0), CatchUp::RunOnce)),
            [(70, true)],
            "at 81 all are missed: the newest runs once, late"
        );
    }
}
