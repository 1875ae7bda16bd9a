//! Several replicas of `muze-scheduler` race for every tick; each tick fires exactly once, with
//! its crawl created and its root pages published, even while a replica is killed and
//! restarted.

mod support;

use std::collections::HashSet;

use chrono::{TimeDelta, Utc};
use support::{sleep_until, stop_all, Replica, TestEnv, TickRow};

/// The replica that won the most ticks so far (index into `replicas`), if any won one.
fn top_winner(ticks: &[TickRow], replicas: &[Replica]) -> Option<usize> {
    (0..replicas.len())
        .map(|i| {
            let won = ticks
                .iter()
                .filter(|t| t.pid() == Some(replicas[i].pid))
                .count();
            (won, i)
        })
        .filter(|(won, _)| *won > 0)
        .max()
        .map(|(_, i)| i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_fire_every_tick_exactly_once() {
    TestEnv::run("*/2 * * * * *", "run_once", |env| async move {
        // Arrange: three replicas racing for a tick every two seconds.
        let start = Utc::now();
        let mut replicas: Vec<Replica> = (0..3).map(|_| env.spawn_replica()).collect();

        // Act: about 6 s in, halfway between two ticks (so no tick is half-fired), kill the
        // replica that won the most ticks so far: the others must take over, which also
        // guarantees at least two winners. Restart it about 4 s later.
        sleep_until(env.tick_after(start + TimeDelta::seconds(6)) - TimeDelta::seconds(1)).await;
        let ticks = env.ticks().await;
        let victim = top_winner(&ticks, &replicas).unwrap_or(0);
        replicas.swap_remove(victim).kill().await;
        sleep_until(env.tick_after(start + TimeDelta::seconds(10)) - TimeDelta::seconds(1)).await;
        replicas.push(env.spawn_replica());
        sleep_until(start + TimeDelta::seconds(20)).await;
        stop_all(replicas).await;

        // Assert: an unbroken run of ticks two seconds apart, each fired once, with its crawl.
        let ticks = env.ticks().await;
        assert!(ticks.len() >= 8, "too few ticks in 20 s: {ticks:#?}");
        for pair in ticks.windows(2) {
            assert_eq!(
                pair[1].tick - pair[0].tick,
                TimeDelta::seconds(2),
                "a gap or a stray tick between {} and {}: {ticks:#?}",
                pair[0].tick,
                pair[1].tick
            );
        }
        let n = i64::try_from(ticks.len()).expect("small");
        let distinct = env
            .count("SELECT count(DISTINCT tick) FROM schedule_ticks WHERE schedule = 'crawl'")
            .await;
        assert_eq!(distinct, n, "a tick recorded twice");
        assert!(
            ticks.iter().all(|t| t.crawl_id.is_some()),
            "a tick without its crawl: {ticks:#?}"
        );
        let crawls = env
            .count("SELECT count(*) FROM crawls WHERE trigger = 'schedule'")
            .await;
        assert_eq!(crawls, n, "one crawl per tick");

        // Assert: every crawl's root pages were published, and the messages are on the queue.
        let roots = env.roots_per_crawl();
        assert_eq!(roots, 3, "spotify and deezer sources by default");
        let expected_pages = n * i64::try_from(roots).expect("small");
        let pages = env.count("SELECT count(*) FROM crawl_pages").await;
        assert_eq!(pages, expected_pages, "root pages created");
        let published = env
            .count("SELECT count(*) FROM crawl_pages WHERE published_at IS NOT NULL")
            .await;
        assert_eq!(published, expected_pages, "root pages published");
        let depth = env.crawl_queue_depth().await;
        assert_eq!(
            i64::from(depth),
            expected_pages,
            "messages on {}.crawl",
            env.namespace
        );

        // Assert: the replicas really raced, and the takeover happened.
        let winners: HashSet<&str> = ticks.iter().map(|t| t.fired_by.as_str()).collect();
        assert!(
            winners.len() >= 2,
            "one replica won every tick: {winners:?}"
        );
    })
    .await;
}
