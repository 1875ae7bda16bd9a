//! The job runtime's promises, end to end against the real services: a search whose message
//! is lost after the broker confirmed it is still answered, long before its deadline; and a
//! search that outlives its lease is run by one worker only, its provider call made once.

mod support;

use std::time::{Duration, Instant};

use lapin::options::QueuePurgeOptions;
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
    let broker = system.broker().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_message_is_parked_with_its_reason_and_redriven_by_the_admin_api_after_a_fix() {
    use muze_shared::{
        db::searches::{self, NewSearch},
        domain::{Query, ResultLimit, SearchType},
        queue::{Route, SearchMessage},
    };
    const ADMIN: &str = "admin-key";
    let system = System::start(Options {
        extra_env: vec![("MUZE__API__ADMIN_KEYS".into(), ADMIN.into())],
        ..Options::default()
    })
    .await;
    let admin = |method: reqwest::Method, path: &str| {
        system
            .http
            .request(method, format!("{}/v1/admin/parked/{path}", system.api_url))
            .bearer_auth(ADMIN)
    };
    let list = || async {
        let response = admin(reqwest::Method::GET, "search")
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.expect("json")
    };

    // A message naming a search that does not exist (yet): poison.
    let query = Query::parse("아이유 좋은 날").expect("query");
    let message = SearchMessage {
        search_id: uuid::Uuid::now_v7(),
        normalized: query.normalize(),
        query,
        search_type: SearchType::Track,
        limit: ResultLimit::DEFAULT,
        deadline_at: chrono::Utc::now() + chrono::Duration::seconds(120),
        retries: 0,
        refresh: false,
    };
    let broker = system.broker().await;
    broker.send(&message, Route::Now).await.expect("sent");
    broker.close().await;
    let id = message.search_id.to_string();

    let waited = Instant::now();
    let parked = loop {
        let parked = list().await;
        if parked["total"] == 1 {
            break parked;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "never parked: {parked}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let entry = &parked["messages"][0];
    assert_eq!(entry["id"], id, "{parked}");
    assert_eq!(entry["reason"], "no search with this id", "{parked}");
    assert!(entry["age_secs"].as_i64().is_some(), "{parked}");
    assert!(
        entry["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("좋은 날"),
        "{parked}"
    );
    // Listing leaves the message parked.
    assert_eq!(list().await["total"], 1);

    // Refused filters, and a kind that does not exist.
    let bad = admin(reqwest::Method::POST, "search/redrive")
        .json(&json!({"all": true, "ids": [id]}))
        .send()
        .await
        .expect("POST");
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_redrive", "{body}");
    let unknown = admin(reqwest::Method::GET, "songs")
        .send()
        .await
        .expect("GET");
    assert_eq!(unknown.status(), 404);

    // The fix: the search's row exists now, its message accounted for.
    let pool = system.db().await;
    let created = searches::create_or_join(
        &pool,
        &NewSearch {
            id: message.search_id,
            query: message.query.clone(),
            normalized: message.normalized.clone(),
            search_type: message.search_type,
            limit: message.limit,
            deadline_at: message.deadline_at,
        },
        0,
    )
    .await
    .expect("row");
    assert_eq!(created.id(), message.search_id);
    searches::mark_published(&pool, message.search_id)
        .await
        .expect("published");

    let redriven = admin(reqwest::Method::POST, "search/redrive")
        .json(&json!({"reason_contains": "No search"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(redriven.status(), 200);
    let redriven: serde_json::Value = redriven.json().await.expect("json");
    assert_eq!(redriven, json!({"redriven": 1, "kept": 0}));
    let started = Instant::now();
    // Answered by the re-driven message: the sweeper would republish only 10 s from now.
    let done = system.wait_done(&id, Duration::from_secs(8)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(list().await["total"], 0);

    let purged = admin(reqwest::Method::DELETE, "search")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(purged.status(), 200);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_workers_keep_dying_on_is_parked_by_the_broker_and_redriven_by_the_admin_api() {
    use lapin::options::BasicGetOptions;
    const ADMIN: &str = "admin-key";
    // No worker yet: the test itself plays the workers that die holding the message.
    let mut system = System::start(Options {
        workers: 0,
        extra_env: vec![("MUZE__API__ADMIN_KEYS".into(), ADMIN.into())],
        ..Options::default()
    })
    .await;
    let delivery_limit = system.settings().worker.delivery_limit;
    let id = system.search("아이유 좋은 날").await;

    // Each "worker" takes the message and dies before settling it: its channel closes and the
    // broker takes the message back, counting the delivery. Past the limit, the broker
    // dead-letters it to the parking queue.
    let broker = system.broker().await;
    let work = broker.topology().search.work.clone();
    let mut deliveries = 0;
    let started = Instant::now();
    loop {
        let channel = broker.channel().await.expect("channel");
        let got = channel
            .basic_get(work.as_str().into(), BasicGetOptions { no_ack: false })
            .await
            .expect("basic.get");
        let _ = channel.close(320, "worker died".into()).await;
        if got.is_some() {
            deliveries += 1;
        } else if broker
            .ready_in(&broker.topology().search.parked)
            .await
            .expect("count")
            == 1
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the broker never parked the message ({deliveries} deliveries)"
        );
    }
    broker.close().await;
    assert_eq!(
        deliveries,
        delivery_limit + 1,
        "delivered once, then redelivered up to the limit"
    );

    let (http, api_url) = (system.http.clone(), system.api_url.clone());
    let admin = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{api_url}/v1/admin/parked/{path}"))
            .bearer_auth(ADMIN)
    };
    let parked: serde_json::Value = admin(reqwest::Method::GET, "search")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(parked["total"], 1, "{parked}");
    let entry = &parked["messages"][0];
    assert_eq!(entry["id"], id, "{parked}");
    assert!(
        entry["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the broker's delivery limit"),
        "{parked}"
    );

    // The fix: a healthy worker. Re-driven by the broker's reason, the search is answered.
    system.start_worker().await;
    let redriven: serde_json::Value = admin(reqwest::Method::POST, "search/redrive")
        .json(&json!({"reason_contains": "delivery limit"}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert_eq!(redriven, json!({"redriven": 1, "kept": 0}));
    let done = system.wait_done(&id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let parked: serde_json::Value = admin(reqwest::Method::GET, "search")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(parked["total"], 0, "{parked}");
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_parking_queue_drops_its_oldest_messages_down_to_the_limit() {
    use muze_shared::queue::REASON_HEADER;
    let mut system = System::start(Options {
        workers: 0,
        extra_env: vec![("MUZE__WORKER__PARKED_LIMIT".into(), "3".into())],
        ..Options::default()
    })
    .await;
    // Five parked messages, oldest first, before any worker sweeps.
    let broker = system.broker().await;
    let parked = broker.topology().search.parked.clone();
    let mut sent = Vec::new();
    for n in 0..5 {
        let id = uuid::Uuid::now_v7().to_string();
        let reason = format!("poison {n}");
        broker
            .publish(&parked, b"{}", &id, &[(REASON_HEADER, reason.as_str())])
            .await
            .expect("parked");
        sent.push(id);
    }

    // A worker's sweeper keeps the three newest, in order.
    system.start_worker().await;
    let waited = Instant::now();
    let kept: Vec<String> = loop {
        let page = broker
            .parked(&broker.topology().search, 10)
            .await
            .expect("parked");
        if page.total == 3 {
            break page.messages.into_iter().map(|m| m.message_id).collect();
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "{} parked, limit 3",
            page.total
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(kept, sent[2..], "the oldest two dropped, the rest in order");
    // And no further: the bound is a floor for what stays, too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(broker.ready_in(&parked).await.expect("count"), 3);
    broker.close().await;
    system.shutdown().await;
}
