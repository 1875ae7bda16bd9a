//! How long to wait before retrying a round after a database error: 1 s, doubling to 30 s.
//!
//! Short enough that a blip costs a tick nothing (it is fired on retry, still on time), long
//! enough that an outage does not become a reconnection storm from every replica.

use std::time::Duration;

/// The first wait after a failure.
const FIRST: Duration = Duration::from_secs(1);
/// The longest wait; an outage longer than this is still retried twice a minute.
const MAX: Duration = Duration::from_secs(30);

/// Exponential backoff between failed rounds.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// What the next failure waits.
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST }
    }
}

impl Backoff {
    /// The wait after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(MAX);
        delay
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_up_to_thirty() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..7).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn a_success_starts_over() {
        let mut backoff = Backoff::default();
        backoff.next_delay();
        backoff.next_delay();
        backoff.reset();
        assert_eq!(backoff.next_delay(), FIRST);
    }
}
