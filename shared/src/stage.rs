//! Stage marks: the moments one search passes on its way through the API, the broker, a
//! worker and back, each a `TRACE` event of target [`TARGET`] carrying the wall-clock time in
//! microseconds since the Unix epoch (`at_us`) and the search's id (`search.id`, or the
//! worker's `job.id` span around it).
//!
//! Off by default, and then free: the filter drops the events before any field is evaluated.
//! `RUST_LOG=…,muze_stage=trace` turns them on; `muze-bench latency` does, joins the marks of
//! every process by search id (one machine, one clock) and prints where the time goes
//! (`docs/BENCHMARKS.md`).

use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

/// The events' target, for `RUST_LOG` directives.
pub const TARGET: &str = "muze_stage";

/// A moment in a search's life, in the order a search answered upstream meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// The API's handler began reading the request.
    Received,
    /// The catalog could not answer: the search goes upstream.
    LookedUp,
    /// The caller's allowance of upstream searches was charged.
    Allowed,
    /// The job's row is committed.
    Inserted,
    /// The broker confirmed the job's message.
    Confirmed,
    /// The API's answer to the POST is ready.
    Accepted,
    /// A worker began the job (its message delivered and read).
    Delivered,
    /// The worker holds the job's row.
    Claimed,
    /// The limiter granted a provider call, which is about to be sent.
    Granted,
    /// The provider's answer is read.
    Called,
    /// The call's outcome is reported to the limiter.
    Reported,
    /// The answer's transaction (tracks, results, final state, notification) is committed.
    Committed,
    /// The API heard the notification.
    Woken,
    /// The long-poll's answer is ready.
    Answered,
}

impl Stage {
    pub const ALL: [Stage; 14] = [
        Stage::Received,
        Stage::LookedUp,
        Stage::Allowed,
        Stage::Inserted,
        Stage::Confirmed,
        Stage::Accepted,
        Stage::Delivered,
        Stage::Claimed,
        Stage::Granted,
        Stage::Called,
        Stage::Reported,
        Stage::Committed,
        Stage::Woken,
        Stage::Answered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Received => "received",
            Stage::LookedUp => "looked_up",
            Stage::Allowed => "allowed",
            Stage::Inserted => "inserted",
            Stage::Confirmed => "confirmed",
            Stage::Accepted => "accepted",
            Stage::Delivered => "delivered",
            Stage::Claimed => "claimed",
            Stage::Granted => "granted",
            Stage::Called => "called",
            Stage::Reported => "reported",
            Stage::Committed => "committed",
            Stage::Woken => "woken",
            Stage::Answered => "answered",
        }
    }

    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Now, in microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Marks `stage` now for `search` (or, with `None`, for the job whose span is current).
pub fn mark(stage: Stage, search: Option<Uuid>) {
    mark_at(stage, search, None);
}

/// Marks `stage` at `at_us` (taken earlier with [`now_us`]), or now.
pub fn mark_at(stage: Stage, search: Option<Uuid>, at_us: Option<u64>) {
    tracing::trace!(
        target: "muze_stage",
        stage = stage.as_str(),
        search.id = search.map(tracing::field::display),
        at_us = at_us.unwrap_or_else(now_us),
    );
}

/// [`now_us`] if stage marks are on, else `None` (and no clock is read).
pub fn start() -> Option<u64> {
    tracing::enabled!(target: "muze_stage", tracing::Level::TRACE).then(now_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_parses_back() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
        assert_eq!(Stage::parse("nope"), None);
    }
}
