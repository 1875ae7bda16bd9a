//! The sliding-log arithmetic shared by the Redis script and the per-process limiter.
//!
//! A grant records its time. A call of cost `c` is granted at `now` when the grants in
//! `(now - horizon, now]` plus `c` stay within the limit, where `horizon = window + margin`.
//! Otherwise the answer is exactly how long until enough of the oldest grants leave the
//! horizon. Because any `limit + 1` grants are then at least `window + margin` apart, calls
//! that reach the provider up to `margin` after their grant never put more than `limit` into
//! any rolling window of the provider's.

use std::{collections::VecDeque, time::Duration};

use tokio::time::Instant;

/// A process-local sliding log.
#[derive(Debug)]
pub struct LocalWindow {
    horizon: Duration,
    grants: VecDeque<Instant>,
}

impl LocalWindow {
    pub fn new(window: Duration, margin: Duration) -> LocalWindow {
        LocalWindow {
            horizon: window + margin,
            grants: VecDeque::new(),
        }
    }

    /// Grants `cost` calls under `limit` at `now`, or says how long to wait.
    pub fn try_acquire(&mut self, now: Instant, limit: u32, cost: u32) -> Result<(), Duration> {
        if limit < cost {
            return Err(self.horizon);
        }
        while self
            .grants
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.horizon)
        {
            self.grants.pop_front();
        }
        let count = self.grants.len() as u32;
        if count + cost <= limit {
            for _ in 0..cost {
                self.grants.push_back(now);
            }
            return Ok(());
        }
        let k = (count + cost - limit) as usize;
        let oldest_needed = self.grants[k - 1];
        Err((oldest_needed + self.horizon)
            .saturating_duration_since(now)
            .max(Duration::from_millis(1)))
    }

    /// Grants within the horizon at `now`.
    pub fn in_window(&self, now: Instant) -> usize {
        self.grants
            .iter()
            .filter(|t| now.duration_since(**t) < self.horizon)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(10);
    const M: Duration = Duration::from_millis(200);

    #[tokio::test(start_paused = true)]
    async fn a_burst_takes_the_whole_limit_then_waits_for_the_oldest_to_leave() {
        let mut w = LocalWindow::new(W, M);
        let start = Instant::now();
        for _ in 0..40 {
            assert_eq!(w.try_acquire(Instant::now(), 40, 1), Ok(()));
        }
        assert_eq!(w.try_acquire(Instant::now(), 40, 1), Err(W + M));
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(
            w.try_acquire(Instant::now(), 40, 1),
            Err(W + M - Duration::from_secs(4))
        );
        // Exactly at the boundary the oldest grant has left.
        tokio::time::advance(W + M - Duration::from_secs(4)).await;
        assert_eq!(Instant::now() - start, W + M);
        assert_eq!(w.try_acquire(Instant::now(), 40, 1), Ok(()));
        assert!(
            w.try_acquire(Instant::now(), 40, 1).is_ok(),
            "all 40 left together"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_window_under_steady_demand() {
        let mut w = LocalWindow::new(W, M);
        let mut grants = Vec::new();
        // Demand every 50 ms for a minute.
        for _ in 0..1200 {
            if w.try_acquire(Instant::now(), 40, 1).is_ok() {
                grants.push(Instant::now());
            }
            tokio::time::advance(Duration::from_millis(50)).await;
        }
        for (i, t) in grants.iter().enumerate() {
            let in_window = grants[i..].iter().take_while(|u| **u - *t < W + M).count();
            assert!(in_window <= 40, "{in_window} grants within one horizon");
        }
        // Utilization: 60 s / 10.2 s horizons ≈ 5.9 windows' worth.
        assert!(grants.len() >= 5 * 40, "only {} grants", grants.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_costing_more_than_one_takes_that_many_slots() {
        let mut w = LocalWindow::new(W, M);
        assert_eq!(w.try_acquire(Instant::now(), 10, 4), Ok(()));
        assert_eq!(w.try_acquire(Instant::now(), 10, 4), Ok(()));
        assert_eq!(w.in_window(Instant::now()), 8);
        // 2 slots left: a cost-4 call waits for the first call's 4 to leave.
        assert_eq!(w.try_acquire(Instant::now(), 10, 4), Err(W + M));
        assert_eq!(w.try_acquire(Instant::now(), 10, 2), Ok(()));
        assert_eq!(
            w.try_acquire(Instant::now(), 10, 11),
            Err(W + M),
            "can never fit"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn background_work_stops_at_the_reserve_and_interactive_work_does_not() {
        let mut w = LocalWindow::new(W, M);
        let (limit, reserve) = (40, 10);
        let mut background = 0;
        while w.try_acquire(Instant::now(), limit - reserve, 1).is_ok() {
            background += 1;
        }
        assert_eq!(background, 30);
        let mut interactive = 0;
        while w.try_acquire(Instant::now(), limit, 1).is_ok() {
            interactive += 1;
        }
        assert_eq!(interactive, 10, "the reserve is left for users");
    }
}
