//! The one decision of the runtime, pure: how a job's error on one delivery becomes an action.
//! No broker, no database, no clock of its own: everything it weighs is in its arguments, so
//! every case is a unit test.
//!
//! | error | action |
//! |---|---|
//! | throttled until `t` | wait until `t` (no retry used); give up with `deadline` when `t` is past it |
//! | busy until `t` | wait until `t`, at least [`RetryPolicy::min_busy_wait`]; ack when `t` is past the deadline (the holder finishes, or the sweeper fails it) |
//! | unavailable (a dependency is down) | wait [`RetryPolicy::outage_wait`] (no retry used), bounded by the deadline |
//! | transient | retry after the policy's backoff for this retry; give up when none is left or it would end past the deadline |
//! | permanent | give up |
//! | expired | give up with `deadline` |
//! | lease lost | ack: the worker that took the job over finishes it |
//! | poison | park |
//! | panicked | retry like a transient error on a first delivery; park on a redelivery or when no retry is left: a job that panics is a bug for an operator |
//!
//! Any error but poison and busy on a job whose deadline has passed gives up with `deadline`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::JobError;

/// How one kind of job is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait before transient retry number `n` (0-based) is `backoff[n]`; there are as many
    /// retries as entries.
    pub backoff: &'static [Duration],
    /// How a wait is rounded to a delay tier.
    pub rounding: Rounding,
    /// How long a job waits while a dependency is down before trying again.
    pub outage_wait: Duration,
    /// The shortest wait for a job another worker holds.
    pub min_busy_wait: Duration,
}

/// How a wait is rounded to a delay tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// The shortest tier at least as long: never back before the wait is over (a search, whose
    /// every early return costs a wake-up and a claim).
    Up,
    /// The longest tier no longer: back a little early, the rest waited in place (a crawl page,
    /// which waits for budget in place anyway).
    Down,
}

/// What the runtime knows of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Transient retries used so far (carried in the message).
    pub retries: u32,
    /// The broker delivered this message before, and it was not settled then (a worker died,
    /// or its channel closed).
    pub redelivered: bool,
    /// When the job stops being worth doing, if it has a deadline.
    pub deadline: Option<DateTime<Utc>>,
}

/// Why a job is given up: the job writes the matching final state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    /// The deadline passed, or a wait would end past it.
    Deadline,
    /// The job failed (permanently, or transiently with no retry left in time).
    Failed(String),
}

/// What the runtime does with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Done with the message: nothing more to do.
    Ack,
    /// Send the message again after `wait`, with `retries` retries used, rounded as the
    /// policy says; then hand the job back and ack.
    Delay { wait: Duration, retries: u32 },
    /// The job writes its final state, then the message is acked.
    GiveUp(GiveUp),
    /// Move the message to the parking queue with this reason, for an operator.
    Park(String),
}

