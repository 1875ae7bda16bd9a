//! docs/OPERATIONS.md followed step by step, as an operator would: add a worker, then raise
//! Spotify's limit by configuration and a rollout, and see each step take effect where the
//! guide says to look (`/v1/admin/status`, `/v1/admin/providers`), with the provider's own
//! count (the sim) as the judge of what the fleet really did.

mod support;

use std::time::Duration;

use muze_testkit::catalog_queries;
use serde_json::Value;
use support::{demand, spotify_searches, Options, System};

const ADMIN_KEY: &str = "test-admin-key";

fn search_consumers(status: &Value) -> u64 {
    status["queues"]
        .as_array()
        .and_then(|queues| queues.iter().find(|q| q["kind"] == "search"))
        .and_then(|q| q["consumers"].as_u64())
        .expect("the search queue in /v1/admin/status")
}

fn spotify(providers: &Value) -> Value {
    providers["providers"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["provider"] == "spotify"))
        .cloned()
        .expect("spotify in /v1/admin/providers")
}

fn declared(providers: &Value) -> Vec<String> {
    let mut limits: Vec<String> = spotify(providers)["declared_limits"]
        .as_array()
        .expect("declared_limits")
        .iter()
        .map(|d| d.as_str().expect("a limit").to_string())
        .collect();
    limits.sort();
    limits
}

/// Polls `probe` until it holds, for up to `within`.
async fn eventually(system: &System, within: Duration, probe: impl Fn(&Value) -> bool) -> Value {
    let started = std::time::Instant::now();
    loop {
        let status = system.get_json("/v1/admin/status", ADMIN_KEY).await;
        if probe(&status) || started.elapsed() > within {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_adds_a_worker_and_raises_spotifys_limit_by_following_the_guide() {
    let mut system = System::start(Options {
        workers: 0,
        sim_latency_ms: 10,
        extra_env: vec![
            ("MUZE__SEARCH__PROVIDERS".into(), "spotify".into()),
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                "20/5s".into(),
            ),
            ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE".into(), "false".into()),
            ("MUZE__API__ADMIN_KEYS".into(), ADMIN_KEY.into()),
        ],
        ..Options::default()
    })
    .await;
    // The plan as it was: 20 calls per 5 s, enforced by the provider.
    system.sim_limit("spotify", 20, 5_000).await;
    let old_worker = system.spawn_worker_process().await;
    let status = eventually(&system, Duration::from_secs(30), |s| {
        search_consumers(s) == 1
    })
    .await;
    assert_eq!(search_consumers(&status), 1, "the first worker consumes");

    // "Adding a worker": start one more with the same environment; the status page's search
    // queue shows one more consumer.
    let added = system.spawn_worker_process().await;
    let status = eventually(&system, Duration::from_secs(30), |s| {
        search_consumers(s) == 2
    })
    .await;
    assert_eq!(search_consumers(&status), 2, "the added worker consumes");
    let queries = catalog_queries(400);
    let ids = demand(&system, &queries[..60], 6, 10).await;
    let (_, violations) = spotify_searches(&system.sim_stats().await);
    assert_eq!(violations, 0, "two workers kept to the plan's 20/5 s");

    // "Raising Spotify's limit": the plan now allows 30 per 5 s. Set it, roll the workers
    // (the new ones start, the old ones stop), restart the API.
    system.sim_limit("spotify", 30, 5_000).await;
    system.set_env("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "30/5s");
    let new_workers = [
        system.spawn_worker_process().await,
        system.spawn_worker_process().await,
    ];
    assert!(
        system.terminate_process(old_worker),
        "the old worker stops cleanly"
    );
    assert!(
        system.terminate_process(added),
        "the old worker stops cleanly"
    );
    system.stop_api().await;
    system.start_api().await;
    let status = eventually(&system, Duration::from_secs(30), |s| {
        search_consumers(s) == 2
    })
    .await;
    assert_eq!(search_consumers(&status), 2, "the new workers consume");
    for id in &ids {
        let done = system.wait_done(id, Duration::from_secs(60)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }

    // Step 4: both declarations are listed while the old one is live, and the stricter binds.
    let providers = system.get_json("/v1/admin/providers", ADMIN_KEY).await;
    assert_eq!(declared(&providers), ["20/5s", "30/5s"]);
    system.sim_limit("spotify", 20, 5_000).await;
    let before = spotify_searches(&system.sim_stats().await);
    let ids = demand(&system, &queries[60..140], 8, 10).await;
    let after = spotify_searches(&system.sim_stats().await);
    assert_eq!(
        after.1, before.1,
        "the old 20/5 s still binds the whole fleet"
    );

    // Step 5: every old worker is gone; delete the old declaration as the guide shows.
    for id in &ids {
        system.wait_done(id, Duration::from_secs(60)).await;
    }
    let budget = spotify(&providers)["budget"]
        .as_str()
        .expect("budget")
        .to_string();
    let settings = system.settings();
    let redis = muze_shared::redis_conn::Redis::connect(&settings.redis.url)
        .await
        .expect("redis");
    let key = format!("{{muze:budget:{budget}}}:declared");
    let removed: u32 = redis
        .run(|mut c| {
            let key = key.clone();
            async move {
                redis::cmd("HDEL")
                    .arg(&key)
                    .arg("20/5000")
                    .query_async(&mut c)
                    .await
            }
        })
        .await
        .expect("HDEL");
    assert_eq!(removed, 1, "{key} held the old declaration");
    let providers = system.get_json("/v1/admin/providers", ADMIN_KEY).await;
    assert_eq!(declared(&providers), ["30/5s"]);

    // The new limit is in force: at twice the old limit's rate the fleet makes more calls in
    // 10 s than 20/5 s could ever allow (40 in two windows), and none the plan refuses.
    system.sim_limit("spotify", 30, 5_000).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = spotify_searches(&system.sim_stats().await);
    let ids = demand(&system, &queries[140..260], 12, 10).await;
    let after = spotify_searches(&system.sim_stats().await);
    assert_eq!(after.1, before.1, "the fleet keeps to 30/5 s");
    let calls = after.0 - before.0;
    assert!(
        calls > 40,
        "only {calls} calls in 10 s: the old limit still binds"
    );
    for id in &ids {
        let done = system.wait_done(id, Duration::from_secs(60)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    for pid in new_workers {
        system.terminate_process(pid);
    }
    system.shutdown().await;
}
