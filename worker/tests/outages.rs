//! A dependency outage is not the jobs' fault: with the system's database on a private
//! Postgres cluster, stopped for 90 s under a steady search load and started again, no message
//! is parked, every accepted search is answered or fails `deadline_exceeded`, the worker says
//! it is not ready meanwhile, and searches accepted after the restart are all answered.

mod support;

use std::{sync::Arc, time::Duration};

use muze_shared::queue::{Broker, Topology};
use muze_testkit::catalog_queries;
use muze_testkit::private::postgres::PrivatePostgres;
use serde_json::{json, Value};
use support::{Options, System};
use tokio::{sync::Mutex, time::Instant};

/// How long Postgres stays down.
const OUTAGE: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Before,
    During,
    After,
}

async fn readyz(system: &System) -> u16 {
    system
        .http
        .get(format!("http://{}/readyz", system.worker_ops[0]))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_for_90_s_under_load_parks_nothing_and_answers_or_expires_every_search() {
    let postgres = Arc::new(
        tokio::task::spawn_blocking(PrivatePostgres::start)
            .await
            .expect("pg"),
    );
    let system = Arc::new(
        System::start(Options {
            workers: 1,
            extra_env: vec![
                ("MUZE__DATABASE__URL".into(), postgres.url("muze")),
                ("MUZE__SEARCH__DEADLINE_SECS".into(), "60".into()),
            ],
            ..Options::default()
        })
        .await,
    );
    // Calls take a second, so some searches are inside the worker when the database goes.
    system
        .sim_control("spotify", json!({"latency_ms": 1_000}))
        .await;

    // Two distinct searches a second, each POST on its own task so a slow refusal does not
    // hold up the next.
    let phase = Arc::new(Mutex::new(Phase::Before));
    let posted: Arc<Mutex<Vec<(Phase, u16, Value)>>> = Arc::default();
    let load = tokio::spawn({
        let (system, phase, posted) = (system.clone(), phase.clone(), posted.clone());
        async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(500));
            for query in catalog_queries(1_000) {
                ticker.tick().await;
                let (system, phase, posted) = (system.clone(), phase.clone(), posted.clone());
                tokio::spawn(async move {
                    let at = *phase.lock().await;
                    let (status, body) = system.post_search(json!({ "query": query })).await;
                    posted.lock().await.push((at, status, body));
                });
            }
        }
    });

    tokio::time::sleep(Duration::from_secs(6)).await;
    *phase.lock().await = Phase::During;
    let pg = postgres.clone();
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .expect("stop");
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        readyz(&system).await,
        503,
        "the worker is not ready without its database"
    );
    tokio::time::sleep_until(stopped + OUTAGE).await;
    let pg = postgres.clone();
    tokio::task::spawn_blocking(move || pg.start_again())
        .await
        .expect("start");
    let restarted = Instant::now();
    *phase.lock().await = Phase::After;
    while readyz(&system).await != 200 {
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "the worker is not ready again 30 s after Postgres came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready_after = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(15)).await;
    load.abort();
    tokio::time::sleep(Duration::from_secs(6)).await; // POSTs still in flight

    let posted = posted.lock().await.clone();
    let accepted: Vec<(Phase, String)> = posted
        .iter()
        .filter(|(_, status, _)| *status == 202 || *status == 200)
        .map(|(at, _, body)| (*at, body["id"].as_str().expect("id").to_string()))
        .collect();
    let refused = posted
        .iter()
        .filter(|(_, status, _)| *status == 503)
        .count();
    let other: Vec<_> = posted
        .iter()
        .filter(|(_, status, _)| ![200, 202, 503].contains(status))
        .collect();
    assert!(other.is_empty(), "only 202, 200 or 503: {other:?}");
    let count = |p: Phase| accepted.iter().filter(|(at, _)| *at == p).count();
    assert!(count(Phase::Before) >= 5, "{accepted:?}");
    assert!(count(Phase::After) >= 10, "{accepted:?}");
    assert!(
        refused > 0,
        "searches were refused while the database was down"
    );

    let mut expired = 0;
    for (at, id) in &accepted {
        let done = system.wait_done(id, Duration::from_secs(90)).await;
        match (done["status"].as_str(), done["error"]["code"].as_str()) {
            (Some("succeeded"), _) => {}
            (Some("failed"), Some("deadline_exceeded")) if *at != Phase::After => expired += 1,
            _ => panic!("a search accepted {at:?} the outage ended {done}"),
        }
    }
    let broker = system.broker().await;
    let depths = broker
        .queue_depths(&broker.topology().search)
        .await
        .expect("depths");
    broker.close().await;
    assert_eq!(depths.parked, 0, "no message is parked by an outage");
    eprintln!(
        "accepted {} (before {}, during {}, after {}), refused {refused}, expired {expired}, \
         worker ready {ready_after:?} after Postgres was back",
        accepted.len(),
        count(Phase::Before),
        count(Phase::During),
        count(Phase::After)
    );
    Arc::into_inner(system)
        .expect("the load is done with the system")
        .shutdown()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbitmq_restarted_consumers_come_back_without_a_worker_restart() {
    use muze_testkit::private::rabbitmq::PrivateRabbitMq;
    let rabbit = tokio::task::spawn_blocking(PrivateRabbitMq::start)
        .await
        .expect("rabbitmq");
    let system = System::start(Options {
        workers: 1,
        extra_env: vec![("MUZE__AMQP__URL".into(), rabbit.url())],
        ..Options::default()
    })
    .await;
    let queries = catalog_queries(2);
    let first = system.search(&queries[0]).await;
    let done = system.wait_done(&first, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let mut rabbit = tokio::task::spawn_blocking(move || {
        let mut rabbit = rabbit;
        rabbit.stop();
        rabbit
    })
    .await
    .expect("stop");
    let mut not_ready = false;
    for _ in 0..50 {
        if readyz(&system).await == 503 {
            not_ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(not_ready, "the worker is not ready without its broker");
    rabbit = tokio::task::spawn_blocking(move || {
        rabbit.start_again();
        rabbit
    })
    .await
    .expect("start");
    let restarted = Instant::now();

    // The same worker process subscribes again: ready, and a consumer on each work queue.
    let settings = system.settings();
    let topology = Topology::new(&system.namespace, settings.worker.delivery_limit);
    loop {
        let consumers = match Broker::connect(settings.amqp.url.clone(), topology.clone()).await {
            Ok(broker) => {
                let search = broker
                    .queue_depths(&topology.search)
                    .await
                    .map(|d| d.consumers);
                let crawl = broker
                    .queue_depths(&topology.crawl)
                    .await
                    .map(|d| d.consumers);
                broker.close().await;
                (search.unwrap_or(0), crawl.unwrap_or(0))
            }
            Err(_) => (0, 0),
        };
        if consumers == (1, 1) && readyz(&system).await == 200 {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "consumers {consumers:?} 30 s after RabbitMQ came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let back = restarted.elapsed();
    let second = system.search(&queries[1]).await;
    let done = system.wait_done(&second, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    eprintln!("consumers back and ready {back:?} after RabbitMQ was");
    system.shutdown().await;
    drop(rabbit);
}