/// The action for `error` on a delivery with these facts, under `policy`, at `now`.
pub fn decide(error: &JobError, facts: Facts, policy: &RetryPolicy, now: DateTime<Utc>) -> Action {
    let past = |t: DateTime<Utc>| facts.deadline.is_some_and(|d| t >= d);
    let until = |t: DateTime<Utc>| (t - now).to_std().unwrap_or(Duration::ZERO);
    let after = |wait: Duration| now + chrono::Duration::from_std(wait).unwrap_or_default();
    let wait = |wait: Duration| {
        if past(after(wait)) {
            Action::GiveUp(GiveUp::Deadline)
        } else {
            Action::Delay {
                wait,
                retries: facts.retries,
            }
        }
    };
    // The next transient retry, if one is left and ends in time; else the reason to give up.
    let retry = |reason: &str| match policy.backoff.get(facts.retries as usize) {
        Some(&backoff) if !past(after(backoff)) => Ok(Action::Delay {
            wait: backoff,
            retries: facts.retries + 1,
        }),
        _ => Err(reason.to_string()),
    };
    match error {
        JobError::Poison(reason) => return Action::Park(reason.clone()),
        JobError::LeaseLost => return Action::Ack,
        JobError::Busy { until: t } => {
            return if past(*t) {
                Action::Ack
            } else {
                Action::Delay {
                    wait: until(*t).max(policy.min_busy_wait),
                    retries: facts.retries,
                }
            };
        }
        _ if past(now) => return Action::GiveUp(GiveUp::Deadline),
        _ => {}
    }
    match error {
        JobError::Throttled { until: t } => {
            if past(*t) {
                Action::GiveUp(GiveUp::Deadline)
            } else {
                wait(until(*t))
            }
        }
        JobError::Unavailable(_) => wait(policy.outage_wait),
        JobError::Transient(reason) => {
            retry(reason).unwrap_or_else(|reason| Action::GiveUp(GiveUp::Failed(reason)))
        }
        JobError::Permanent(reason) => Action::GiveUp(GiveUp::Failed(reason.clone())),
        JobError::Expired => Action::GiveUp(GiveUp::Deadline),
        JobError::Panicked(reason) if facts.redelivered => Action::Park(format!(
            "the job panicked again after a redelivery: {reason}"
        )),
        JobError::Panicked(reason) => retry(reason).unwrap_or_else(|reason| {
            Action::Park(format!("the job panicked on every try: {reason}"))
        }),
        JobError::Poison(_) | JobError::LeaseLost | JobError::Busy { .. } => {
            unreachable!("settled above")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: [Duration; 3] = [
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(5),
    ];
    const POLICY: RetryPolicy = RetryPolicy {
        backoff: &BACKOFF,
        rounding: Rounding::Up,
        outage_wait: Duration::from_secs(2),
        min_busy_wait: Duration::from_millis(250),
    };

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    fn secs(s: i64) -> chrono::Duration {
        chrono::Duration::seconds(s)
    }

    /// Every kind of error, as the table names them.
    fn errors() -> Vec<JobError> {
        vec![
            JobError::Throttled {
                until: now() + secs(3),
            },
            JobError::Busy {
                until: now() + secs(3),
            },
            JobError::Unavailable("database: connection refused".into()),
            JobError::Transient("spotify: 503".into()),
            JobError::Permanent("spotify: 400".into()),
            JobError::Expired,
            JobError::LeaseLost,
            JobError::Poison("unreadable message".into()),
            JobError::Panicked("index out of bounds".into()),
        ]
    }

    /// The deadlines of the table: none, far (an hour), near (4 s: inside a 5 s wait, outside
    /// a 3 s one), and passed.
    fn deadlines() -> [(&'static str, Option<DateTime<Utc>>); 4] {
        [
            ("none", None),
            ("far", Some(now() + secs(3_600))),
            ("near", Some(now() + secs(4))),
            ("passed", Some(now() - secs(1))),
        ]
    }

    /// The expected action, written out case by case.
    fn expected(error: &JobError, retries: u32, redelivered: bool, deadline: &str) -> Action {
        let delay = |wait: Duration, retries: u32| Action::Delay { wait, retries };
        let deadline_passed = deadline == "passed";
        match error {
            JobError::Poison(r) => Action::Park(r.clone()),
            JobError::LeaseLost => Action::Ack,
            JobError::Busy { .. } if deadline_passed => Action::Ack,
            JobError::Busy { .. } => delay(Duration::from_secs(3), retries),
            _ if deadline_passed => Action::GiveUp(GiveUp::Deadline),
            JobError::Throttled { .. } => delay(Duration::from_secs(3), retries),
            JobError::Unavailable(_) => delay(Duration::from_secs(2), retries),
            JobError::Expired => Action::GiveUp(GiveUp::Deadline),
            JobError::Permanent(r) => Action::GiveUp(GiveUp::Failed(r.clone())),
            JobError::Transient(r) | JobError::Panicked(r) => {
                let panicked = matches!(error, JobError::Panicked(_));
                if panicked && redelivered {
                    return Action::Park(format!("the job panicked again after a redelivery: {r}"));
                }
                // 1 s, 2 s and 5 s backoffs; the 5 s one ends past a near deadline.
                let in_time = match retries {
                    0 | 1 => true,
                    2 => deadline != "near",
                    _ => false,
                };
                match (in_time, panicked) {
                    (true, _) => delay(BACKOFF[retries as usize], retries + 1),
                    (false, false) => Action::GiveUp(GiveUp::Failed(r.clone())),
                    (false, true) => Action::Park(format!("the job panicked on every try: {r}")),
                }
            }
        }
    }

    #[test]
    fn every_error_kind_by_retries_left_deadline_and_redelivery() {
        let mut cases = 0;
        for error in errors() {
            for retries in 0..=3 {
                for redelivered in [false, true] {
                    for (name, deadline) in deadlines() {
                        let facts = Facts {
                            retries,
                            redelivered,
                            deadline,
                        };
                        assert_eq!(
                            decide(&error, facts, &POLICY, now()),
                            expected(&error, retries, redelivered, name),
                            "{error:?}, {retries} retries used, redelivered {redelivered}, deadline {name}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 9 * 4 * 2 * 4);
    }

    #[test]
    fn a_throttled_job_waits_exactly_until_budget_frees_and_uses_no_retry() {
        let facts = Facts {
            retries: 2,
            redelivered: false,
            deadline: Some(now() + secs(60)),
        };
        let error = JobError::Throttled {
            until: now() + chrono::Duration::milliseconds(1_500),
        };
        assert_eq!(
            decide(&error, facts, &POLICY, now()),
            Action::Delay {
                wait: Duration::from_millis(1_500),
                retries: 2
            }
        );
        // Budget that frees only after the deadline is no reason to wait.
        let late = JobError::Throttled {
            until: now() + secs(61),
        };
        assert_eq!(
            decide(&late, facts, &POLICY, now()),
            Action::GiveUp(GiveUp::Deadline)
        );
    }

    #[test]
    fn an_outage_never_uses_up_retries_however_long_it_lasts() {
        let mut facts = Facts {
            retries: 0,
            redelivered: false,
            deadline: None,
        };
        for _ in 0..1_000 {
            match decide(&JobError::Unavailable("down".into()), facts, &POLICY, now()) {
                Action::Delay { wait, retries } => {
                    assert_eq!((wait, retries), (POLICY.outage_wait, 0));
                    facts.redelivered = !facts.redelivered;
                }
                other => panic!("an outage gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_job_busy_elsewhere_comes_back_no_sooner_than_the_shortest_wait() {
        let facts = Facts {
            retries: 0,
            redelivered: false,
            deadline: None,
        };
        let error = JobError::Busy {
            until: now() - secs(1),
        };
        assert_eq!(
            decide(&error, facts, &POLICY, now()),
            Action::Delay {
                wait: POLICY.min_busy_wait,
                retries: 0
            }
        );
    }
}
