//! Starting searches, joining them, and collecting their answers (polls and long-polls).

mod support;

use std::time::{Duration, Instant};

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use support::{error_of, spotify_track, TestApp};
use uuid::Uuid;

fn id_of(search: &Value) -> Uuid {
    search["id"].as_str().expect("id").parse().expect("uuid id")
}

#[tokio::test]
async fn a_valid_search_is_accepted_with_its_location_and_a_queued_search() {
    let app = TestApp::spawn().await;

    let response = app
        .post_search(json!({"query": "아이유 좋은 날", "type": "track", "limit": 10}))
        .await;

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .expect("ascii")
        .to_string();
    let search: Value = response.json().await.expect("JSON");
    let id = id_of(&search);
    assert_eq!(location, format!("/v1/searches/{id}"));
    assert_eq!(search["query"], "아이유 좋은 날");
    assert_eq!(search["type"], "track");
    assert_eq!(search["status"], "queued");
    assert_eq!(search["source"], Value::Null);
    assert_eq!(search["attempts"], json!([]));
    assert!(search["created_at"]
        .as_str()
        .is_some_and(|t| t.contains('T')));
    assert_eq!(search["finished_at"], Value::Null);
    assert_eq!(search["error"], Value::Null);
    assert_eq!(search["results"], json!([]));
    // The 202 shows the row the insert wrote, as a read of it shows it (no worker runs here).
    let read: Value = app.get(&location).await.json().await.expect("JSON");
    assert_eq!(read, search);
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_query_typed_differently_joins_the_search_in_flight() {
    let app = TestApp::spawn().await;
    let first = app.search("IU  좋은 날").await;

    let second = app.post_search(json!({"query": "iu 좋은 날"})).await;

    assert_eq!(second.status(), StatusCode::ACCEPTED);
    let location = second.headers()[header::LOCATION].clone();
    let second: Value = second.json().await.expect("JSON");
    assert_eq!(id_of(&second), id_of(&first));
    assert_eq!(location, format!("/v1/searches/{}", id_of(&first)).as_str());
    app.cleanup().await;
}

#[tokio::test]
async fn a_new_search_is_published_to_the_namespace_search_queue() {
    let app = TestApp::spawn().await;

    let search = app.search("Don't Stop Me Now").await;

    let message = app.take_queued_message().await.expect("a queued message");
    assert_eq!(message.search_id, id_of(&search));
    assert_eq!(message.query.as_str(), "Don't Stop Me Now");
    assert_eq!(message.normalized.as_str(), "dont stop me now");
    assert_eq!(message.limit.get(), 10);
    assert_eq!(message.retries, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn every_confirmed_publish_is_recorded_for_the_sweeper() {
    let app = TestApp::spawn().await;
    let mut searches = Vec::new();
    for i in 0..40 {
        searches.push(id_of(&app.search(&format!("confirmed song {i}")).await));
    }

    // How many of those searches' rows meet `condition`.
    let count = |condition: &'static str| {
        let (pool, searches) = (&app.pool, &searches);
        async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT count(*) FROM searches WHERE id = ANY($1) AND {condition}"
            ))
            .bind(searches)
            .fetch_one(pool)
            .await
            .expect("count")
        }
    };
    // Recorded off the response path, in batches: every row says its message exists.
    let recorded = muze_testkit::wait::eventually(Duration::from_secs(10), || async {
        (count("published_at IS NULL").await == 0).then_some(())
    })
    .await;
    assert!(
        recorded.is_some(),
        "some confirmed publishes were never recorded"
    );
    assert_eq!(count("message_due_at IS NOT NULL").await, 40);
    app.cleanup().await;
}

#[tokio::test]
async fn a_search_that_cannot_be_queued_answers_503_and_leaves_it_failed() {
    let app = TestApp::spawn().await;
    // Without its queue, RabbitMQ returns the message as unroutable instead of confirming it.
    app.delete_queue(&format!("{}.search", app.namespace)).await;

    let response = app.post_search(json!({"query": "unqueueable"})).await;

    assert_eq!(
        error_of(response).await,
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable".into())
    );
    let (status, code): (String, Option<String>) =
        sqlx::query_as("SELECT status::text, error_code FROM searches")
            .fetch_one(&app.pool)
            .await
            .expect("the job row");
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("failed", Some("unavailable"))
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_unknown_search_is_404_not_found() {
    let app = TestApp::spawn().await;

    let response = app.get(&format!("/v1/searches/{}", Uuid::now_v7())).await;

    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_long_poll_on_a_queued_search_returns_it_queued_when_the_wait_ends() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.search("nobody answers this").await);

    let started = Instant::now();
    let response = app.get(&format!("/v1/searches/{id}?wait=1")).await;

    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    let search: Value = response.json().await.expect("JSON");
    assert_eq!(search["status"], "queued");
    assert!(
        waited >= Duration::from_millis(900),
        "returned after {waited:?}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_long_poll_wakes_as_soon_as_a_worker_finishes_the_search() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.search("아이유 좋은 날").await);
    let track = spotify_track("3P3UA61WRQqwCXaoFOTENd", "좋은 날", "IU");

    let path = format!("/v1/searches/{id}?wait=20");

    let started = Instant::now();
    let poll = app.get(&path);
    let worker = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        app.answer_search(id, std::slice::from_ref(&track)).await;
    };
    let (response, ()) = tokio::join!(poll, worker);

    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    let search: Value = response.json().await.expect("JSON");
    assert_eq!(search["status"], "succeeded", "{search}");
    assert_eq!(search["source"], "spotify");
    assert_eq!(search["attempts"][0]["outcome"], "ok");
    assert!(search["finished_at"].is_string());
    assert_eq!(search["results"][0]["title"], "좋은 날");
    assert_eq!(search["results"][0]["artists"], json!(["IU"]));
    assert_eq!(
        search["results"][0]["links"]["spotify"],
        "https://open.spotify.com/track/3P3UA61WRQqwCXaoFOTENd"
    );
    assert!(
        waited < Duration::from_secs(5),
        "woken only after {waited:?}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_poll_without_wait_answers_the_current_state_at_once() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.search("current state").await);

    let response = app.get(&format!("/v1/searches/{id}")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let search: Value = response.json().await.expect("JSON");
    assert_eq!(id_of(&search), id);
    assert_eq!(search["status"], "queued");
    app.cleanup().await;
}
