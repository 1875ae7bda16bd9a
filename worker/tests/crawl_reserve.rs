//! A crawl spends only the background share of a provider's budget: interactive searches made
//! while it saturates that share still get their calls at once, and the provider never sees its
//! limit exceeded. (Its own file: it reads process-wide limiter metrics.)

mod support;

use std::time::Duration;

use muze_shared::db::crawls::CrawlStatus;
use muze_testkit::catalog_queries;
use serde_json::json;
use support::{Options, System};

/// The Prometheus counter `name` with exactly these labels, or 0 if it was never incremented.
fn counter(metrics: &str, name: &str, labels: &str) -> u64 {
    let prefix = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap_or(0.0) as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_searches_keep_their_reserve_while_a_crawl_saturates_the_rest() {
    // 20 calls per 4 s, 25 % reserved: the crawl may use 15 of every window.
    let system = System::start(Options {
        extra_env: vec![
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                "20/4s".into(),
            ),
            (
                "MUZE__PROVIDERS__SPOTIFY__RESERVE_PERCENT".into(),
                "25".into(),
            ),
            ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE".into(), "false".into()),
            ("MUZE__CRAWL__SOURCES".into(), "spotify".into()),
        ],
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"limit": {"calls": 20, "window_ms": 4_000}}),
        )
        .await;
    let pool = system.db().await;
    // 1 + 10 + 80 = 91 Spotify calls: six windows of background budget, more than the
    // searches below last even at the full rate.
    system.add_releases(10, 8).await;
    let crawl = system.start_crawl(&pool).await;

    // Interactive demand below the reserve: one search every 1.5 s, at most 3 per window.
    let queries = catalog_queries(10);
    let mut ids = Vec::new();
    for query in &queries {
        ids.push(system.search(query).await);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    let during = system.wait_crawl(&pool, crawl, Duration::ZERO).await;
    assert_eq!(
        during.status,
        CrawlStatus::Running,
        "the crawl must still be saturating its share when the searches are done"
    );
    let mut answered_by_spotify = 0;
    for id in &ids {
        let done = system.wait_done(id, Duration::from_secs(30)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        if done["source"] == "spotify" {
            answered_by_spotify += 1;
        }
    }

    let ops = system.worker_ops[0];
    let metrics = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let waits = |priority: &str| {
        counter(
            &metrics,
            "muze_limiter_waits_total",
            &format!("priority=\"{priority}\",provider=\"spotify\""),
        )
        .max(counter(
            &metrics,
            "muze_limiter_waits_total",
            &format!("provider=\"spotify\",priority=\"{priority}\""),
        ))
    };
    let background_waits = waits("background");
    let interactive_waits = waits("interactive");
    println!(
        "interactive searches: {} ({answered_by_spotify} by spotify), interactive waits: \
         {interactive_waits}, background waits: {background_waits}",
        ids.len()
    );
    assert_eq!(
        answered_by_spotify,
        ids.len(),
        "every search got a Spotify call"
    );
    assert_eq!(
        interactive_waits, 0,
        "no interactive search waited for budget while the crawl ran"
    );
    assert!(
        background_waits > 0,
        "the crawl was held to its share (it never had to wait: the test proves nothing)"
    );

    let view = system
        .wait_crawl(&pool, crawl, Duration::from_secs(120))
        .await;
    assert_eq!(view.status, CrawlStatus::Succeeded, "{view:?}");
    assert_eq!(view.tracks_added, 80);
    assert_eq!(
        system.sim_stats().await["total_violations"],
        0,
        "the sim saw its limit exceeded"
    );
    system.shutdown().await;
}
