//! How late calls reach a provider. A real provider counts a call when it *arrives*, which can
//! be well after the client sent it (network jitter, a slow TLS handshake, a retransmit), so
//! two calls a well-behaved client spaced one window apart may land inside the same window.
//!
//! An [`ArrivalDelay`] is set per provider ([`crate::SimConfig::set_arrival`],
//! [`crate::SimHandle::set_arrival`], `POST /_control/{provider}` `{"arrival": {..}}`). Every
//! counted provider call waits its sampled delay *before* the simulator sees it — before it is
//! counted, before faults and latency apply and before the limiter admits it — so the limiter
//! judges arrival times, exactly as the real provider would. Spotify's token endpoint, which
//! does not count against the limit, is not delayed.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// `slow_percent` is a share of this many calls.
const PERCENT: u8 = 100;

/// How late calls to one provider arrive: each call waits `uniform(0..=jitter_ms)`, and with
/// probability `slow_percent / 100` a further `uniform(slow_min_ms..=slow_max_ms)` (the long
/// tail of slow handshakes and retransmits). All zero, the default, is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalDelay {
    /// Every call arrives up to this many milliseconds late, uniformly spread.
    pub jitter_ms: u64,
    /// Percentage (0-100) of calls that additionally arrive slow.
    pub slow_percent: u8,
    /// Least extra delay of a slow call, in milliseconds.
    pub slow_min_ms: u64,
    /// Greatest extra delay of a slow call, in milliseconds (at least `slow_min_ms`).
    pub slow_max_ms: u64,
}

/// Why an [`ArrivalDelay`] cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArrivalDelayError {
    /// `slow_percent` is a percentage.
    #[error("arrival slow_percent must be between 0 and 100, got {0}")]
    SlowPercent(u8),
    /// The slow range is upside down.
    #[error("arrival slow_min_ms ({min}) must not exceed slow_max_ms ({max})")]
    SlowRange {
        /// The `slow_min_ms` given.
        min: u64,
        /// The `slow_max_ms` given.
        max: u64,
    },
}

impl ArrivalDelay {
    /// Calls arrive the moment they are sent.
    pub const OFF: ArrivalDelay = ArrivalDelay {
        jitter_ms: 0,
        slow_percent: 0,
        slow_min_ms: 0,
        slow_max_ms: 0,
    };

    /// Every call arrives exactly `ms` milliseconds late (no jitter, every call slow by a
    /// fixed amount): the deterministic setup tests want.
    pub const fn fixed(ms: u64) -> Self {
        ArrivalDelay {
            jitter_ms: 0,
            slow_percent: PERCENT,
            slow_min_ms: ms,
            slow_max_ms: ms,
        }
    }

    /// Checks that `slow_percent` is at most 100 and the slow range is not upside down.
    pub fn validate(&self) -> Result<(), ArrivalDelayError> {
        if self.slow_percent > PERCENT {
            return Err(ArrivalDelayError::SlowPercent(self.slow_percent));
        }
        if self.slow_min_ms > self.slow_max_ms {
            return Err(ArrivalDelayError::SlowRange {
                min: self.slow_min_ms,
                max: self.slow_max_ms,
            });
        }
        Ok(())
    }

    /// How late one call arrives, drawn from `rng`. Never panics: an invalid delay (which
    /// [`ArrivalDelay::validate`] refuses) is read as a percentage capped at 100 and a slow
    /// range that starts at `slow_min_ms`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let mut ms = rng.random_range(0..=self.jitter_ms);
        if self.slow_percent > 0 && rng.random_range(0..PERCENT) < self.slow_percent {
            let max = self.slow_max_ms.max(self.slow_min_ms);
            ms = ms.saturating_add(rng.random_range(self.slow_min_ms..=max));
        }
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    const SAMPLES: usize = 20_000;

    fn samples(delay: ArrivalDelay) -> Vec<Duration> {
        let mut rng = StdRng::seed_from_u64(7);
        (0..SAMPLES).map(|_| delay.sample(&mut rng)).collect()
    }

    #[test]
    fn an_arrival_delay_that_is_off_never_delays() {
        assert_eq!(ArrivalDelay::default(), ArrivalDelay::OFF);
        assert!(samples(ArrivalDelay::OFF).iter().all(Duration::is_zero));
        // Slow calls with an empty slow range are not delayed either.
        let no_tail = ArrivalDelay {
            slow_percent: 50,
            ..ArrivalDelay::OFF
        };
        assert!(samples(no_tail).iter().all(Duration::is_zero));
    }

    #[test]
    fn jitter_stays_within_zero_and_jitter_ms_and_covers_the_range() {
        let delays = samples(ArrivalDelay {
            jitter_ms: 40,
            ..ArrivalDelay::OFF
        });
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(40)));
        assert!(delays.contains(&Duration::ZERO));
        assert!(delays.contains(&Duration::from_millis(40)));
    }

    #[test]
    fn a_fixed_delay_delays_every_call_by_exactly_that_much() {
        assert!(samples(ArrivalDelay::fixed(250))
            .iter()
            .all(|d| *d == Duration::from_millis(250)));
    }

    #[test]
    fn about_slow_percent_of_calls_arrive_slow_and_within_the_slow_range_plus_jitter() {
        let delay = ArrivalDelay {
            jitter_ms: 10,
            slow_percent: 20,
            slow_min_ms: 500,
            slow_max_ms: 800,
        };
        let delays = samples(delay);
        let slow: Vec<&Duration> = delays
            .iter()
            .filter(|d| **d >= Duration::from_millis(500))
            .collect();
        let share = slow.len() as f64 / SAMPLES as f64;
        assert!((0.18..=0.22).contains(&share), "slow share {share}");
        assert!(slow.iter().all(|d| **d <= Duration::from_millis(810)));
        assert!(delays
            .iter()
            .filter(|d| **d < Duration::from_millis(500))
            .all(|d| *d <= Duration::from_millis(10)));
    }

    #[test]
    fn validation_refuses_a_percentage_above_100_and_an_upside_down_slow_range() {
        assert_eq!(ArrivalDelay::OFF.validate(), Ok(()));
        assert_eq!(ArrivalDelay::fixed(1_000).validate(), Ok(()));
        let too_many = ArrivalDelay {
            slow_percent: 101,
            ..ArrivalDelay::OFF
        };
        assert_eq!(
            too_many.validate(),
            Err(ArrivalDelayError::SlowPercent(101))
        );
        let upside_down = ArrivalDelay {
            slow_min_ms: 900,
            slow_max_ms: 100,
            ..ArrivalDelay::OFF
        };
        assert_eq!(
            upside_down.validate(),
            Err(ArrivalDelayError::SlowRange { min: 900, max: 100 })
        );
        assert_eq!(
            upside_down.validate().unwrap_err().to_string(),
            "arrival slow_min_ms (900) must not exceed slow_max_ms (100)"
        );
    }

    #[test]
    fn sampling_an_invalid_delay_does_not_panic() {
        let invalid = ArrivalDelay {
            jitter_ms: 0,
            slow_percent: 255,
            slow_min_ms: 300,
            slow_max_ms: 0,
        };
        assert!(samples(invalid)
            .iter()
            .all(|d| *d == Duration::from_millis(300)));
    }
}
