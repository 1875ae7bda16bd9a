//! The fleet's limits where the world is not quiet: calls that reach the provider late, a
//! Redis that forgets, deployments sharing one credential, a Redis Cluster. Each test runs
//! worker processes against `muze-sim` enforcing a strict rolling window, and counts what the
//! sim saw.

mod support;

use std::time::Duration;

use muze_testkit::catalog_queries;
use muze_testkit::private::redis::{PrivateRedis, PrivateRedisCluster};
use serde_json::{json, Value};
use support::{demand, spotify_searches, Options, System};

const ADMIN_KEY: &str = "test-admin-key";

/// A system whose only provider is Spotify, limited by the sim to 20 calls per rolling 5 s
/// (and declared so to the workers), with `workers` worker processes.
///
/// The deadline outlasts the heaviest test's backlog: 240 searches at 4 calls a second are a
/// minute of budget, more on a loaded machine, and a throttled search is not served first come
/// first served. A search failing here is then a fault, not the test's own overload.
async fn strict_window_system(workers: usize, extra_env: Vec<(String, String)>) -> System {
    let mut env = vec![
        (
            "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".to_string(),
            "20/5s".to_string(),
        ),
        ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE".into(), "false".into()),
        ("MUZE__SEARCH__DEADLINE_SECS".into(), "180".into()),
        ("MUZE__API__ADMIN_KEYS".into(), ADMIN_KEY.into()),
    ];
    env.extend(extra_env);
    let mut system = System::start(Options {
        workers: 0,
        sim_latency_ms: 10,
        extra_env: env,
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"limit": {"calls": 20, "window_ms": 5_000}}),
        )
        .await;
    for _ in 0..workers {
        system.spawn_worker_process().await;
    }
    system
}

