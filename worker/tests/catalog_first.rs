//! Our catalog answers first: repeats and new phrasings of known songs cost no upstream call,
//! identical searches in flight share one job, stale answers are refreshed once, and long-polls
//! wake when the answer lands.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{Options, System, KEY};

const DONE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_identical_search_is_answered_from_the_catalog_with_no_upstream_call() {
    let system = System::start(Options::default()).await;
    let id = system.search("아이유 좋은 날").await;
    let first = system.wait_done(&id, DONE).await;
    assert_eq!(first["status"], "succeeded");
    let calls = system.sim_calls("spotify", "/v1/search").await;
    assert_eq!(calls, 1);

    let (status, again) = system
        .post_search(json!({"query": "아이유  좋은 날"}))
        .await;

    assert_eq!(status, 200, "{again}");
    assert_eq!(again["source"], "catalog");
    assert_eq!(again["status"], "succeeded");
    assert_eq!(again["results"], first["results"]);
    assert_eq!(
        system.sim_calls("spotify", "/v1/search").await,
        calls,
        "an upstream call was made"
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_song_searched_as_title_artist_is_found_from_artist_dash_title_and_its_title_alone_with_no_upstream_call(
) {
    let system = System::start(Options::default()).await;
    let id = system.search("Dynamite BTS").await;
    assert_eq!(system.wait_done(&id, DONE).await["status"], "succeeded");
    let calls = system.sim_calls("spotify", "/v1/search").await;

    let (status, body) = system.post_search(json!({"query": "BTS - Dynamite"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "catalog");
    assert_eq!(body["results"][0]["title"], "Dynamite");
    assert_eq!(system.sim_calls("spotify", "/v1/search").await, calls);

    // The title alone, asked for twice by now: the catalog knows which song it means.
    let (status, title) = system.post_search(json!({"query": "Dynamite"})).await;
    assert_eq!(status, 200, "{title}");
    assert_eq!(title["results"][0]["artists"][0], "BTS");

    // A query matching the song only in part goes upstream.
    let (status, partial) = system.post_search(json!({"query": "BTS"})).await;
    assert_eq!(status, 202, "{partial}");
    let partial = system
        .wait_done(partial["id"].as_str().expect("id"), DONE)
        .await;
    assert_eq!(partial["source"], "spotify");
    assert_eq!(system.sim_calls("spotify", "/v1/search").await, calls + 1);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_identical_new_searches_through_two_apis_share_one_job_and_one_upstream_call() {
    let mut system = System::start(Options {
        sim_latency_ms: 500,
        ..Options::default()
    })
    .await;
    let second_api = system.start_another_api().await;
    let apis = [system.api_url.clone(), second_api];

    let mut posts = Vec::new();
    for i in 0..50 {
        let url = format!("{}/v1/searches", apis[i % 2]);
        let http = system.http.clone();
        posts.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(KEY)
                .json(&json!({"query": "Hype Boy NewJeans"}))
                .send()
                .await
                .expect("POST");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }));
    }
    let mut ids = Vec::new();
    for post in posts {
        let (status, body) = post.await.expect("task");
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_str().expect("id").to_string());
    }

    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "more than one job: {ids:?}"
    );
    for id in &ids {
        let done = system.wait_done(id, DONE).await;
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["results"][0]["title"], "Hype Boy");
    }
    assert_eq!(system.sim_calls("spotify", "/v1/search").await, 1);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM searches")
        .fetch_one(&system.db().await)
        .await
        .expect("count");
    assert_eq!(jobs, 1);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_identical_searches_sent_over_the_instant_the_first_completes_make_one_upstream_call(
) {
    // Latency 0: the job finishes while the searches are still arriving.
    let system = System::start(Options::default()).await;
    const SEARCHES: usize = 100;
    const QUERY: &str = "Ditto NewJeans";
    let post = |system: &System| {
        let url = format!("{}/v1/searches", system.api_url);
        let http = system.http.clone();
        tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(KEY)
                .json(&json!({ "query": QUERY }))
                .send()
                .await
                .expect("POST");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        })
    };

    // Act: a stream of searches, half of it sent while the first is in flight and the other
    // half the moment it has finished.
    let db = system.db().await;
    let succeeded = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM searches WHERE status = 'succeeded'")
            .fetch_one(&db)
            .await
            .expect("status")
            > 0
    };
    let mut posts = vec![post(&system)];
    let mut sent_before_done = 0;
    while posts.len() < SEARCHES / 2 && !succeeded().await {
        sent_before_done += 1;
        posts.push(post(&system));
    }
    let started = Instant::now();
    while !succeeded().await {
        assert!(started.elapsed() < DONE, "the first search never finished");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    while posts.len() < SEARCHES {
        posts.push(post(&system));
    }
    let (status, first) = posts.remove(0).await.expect("task");
    assert_eq!(status, 202, "{first}");
    let first_id = first["id"].as_str().expect("id").to_string();

    // Assert: every search got the first one's job or its answer; one call upstream.
    let mut from_catalog = 0;
    for post in posts {
        let (status, body) = post.await.expect("task");
        assert!(status == 202 || status == 200, "{status} {body}");
        assert_eq!(body["id"], first_id, "another job: {body}");
        if status == 200 {
            from_catalog += 1;
        }
    }
    assert!(
        sent_before_done > 0,
        "the first search finished before any other was sent"
    );
    assert!(
        from_catalog > 0,
        "no search arrived after the first finished"
    );
    assert_eq!(system.sim_calls("spotify", "/v1/search").await, 1);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM searches")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(jobs, 1);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_answer_is_served_at_once_and_refreshed_once() {
    let system = System::start(Options {
        extra_env: vec![("MUZE__SEARCH__CACHE_TTL_SECS".into(), "1".into())],
        sim_latency_ms: 300,
        ..Options::default()
    })
    .await;
    let id = system.search("How You Like That BLACKPINK").await;
    let first = system.wait_done(&id, DONE).await;
    assert_eq!(first["status"], "succeeded");
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    // Stale: served at once, from the catalog, while one refresh goes upstream.
    let mut stale_answers = 0;
    for _ in 0..5 {
        let (status, body) = system
            .post_search(json!({"query": "How You Like That BLACKPINK"}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["source"], "catalog");
        assert_eq!(body["results"], first["results"]);
        stale_answers += 1;
    }
    assert_eq!(stale_answers, 5);
    let db = system.db().await;
    let started = Instant::now();
    loop {
        let answers: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM searches WHERE status = 'succeeded' AND source = 'spotify'",
        )
        .fetch_one(&db)
        .await
        .expect("count");
        if answers == 2 {
            break;
        }
        assert!(
            started.elapsed() < DONE,
            "the stale answer was not refreshed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        system.sim_calls("spotify", "/v1/search").await,
        2,
        "refreshed more than once"
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_poll_returns_as_soon_as_the_job_finishes_and_the_current_state_when_it_does_not() {
    let system = System::start(Options {
        sim_latency_ms: 1_000,
        ..Options::default()
    })
    .await;
    let id = system.search("Bohemian Rhapsody Queen").await;

    // The job takes a second upstream; a 5 s long-poll returns when it finishes.
    let asked = Instant::now();
    let done = system.get_search(&id, 5).await;
    let returned = Instant::now();
    assert_eq!(done["status"], "succeeded");
    let finished_at =
        chrono::DateTime::parse_from_rfc3339(done["finished_at"].as_str().expect("finished"))
            .expect("rfc3339");
    let after_finish = chrono::Utc::now().signed_duration_since(finished_at)
        - chrono::Duration::from_std(Instant::now() - returned).unwrap_or_default();
    assert!(
        after_finish < chrono::Duration::milliseconds(100),
        "returned {after_finish} after the job finished"
    );
    assert!(returned - asked < Duration::from_secs(4));

    // A search that does not finish: the long-poll returns its state when the wait ends.
    system
        .sim_control("spotify", json!({"fault": "timeout", "count": 1}))
        .await;
    let slow = system.search("One More Time Daft Punk").await;
    let asked = Instant::now();
    let current = system.get_search(&slow, 1).await;
    assert!(
        matches!(current["status"].as_str(), Some("queued" | "running")),
        "{current}"
    );
    assert!(asked.elapsed() >= Duration::from_millis(950));
    system.shutdown().await;
}
