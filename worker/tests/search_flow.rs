//! End to end: API → RabbitMQ → worker → Postgres → poll, against the real services.

mod support;

use std::time::Duration;

use muze_shared::{
    domain::{NormalizedQuery, Query, ResultLimit, SearchType},
    queue::{Broker, JobMessage, SearchMessage, Topology},
};
use muze_testkit::catalog_queries;
use serde_json::json;
use support::{Options, System};

const DONE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_goes_from_queued_to_succeeded_with_the_song() {
    let system = System::start(Options::default()).await;

    let (status, queued) = system.post_search(json!({"query": "아이유 좋은 날"})).await;
    assert_eq!(status, 202, "{queued}");
    let id = queued["id"].as_str().expect("id");
    assert!(matches!(
        queued["status"].as_str(),
        Some("queued" | "running" | "succeeded")
    ));

    let done = system.wait_done(id, DONE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["source"], "spotify");
    assert_eq!(done["attempts"][0]["provider"], "spotify");
    assert_eq!(done["attempts"][0]["outcome"], "ok");
    assert!(done["finished_at"].is_string());
    let results = done["results"].as_array().expect("results");
    let song = results
        .iter()
        .find(|t| t["title"] == "좋은 날")
        .unwrap_or_else(|| panic!("좋은 날 among {results:?}"));
    assert_eq!(song["artists"], json!(["IU"]));
    assert_eq!(song["isrc"], "KRA381001057");
    assert!(song["links"]["spotify"]
        .as_str()
        .is_some_and(|l| l.starts_with("https://open.spotify.com/track/")));

    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn results_survive_an_api_restart() {
    let mut system = System::start(Options::default()).await;
    let id = system.search("One More Time Daft Punk").await;
    let before = system.wait_done(&id, DONE).await;
    assert_eq!(before["status"], "succeeded");

    system.stop_api().await;
    system.start_api().await;

    let after = system.get_search(&id, 0).await;
    assert_eq!(after, before);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_delivered_twice_produces_one_result_and_no_duplicate_tracks() {
    let system = System::start(Options {
        workers: 2,
        sim_latency_ms: 200,
        ..Options::default()
    })
    .await;
    let db = system.db().await;
    let settings = system.settings();
    let broker = Broker::connect(
        settings.amqp.url.clone(),
        Topology::new(&settings.namespace, settings.worker.delivery_limit),
    )
    .await
    .expect("broker");

    // The API publishes once; a second copy of the same message arrives while the first runs.
    let id = system.search("Dynamite BTS").await;
    let deadline: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT deadline_at FROM searches WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&db)
            .await
            .expect("row");
    let query = Query::parse("Dynamite BTS").expect("valid");
    let message = SearchMessage {
        search_id: id.parse().expect("uuid"),
        normalized: NormalizedQuery::from_text(query.as_str()),
        query,
        search_type: SearchType::Track,
        limit: ResultLimit::DEFAULT,
        deadline_at: deadline,
        retries: 0,
        refresh: false,
    };
    let queue = &broker.topology().search.work;
    broker
        .publish(queue, &message.to_json(), &id, &[])
        .await
        .expect("duplicate published");
    let first = system.wait_done(&id, DONE).await;
    assert_eq!(first["status"], "succeeded");

    // And once more after it finished.
    broker
        .publish(queue, &message.to_json(), &id, &[])
        .await
        .expect("late duplicate published");
    // Let both duplicates be consumed (the early one waits out the first worker's lease).
    tokio::time::sleep(Duration::from_secs(7)).await;

    let after = system.get_search(&id, 0).await;
    assert_eq!(after, first, "a redelivery changed the search");
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM search_results WHERE search_id = $1::uuid")
            .bind(&id)
            .fetch_one(&db)
            .await
            .expect("count");
    assert_eq!(
        rows as usize,
        first["results"].as_array().expect("results").len()
    );
    let duplicates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT match_key FROM tracks GROUP BY match_key, duration_ms HAVING count(*) > 1) d",
    )
    .fetch_one(&db)
    .await
    .expect("count");
    assert_eq!(duplicates, 0, "duplicate tracks");
    let spotify_calls = system.sim_stats().await["providers"]["spotify"]["endpoints"]["/v1/search"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(spotify_calls, 1, "the duplicates made provider calls");

    broker.close().await;
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_stopped_with_sigterm_mid_load_loses_no_job() {
    let mut system = System::start(Options {
        workers: 0,
        sim_latency_ms: 300,
        extra_env: vec![("MUZE__WORKER__CONCURRENCY".into(), "4".into())],
        ..Options::default()
    })
    .await;
    let first = system.spawn_worker_process().await;
    let queries = catalog_queries(40);
    let mut ids = Vec::new();
    for q in &queries {
        ids.push(system.search(q).await);
    }
    // Let it get going, then stop it mid-load.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        system.terminate_process(first),
        "worker exits cleanly on SIGTERM"
    );

    let db = system.db().await;
    let finished_by_first: i64 =
        sqlx::query_scalar("SELECT count(*) FROM searches WHERE status = 'succeeded'")
            .fetch_one(&db)
            .await
            .expect("count");
    let running: i64 = sqlx::query_scalar("SELECT count(*) FROM searches WHERE status = 'running'")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(running, 0, "a job was left running after a graceful stop");
    assert!(
        finished_by_first > 0 && (finished_by_first as usize) < ids.len(),
        "stopped mid-load: {finished_by_first} done"
    );

    system.spawn_worker_process().await;
    for id in &ids {
        let done = system.wait_done(id, Duration::from_secs(60)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_namespaces_on_one_broker_do_not_see_each_others_jobs() {
    let mut a = System::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    a.spawn_worker_process().await;
    a.spawn_worker_process().await;
    let b = System::start(Options::default()).await;
    assert_ne!(a.namespace, b.namespace);

    let queries = catalog_queries(20);
    let (for_a, for_b) = queries.split_at(10);
    let mut ids_a = Vec::new();
    let mut ids_b = Vec::new();
    for q in for_a {
        ids_a.push(a.search(q).await);
    }
    for q in for_b {
        ids_b.push(b.search(q).await);
    }
    for id in &ids_a {
        assert_eq!(a.wait_done(id, DONE).await["status"], "succeeded");
    }
    for id in &ids_b {
        assert_eq!(b.wait_done(id, DONE).await["status"], "succeeded");
    }
    // Each system's provider saw exactly its own searches: no job crossed over.
    let calls = |stats: serde_json::Value| {
        stats["providers"]["spotify"]["endpoints"]["/v1/search"]
            .as_u64()
            .unwrap_or(0)
    };
    assert_eq!(calls(a.sim_stats().await), 10);
    assert_eq!(calls(b.sim_stats().await), 10);

    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_reports_its_jobs_and_provider_calls_at_metrics() {
    let system = System::start(Options::default()).await;
    let id = system.search("Hype Boy NewJeans").await;
    assert_eq!(system.wait_done(&id, DONE).await["status"], "succeeded");

    let ops = system.worker_ops[0];
    let health = system
        .http
        .get(format!("http://{ops}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert!(health.status().is_success());
    let metrics = system
        .http
        .get(format!("http://{ops}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("muze_searches_finished_total"),
        "{metrics}"
    );
    assert!(metrics.contains("muze_provider_calls_total"), "{metrics}");
    assert!(metrics.contains("muze_limiter_grants_total"), "{metrics}");
    system.shutdown().await;
}
