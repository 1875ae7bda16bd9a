//! The notification that a search is final carries the search as the API shows it, so a
//! waiting long-poll answers without reading it back: the payload must say exactly what the
//! read would. Against the real Postgres; every test has its own database, dropped at the end.

use std::time::Duration;

use chrono::Utc;
use muze_shared::{
    db::searches::{self, Finish, Finished},
    domain::{
        Attempt, AttemptOutcome, ProviderName, ProviderTrack, ResultLimit, SearchError, SearchView,
    },
};
use muze_testkit::{jobs, World};
use sqlx::{postgres::PgListener, PgPool};
use uuid::Uuid;

const CHANNEL: &str = "finished-test.search_done";

/// A claimed (running) search job for `text`, of up to 50 results.
async fn running_search(pool: &PgPool, text: &str) -> Uuid {
    let limit = ResultLimit::parse(i64::from(ResultLimit::MAX)).expect("limit");
    jobs::running_search(pool, text, limit).await
}

fn song(provider: ProviderName, n: usize, title: &str) -> ProviderTrack {
    ProviderTrack {
        provider,
        provider_id: format!("id{n}"),
        url: format!("https://{provider}.example/track/id{n}"),
        title: title.to_string(),
        artists: vec!["IU".to_string(), "SUGA".to_string()],
        album: n.is_multiple_of(2).then(|| "Palette".to_string()),
        duration_ms: Some(200_000 + n as i32),
        isrc: n.is_multiple_of(3).then(|| format!("KRA3817{n:05}")),
        release_date: Some("2017-04-21".to_string()),
        image_url: (!n.is_multiple_of(2)).then(|| format!("https://img.example/{n}.jpg")),
    }
}

fn attempt(outcome: AttemptOutcome) -> Attempt {
    Attempt {
        provider: ProviderName::Spotify,
        outcome,
        at: Utc::now(),
        detail: Some("HTTP 200".into()),
    }
}

/// The next notification on the channel, read.
async fn next_finished(listener: &mut PgListener) -> Finished {
    let notification = tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("a notification within 10 s")
        .expect("the listening connection");
    searches::read_finished(notification.payload()).expect("a readable payload")
}

/// The view as JSON, for comparing every field.
fn json(view: &SearchView) -> serde_json::Value {
    serde_json::to_value(view).expect("serializable")
}

async fn read_back(pool: &PgPool, id: Uuid) -> SearchView {
    searches::view(pool, id)
        .await
        .expect("read")
        .expect("the search exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notification_of_a_final_search_carries_what_reading_it_shows() {
    let world = World::new("tfinished");
    let pool = world.pool(5).await;
    let mut listener = PgListener::connect_with(&pool).await.expect("listener");
    listener.listen(CHANNEL).await.expect("listen");

    // An answer of new tracks; then one whose first result (another provider's) joins a
    // track the first answer stored.
    let first = running_search(&pool, "Palette IU").await;
    let found: Vec<ProviderTrack> = (0..4)
        .map(|n| song(ProviderName::Spotify, n, &format!("Palette {n}")))
        .collect();
    let finish = searches::succeed(
        &pool,
        CHANNEL,
        first,
        "spotify",
        &[attempt(AttemptOutcome::Ok)],
        &found,
    )
    .await
    .expect("stored");
    assert_eq!(finish, Finish::Done);
    let Finished::View(announced) = next_finished(&mut listener).await else {
        panic!("an answer this short travels whole");
    };
    assert_eq!(announced.results.len(), 4);
    assert_eq!(json(&announced), json(&read_back(&pool, first).await));

    let second = running_search(&pool, "Palette IU SUGA").await;
    let mut again = found.clone();
    again[0].provider = ProviderName::Deezer;
    again.truncate(2);
    searches::succeed(
        &pool,
        CHANNEL,
        second,
        "deezer",
        &[attempt(AttemptOutcome::Error), attempt(AttemptOutcome::Ok)],
        &again,
    )
    .await
    .expect("stored");
    let Finished::View(announced) = next_finished(&mut listener).await else {
        panic!("an answer this short travels whole");
    };
    let read = read_back(&pool, second).await;
    assert_eq!(read.results[0].links.len(), 2, "the deezer link joined");
    assert_eq!(json(&announced), json(&read));

    // An answer with no results, and a failure.
    let empty = running_search(&pool, "nothing at all").await;
    searches::succeed(&pool, CHANNEL, empty, "spotify", &[], &[])
        .await
        .expect("stored");
    let Finished::View(announced) = next_finished(&mut listener).await else {
        panic!("an empty answer travels whole");
    };
    assert_eq!(json(&announced), json(&read_back(&pool, empty).await));

    let failed = running_search(&pool, "no provider").await;
    let error = SearchError {
        code: "upstream_unavailable".into(),
        message: "No music provider could answer the search.".into(),
    };
    searches::fail(
        &pool,
        CHANNEL,
        failed,
        &[attempt(AttemptOutcome::Timeout)],
        &error,
    )
    .await
    .expect("failed");
    let Finished::View(announced) = next_finished(&mut listener).await else {
        panic!("a failure travels whole");
    };
    assert_eq!(announced.error, Some(error));
    assert_eq!(json(&announced), json(&read_back(&pool, failed).await));

    drop(listener);
    pool.close().await;
    world.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_too_long_for_a_notification_is_announced_by_its_id() {
    let world = World::new("tfinished");
    let pool = world.pool(5).await;
    let mut listener = PgListener::connect_with(&pool).await.expect("listener");
    listener.listen(CHANNEL).await.expect("listen");

    // 50 results with long titles: far over the 8000 bytes a notification may carry.
    let id = running_search(&pool, "a very long answer").await;
    let found: Vec<ProviderTrack> = (0..50)
        .map(|n| {
            song(
                ProviderName::Spotify,
                n,
                &format!("{n} {}", "la ".repeat(60)),
            )
        })
        .collect();
    searches::succeed(&pool, CHANNEL, id, "spotify", &[], &found)
        .await
        .expect("stored");
    match next_finished(&mut listener).await {
        Finished::Id(announced) => assert_eq!(announced, id),
        Finished::View(view) => panic!("{} results travelled whole", view.results.len()),
    }
    assert_eq!(read_back(&pool, id).await.results.len(), 50);

    drop(listener);
    pool.close().await;
    world.teardown().await;
}
