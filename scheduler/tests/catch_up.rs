//! Ticks that came while no replica was running are fired, or not, by the configured catch-up
//! policy; the next tick after the fleet is back fires on time as usual.
//!
//! Each test runs one replica until it fired a tick, stops it, lets two ticks pass, then starts
//! two replicas half a second after the second missed tick (4.5 s before the next one, so they
//! are up and have planned their first round by then).

mod support;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use support::{sleep_until, stop_all, TestEnv, TickRow};

/// A tick every five seconds: room for a slow start-up between the restart and the next tick.
const CRON: &str = "*/5 * * * * *";

/// What the database says about a fleet-wide outage.
#[derive(Debug)]
struct Outage {
    /// The newest tick fired before the outage.
    last_before: DateTime<Utc>,
    /// The two ticks that came while no replica ran, oldest first.
    missed: [DateTime<Utc>; 2],
    /// The first tick after the restart.
    on_time: DateTime<Utc>,
    /// Every tick recorded up to `on_time`.
    ticks: Vec<TickRow>,
}

impl Outage {
    fn row(&self, tick: DateTime<Utc>) -> Option<&TickRow> {
        self.ticks.iter().find(|t| t.tick == tick)
    }

    fn catch_ups(&self) -> Vec<DateTime<Utc>> {
        self.ticks
            .iter()
            .filter(|t| t.catch_up)
            .map(|t| t.tick)
            .collect()
    }

    /// Checks what every policy shares: the ticks before the outage and the one after it are
    /// on-time ticks, and every recorded tick has its crawl.
    fn assert_on_time_around_the_outage(&self) {
        let before: Vec<_> = self
            .ticks
            .iter()
            .filter(|t| t.tick <= self.last_before)
            .collect();
        assert!(
            before.iter().all(|t| !t.catch_up),
            "nothing is missed on a new deployment: {self:#?}"
        );
        let after = self.row(self.on_time).expect("the on-time tick fired");
        assert!(!after.catch_up, "{self:#?}");
        assert!(self.ticks.iter().all(|t| t.crawl_id.is_some()), "{self:#?}");
    }
}

/// Runs one replica until it fired a tick, stops it for two ticks, restarts two replicas, and
/// waits for the first on-time tick after that.
async fn outage(env: &TestEnv) -> Outage {
    let first = env.spawn_replica();
    env.wait_for_ticks("the first tick", Duration::from_secs(60), |t| !t.is_empty())
        .await;
    stop_all(vec![first]).await;
    let last_before = env.ticks().await.last().expect("a tick").tick;
    let missed = [
        env.tick_after(last_before),
        env.tick_after(env.tick_after(last_before)),
    ];

    sleep_until(missed[1] + TimeDelta::milliseconds(500)).await;
    let replicas = vec![env.spawn_replica(), env.spawn_replica()];
    let on_time = env.tick_after(missed[1]);
    env.wait_for_ticks(
        "the first tick after the restart",
        Duration::from_secs(60),
        |t| t.iter().any(|r| r.tick >= on_time),
    )
    .await;
    stop_all(replicas).await;

    let ticks = env
        .ticks()
        .await
        .into_iter()
        .filter(|t| t.tick <= on_time)
        .collect();
    Outage {
        last_before,
        missed,
        on_time,
        ticks,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_fires_only_the_newest_missed_tick_late() {
    TestEnv::run(CRON, "run_once", |env| async move {
        let outage = outage(&env).await;

        outage.assert_on_time_around_the_outage();
        assert!(
            outage.row(outage.missed[0]).is_none(),
            "the older missed tick is dropped: {outage:#?}"
        );
        assert_eq!(
            outage.catch_ups(),
            [outage.missed[1]],
            "exactly one late run, for the newest missed tick: {outage:#?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_fires_no_missed_tick() {
    TestEnv::run(CRON, "skip", |env| async move {
        let outage = outage(&env).await;

        outage.assert_on_time_around_the_outage();
        assert!(
            outage.missed.iter().all(|m| outage.row(*m).is_none()),
            "{outage:#?}"
        );
        assert!(outage.catch_ups().is_empty(), "{outage:#?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_fires_every_missed_tick_late() {
    TestEnv::run(CRON, "backfill", |env| async move {
        let outage = outage(&env).await;

        outage.assert_on_time_around_the_outage();
        assert_eq!(
            outage.catch_ups(),
            outage.missed,
            "both missed ticks, late: {outage:#?}"
        );
    })
    .await;
}