async fn all_succeed(system: &System, ids: &[String]) {
    for id in ids {
        let done = system.wait_done(id, Duration::from_secs(180)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_worker_processes_never_exceed_a_strict_window_when_calls_arrive_late() {
    let system = strict_window_system(4, Vec::new()).await;
    // Every call reaches the provider 0-200 ms late, one in ten 0.75-1.5 s later still.
    system
        .sim_control(
            "spotify",
            json!({"arrival": {"jitter_ms": 200, "slow_percent": 10, "slow_min_ms": 750, "slow_max_ms": 1500}}),
        )
        .await;
    let queries = catalog_queries(400);

    // 12 searches a second against 4 a second of budget, for four windows.
    let ids = demand(&system, &queries, 12, 20).await;
    let (calls, violations) = spotify_searches(&system.sim_stats().await);
    assert_eq!(violations, 0, "the sim saw its limit exceeded");
    // The budget was really contended: most of the four windows' 80 calls were used.
    assert!(calls >= 48, "only {calls} calls in four windows");
    all_succeed(&system, &ids).await;
    let (_, violations) = spotify_searches(&system.sim_stats().await);
    assert_eq!(violations, 0, "the sim saw its limit exceeded");
    system.shutdown().await;
}

/// Spends a whole window with 20 searches; returns when all are answered.
async fn spend_a_window(system: &System, queries: &[String]) {
    let ids: Vec<String> =
        futures::future::join_all(queries.iter().map(|q| system.search(q))).await;
    all_succeed(system, &ids).await;
    assert_eq!(spotify_searches(&system.sim_stats().await).0, 20);
}

/// After Redis lost the budget, new searches wait out a window: none is called at once,
/// all are answered, none is a violation.
async fn searches_after_the_loss_wait_out_the_window(system: &System, queries: &[String]) {
    let ids: Vec<String> =
        futures::future::join_all(queries.iter().map(|q| system.search(q))).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        spotify_searches(&system.sim_stats().await).0,
        20,
        "searches were granted as if nothing had been spent"
    );
    all_succeed(system, &ids).await;
    let (calls, violations) = spotify_searches(&system.sim_stats().await);
    assert_eq!(calls, 40);
    assert_eq!(violations, 0, "the sim saw its limit exceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_budget_deleted_from_redis_right_after_a_full_window_is_not_spent_twice() {
    let system = strict_window_system(2, Vec::new()).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let queries = catalog_queries(40);
    spend_a_window(&system, &queries[..20]).await;

    // The deployment's keys vanish (FLUSH, eviction, a failover to a stale replica).
    system
        .limiter()
        .await
        .forget(muze_shared::domain::ProviderName::Spotify)
        .await
        .expect("keys deleted");

    searches_after_the_loss_wait_out_the_window(&system, &queries[20..]).await;
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_restarted_empty_right_after_a_full_window_does_not_spend_it_twice() {
    let mut redis = PrivateRedis::start();
    let system = strict_window_system(2, vec![("MUZE__REDIS__URL".into(), redis.url())]).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let queries = catalog_queries(40);
    spend_a_window(&system, &queries[..20]).await;

    // Restarted without persistence: everything it held is gone.
    redis.restart();

    searches_after_the_loss_wait_out_the_window(&system, &queries[20..]).await;
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_namespaces_with_one_spotify_client_id_share_one_budget() {
    // No budget key: each deployment's budget is named by its Spotify client id, the same.
    let unset = vec!["MUZE__PROVIDERS__SPOTIFY__BUDGET_KEY".to_string()];
    let options = || Options {
        workers: 0,
        extra_env: vec![
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".to_string(),
                "20/5s".to_string(),
            ),
            ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE".into(), "false".into()),
            ("MUZE__API__ADMIN_KEYS".into(), ADMIN_KEY.into()),
        ],
        unset_env: unset.clone(),
        ..Options::default()
    };
    let mut staging = System::start(options()).await;
    staging
        .sim_control(
            "spotify",
            json!({"limit": {"calls": 20, "window_ms": 5_000}}),
        )
        .await;
    let mut production = System::start_beside(options(), &staging).await;
    staging.spawn_worker_process().await;
    production.spawn_worker_process().await;
    let queries = catalog_queries(200);

    // Each deployment alone asks for 1.5 times the whole budget.
    let (a, b) = tokio::join!(
        demand(&staging, &queries[..90], 6, 15),
        demand(&production, &queries[90..180], 6, 15),
    );
    let (calls, violations) = spotify_searches(&staging.sim_stats().await);
    assert_eq!(violations, 0, "the sim saw its limit exceeded");
    assert!(calls >= 36, "only {calls} calls in three windows");
    all_succeed(&staging, &a).await;
    all_succeed(&production, &b).await;
    assert_eq!(spotify_searches(&staging.sim_stats().await).1, 0);

    let budget_of = |view: Value| view["providers"][0]["budget"].as_str().map(str::to_owned);
    let seen_by_staging = budget_of(staging.get_json("/v1/admin/providers", ADMIN_KEY).await);
    let seen_by_production = budget_of(production.get_json("/v1/admin/providers", ADMIN_KEY).await);
    assert!(seen_by_staging.is_some());
    assert_eq!(seen_by_staging, seen_by_production, "one budget");
    production.shutdown().await;
    staging.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_a_redis_cluster_never_exceed_a_strict_window() {
    let cluster = PrivateRedisCluster::start(3);
    let system = strict_window_system(2, vec![("MUZE__REDIS__URL".into(), cluster.urls())]).await;
    let queries = catalog_queries(200);

    let ids = demand(&system, &queries, 12, 15).await;
    let (calls, violations) = spotify_searches(&system.sim_stats().await);
    assert_eq!(violations, 0, "the sim saw its limit exceeded");
    assert!(calls >= 36, "only {calls} calls in three windows");
    all_succeed(&system, &ids).await;
    assert_eq!(spotify_searches(&system.sim_stats().await).1, 0);
    system.shutdown().await;
}
