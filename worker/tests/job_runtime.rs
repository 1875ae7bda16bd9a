//! The job runtime's promises, end to end against the real services: a search whose message
//! is lost after the broker confirmed it is still answered, long before its deadline; and a
//! search that outlives its lease is run by one worker only, its provider call made once.

mod support;

use std::time::{Duration, Instant};

use lapin::options::QueuePurgeOptions;
use muze_shared::queue::{Broker, Topology};
use serde_json::json;
use support::{Options, System};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_search_whose_message_is_lost_after_publish_is_answered_before_its_deadline() {
    let mut system = System::start(Options {
        workers: 0,
        extra_env: vec![("MUZE__SEARCH__DEADLINE_SECS".into(), "90".into())],
        ..Options::default()
    })
    .await;
    let posted = Instant::now();
    let id = system.search("아이유 좋은 날").await;
    let uuid: uuid::Uuid = id.parse().expect("uuid");

    // The broker confirmed the message (the API recorded it) ...
    let pool = system.db().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let published: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT published_at FROM searches WHERE id = $1")
                .bind(uuid)
                .fetch_one(&pool)
                .await
                .expect("row");
        if published.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the API never recorded the publish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ... and then lost it.
    let settings = system.settings();
    let broker = Broker::connect(
        settings.amqp.url.clone(),
        Topology::new(&system.namespace, settings.worker.delivery_limit),
    )
    .await
    .expect("broker");
    let channel = broker.channel().await.expect("channel");
    let purged = channel
        .queue_purge(
            broker.topology().search.work.as_str().into(),
            QueuePurgeOptions::default(),
        )
        .await
        .expect("queue.purge");
    assert_eq!(purged, 1, "the search's message was on the work queue");
    broker.close().await;

    system.start_worker().await;
    let done = system.wait_done(&id, Duration::from_secs(80)).await;
    let took = posted.elapsed();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["source"], "spotify", "{done}");
    // The sweeper calls a message lost 10 s after it was due; the deadline is 90 s away.
    assert!(
        took < Duration::from_secs(40),
        "answered {took:?} after the POST, the deadline was 90 s"
    );
    let metrics = system
        .http
        .get(format!("http://{}/metrics", system.worker_ops[0]))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("muze_sweeper_repairs_total{repair=\"lost_search\"} 1")),
        "the repair is counted: {metrics}"
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_search_outliving_its_lease_is_run_once_and_its_provider_called_once() {
    let system = System::start(Options {
        workers: 2,
        extra_env: vec![
            ("MUZE__WORKER__LEASE_SECS".into(), "2".into()),
            ("MUZE__WORKER__SWEEP_INTERVAL_SECS".into(), "1".into()),
            (
                "MUZE__PROVIDERS__SPOTIFY__TIMEOUT_MS".into(),
                "15000".into(),
            ),
        ],
        ..Options::default()
    })
    .await;
    // Each Spotify search takes 6 s: three leases' worth.
    system
        .sim_control("spotify", json!({"latency_ms": 6_000}))
        .await;
    let before = system.sim_calls("spotify", "/v1/search").await;

    let id = system.search("아이유 좋은 날").await;
    let done = system.wait_done(&id, Duration::from_secs(40)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // Give a second worker, had it taken the job over, time to make its call too.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let calls = system.sim_calls("spotify", "/v1/search").await - before;
    assert_eq!(calls, 1, "Spotify was asked {calls} times for one search");
    let attempts = done["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{done}");
    system.shutdown().await;
}
