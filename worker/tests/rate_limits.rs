//! Fleet-wide limits, end to end: several worker processes against `muze-sim` enforcing a
//! strict rolling window, with demand well above the budget.

mod support;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use muze_shared::{
    domain::ProviderName,
    rate_limit::{Decision, Outcome, Priority},
};
use muze_testkit::catalog_queries;
use serde_json::json;
use support::{demand, spotify_searches, Options, System};

/// Runs 4 worker processes against a sim window of 40 calls / 10 s with demand at 3× that for
/// three windows; returns (calls admitted in the three windows, violations).
async fn four_workers_at_three_times_the_budget(mode: &str) -> (u64, u64) {
    let mut system = System::start(Options {
        workers: 0,
        sim_latency_ms: 20,
        extra_env: vec![
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                "40/10s".into(),
            ),
            ("MUZE__LIMITER__MODE".into(), mode.into()),
            ("MUZE__SEARCH__DEADLINE_SECS".into(), "40".into()),
        ],
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"limit": {"calls": 40, "window_ms": 10_000}}),
        )
        .await;
    for _ in 0..4 {
        system.spawn_worker_process().await;
    }
    let queries = catalog_queries(400);

    // 12 searches a second against 4 a second of budget, for three windows.
    let start = Instant::now();
    let load = {
        let queries = queries.clone();
        let system = &system;
        async move { demand(system, &queries, 12, 31).await }
    };
    let snapshot = async {
        tokio::time::sleep_until((start + Duration::from_secs(30)).into()).await;
        system.sim_stats().await
    };
    let (_, at_30s) = tokio::join!(load, snapshot);
    let (calls, violations_in_windows) = spotify_searches(&at_30s);
    // Keep going a little past the snapshot: violations are counted over the whole run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, violations) = spotify_searches(&system.sim_stats().await);
    system.shutdown().await;
    assert!(violations >= violations_in_windows);
    (calls - violations_in_windows, violations)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_worker_processes_never_exceed_a_strict_window_and_use_nearly_all_of_it() {
    let (admitted, violations) = four_workers_at_three_times_the_budget("shared").await;
    assert_eq!(violations, 0, "the sim saw its limit exceeded");
    // Three windows of 40 calls.
    assert!(
        admitted as f64 >= 0.95 * 120.0,
        "used only {admitted} of the 120 calls three windows allowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_fleet_limiting_each_process_alone_exceeds_the_window() {
    let (_, violations) = four_workers_at_three_times_the_budget("naive").await;
    assert!(
        violations > 0,
        "naive per-process limiting should overshoot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_with_retry_after_stops_every_worker_and_searches_flow_to_the_next_provider() {
    let mut system = System::start(Options {
        workers: 0,
        providers: "spotify,youtube",
        ..Options::default()
    })
    .await;
    system.spawn_worker_process().await;
    system.spawn_worker_process().await;
    system
        .sim_control(
            "spotify",
            json!({"fault": "rate_limited", "retry_after_secs": 5, "count": 1}),
        )
        .await;
    let queries = catalog_queries(20);

    let first = system.search(&queries[0]).await;
    let throttled_at = Instant::now();
    let done = system.wait_done(&first, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["source"], "youtube");
    assert_eq!(done["attempts"][0]["provider"], "spotify");
    assert_eq!(done["attempts"][0]["outcome"], "rate_limited");
    assert_eq!(done["attempts"][1]["provider"], "youtube");

    // While Spotify cools down, every search is answered by YouTube without calling Spotify.
    let mut during = 0;
    for q in &queries[1..10] {
        let id = system.search(q).await;
        let done = system.wait_done(&id, Duration::from_secs(20)).await;
        if throttled_at.elapsed() < Duration::from_millis(4_800) {
            assert_eq!(done["source"], "youtube", "{done}");
            assert_eq!(done["attempts"].as_array().map(Vec::len), Some(1), "{done}");
            during += 1;
        }
    }
    assert!(
        during >= 5,
        "only {during} searches ran inside the cooldown"
    );
    let (spotify_calls, _) = spotify_searches(&system.sim_stats().await);
    assert_eq!(
        spotify_calls, 1,
        "Spotify was called during its Retry-After"
    );

    // After the cooldown Spotify answers again.
    tokio::time::sleep_until((throttled_at + Duration::from_millis(5_300)).into()).await;
    let id = system.search(&queries[15]).await;
    let done = system.wait_done(&id, Duration::from_secs(20)).await;
    assert_eq!(done["source"], "spotify", "{done}");
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn background_work_flooding_the_budget_leaves_interactive_searches_their_reserve() {
    // 40 calls / 10 s with 25 % reserved: background may hold at most 30 of each window.
    let system = System::start(Options {
        workers: 1,
        extra_env: vec![
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                "40/10s".into(),
            ),
            (
                "MUZE__PROVIDERS__SPOTIFY__RESERVE_PERCENT".into(),
                "25".into(),
            ),
            ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE".into(), "false".into()),
        ],
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"limit": {"calls": 40, "window_ms": 10_000}}),
        )
        .await;
    // A crawl-like flood: background acquisitions as fast as the limiter allows.
    let limiter = system.limiter().await;
    let mut background = 0;
    while let Decision::Granted(grant) = limiter
        .acquire(ProviderName::Spotify, Priority::Background)
        .await
        .expect("acquire")
    {
        limiter.report(&grant, Outcome::Ok).await.expect("report");
        background += 1;
    }
    assert_eq!(background, 30);

    // Users still get their share at once.
    let queries = catalog_queries(10);
    let started = Instant::now();
    for q in &queries {
        let id = system.search(q).await;
        let done = system.wait_done(&id, Duration::from_secs(20)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["source"], "spotify");
    }
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "interactive searches waited for the next window"
    );
    // The background flood is still held back.
    assert!(matches!(
        limiter
            .acquire(ProviderName::Spotify, Priority::Background)
            .await
            .expect("acquire"),
        Decision::Wait { .. }
    ));
    system.shutdown().await;
}

