//! A worker's `/readyz` says whether it can do its job: 200 only while both consumers are
//! subscribed and Postgres, Redis and RabbitMQ answer; 503 naming what is down otherwise, and
//! 200 again once it is back. `/healthz` only says the process is alive.

mod support;

use std::time::{Duration, Instant};

use lapin::options::QueueDeleteOptions;
use muze_testkit::private::redis::PrivateRedis;
use serde_json::Value;
use support::{Options, System};

/// `GET {ops}{path}`: status and JSON body.
async fn get(http: &reqwest::Client, ops: &str, path: &str) -> (u16, Value) {
    let response = http
        .get(format!("{ops}{path}"))
        .send()
        .await
        .expect("the worker answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// Polls `/readyz` until it answers `status` (or 30 s pass); returns the last answer.
async fn readyz_until(http: &reqwest::Client, ops: &str, status: u16) -> (u16, Value) {
    let started = Instant::now();
    loop {
        let answer = get(http, ops, "/readyz").await;
        if answer.0 == status || started.elapsed() > Duration::from_secs(30) {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_is_ready_only_while_its_consumers_and_dependencies_are_up() {
    let mut redis = PrivateRedis::start();
    let system = System::start(Options {
        extra_env: vec![("MUZE__REDIS__URL".into(), redis.url())],
        ..Options::default()
    })
    .await;
    let ops = format!("http://{}", system.worker_ops[0]);
    let http = &system.http;

    let (status, ready) = readyz_until(http, &ops, 200).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["search_consumer"], "ok");

    // Redis goes away: not ready, and the answer says why; still alive.
    redis.stop();
    let (status, down) = readyz_until(http, &ops, 503).await;
    assert_eq!(status, 503, "{down}");
    assert_eq!(down["error"]["code"], "unavailable");
    let message = down["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Redis unreachable"), "{message}");
    assert_eq!(down["checks"]["redis"], "unavailable");
    assert_eq!(down["checks"]["postgres"], "ok");
    assert_eq!(down["checks"]["rabbitmq"], "ok");
    assert_eq!(get(http, &ops, "/healthz").await.0, 200, "alive all along");

    redis.restart();
    let (status, back) = readyz_until(http, &ops, 200).await;
    assert_eq!(status, 200, "ready again once Redis answers: {back}");

    // The search queue disappears under the worker: its consumer is gone.
    let settings = system.settings();
    let topology =
        muze_shared::queue::Topology::new(&settings.namespace, settings.worker.delivery_limit);
    let broker = muze_shared::queue::Broker::connect(settings.amqp.url.clone(), topology)
        .await
        .expect("broker");
    let channel = broker.channel().await.expect("channel");
    channel
        .queue_delete(
            broker.topology().search.work.as_str().into(),
            QueueDeleteOptions::default(),
        )
        .await
        .expect("queue deleted");
    let (status, gone) = readyz_until(http, &ops, 503).await;
    assert_eq!(status, 503, "{gone}");
    let message = gone["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no consumer on the search queue"),
        "{message}"
    );
    assert_eq!(gone["checks"]["search_consumer"], "unavailable");
    assert_eq!(gone["checks"]["crawl_consumer"], "ok");

    // The queue comes back: the worker subscribes again by itself.
    broker.topology().declare(&channel).await.expect("declared");
    let (status, back) = readyz_until(http, &ops, 200).await;
    assert_eq!(status, 200, "ready again once it consumes: {back}");

    broker.close().await;
    system.shutdown().await;
}