/// A private Redis (so stopping it does not disturb other tests) that keeps its data across
/// a restart, as a production Redis with an append-only file does.
struct PrivateRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let dir = std::env::temp_dir().join(format!("muze-redis-{port}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut redis = PrivateRedis {
            port,
            dir,
            child: None,
        };
        redis.restart();
        redis
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("private redis did not start");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_mid_load_pauses_calls_loses_no_job_and_the_fleet_resumes() {
    let mut redis = PrivateRedis::start();
    let mut system = System::start(Options {
        workers: 0,
        extra_env: vec![
            ("MUZE__REDIS__URL".into(), redis.url()),
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                "20/5s".into(),
            ),
        ],
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"limit": {"calls": 20, "window_ms": 5_000}}),
        )
        .await;
    system.spawn_worker_process().await;
    system.spawn_worker_process().await;
    let queries = catalog_queries(60);

    let load = demand(&system, &queries, 3, 20);
    let outage = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        redis.stop();
        let calls_at_stop = spotify_searches(&system.sim_stats().await).0;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let calls_at_restart = spotify_searches(&system.sim_stats().await).0;
        redis.restart();
        (calls_at_stop, calls_at_restart)
    };
    let (ids, (calls_at_stop, calls_at_restart)) = tokio::join!(load, outage);
    // Calls in flight when Redis stopped may still land; nothing new starts without it.
    assert!(
        calls_at_restart <= calls_at_stop + 8,
        "{} provider calls were made while Redis was down",
        calls_at_restart - calls_at_stop
    );
    for id in &ids {
        let done = system.wait_done(id, Duration::from_secs(60)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    let (_, violations) = spotify_searches(&system.sim_stats().await);
    assert_eq!(violations, 0);
    system.shutdown().await;
}
