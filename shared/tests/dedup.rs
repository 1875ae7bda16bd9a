//! The catalog's deduplication against the real Postgres: one song found through several
//! providers, by several jobs at once, is one track with one link per provider id. Every test
//! has its own database, dropped at the end.

use std::{panic::AssertUnwindSafe, sync::Arc, time::Duration};

use futures::FutureExt;

use chrono::Utc;
use muze_shared::{
    db::{
        self,
        searches::{self, Claim, Enqueued, Finish, NewSearch},
        tracks,
    },
    domain::{ProviderName, ProviderTrack, Query, ResultLimit, SearchType},
};
use secrecy::SecretString;
use sqlx::{Connection, PgPool};
use uuid::Uuid;

const CHANNEL: &str = "dedup-test.search_done";

/// A fresh, migrated database; dropped by [`TestDb::drop_db`].
struct TestDb {
    name: String,
    pool: PgPool,
}

/// Runs `test` against a fresh database and drops the database afterwards, also when the
/// test panics.
async fn with_db<F, Fut>(test: F)
where
    F: FnOnce(PgPool) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDb::create().await;
    let outcome = AssertUnwindSafe(test(db.pool.clone())).catch_unwind().await;
    db.drop_db().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

impl TestDb {
    async fn create() -> TestDb {
        let name = format!("muze_test_{}", Uuid::new_v4().simple());
        let url = SecretString::from(format!("postgres://postgres@127.0.0.1:5432/{name}"));
        let pool = db::connect(&url, 25).await.expect("database ready");
        TestDb { name, pool }
    }

    /// Best effort: a failure to drop leaves a stray test database, not a failed test.
    async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(mut admin) =
            sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await
        {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }
}

/// A claimed (running) search job for `text`.
async fn running_search(pool: &PgPool, text: &str) -> Uuid {
    let query = Query::parse(text).expect("valid query");
    let new = NewSearch {
        id: Uuid::now_v7(),
        normalized: query.normalize(),
        query,
        search_type: SearchType::Track,
        limit: ResultLimit::DEFAULT,
        deadline_at: Utc::now() + chrono::Duration::seconds(60),
    };
    let id = match searches::create_or_join(pool, &new).await.expect("insert") {
        Enqueued::Created(id) => id,
        Enqueued::Joined(id) => panic!("{text:?} joined {id} instead of creating a job"),
    };
    match searches::claim(pool, id, 30).await.expect("claim") {
        Claim::Claimed(job) => job.id,
        other => panic!("could not claim {id}: {other:?}"),
    }
}

/// One song as `provider` describes it.
fn song(
    provider: ProviderName,
    provider_id: &str,
    title: &str,
    isrc: Option<&str>,
    duration_ms: Option<i32>,
) -> ProviderTrack {
    ProviderTrack {
        provider,
        provider_id: provider_id.to_string(),
        url: format!("https://{provider}.example/track/{provider_id}"),
        title: title.to_string(),
        artists: vec!["BTS".to_string()],
        album: None,
        duration_ms,
        isrc: isrc.map(str::to_string),
        release_date: None,
        image_url: None,
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_isrc_from_spotify_and_deezer_in_two_searches_is_one_track_with_two_links() {
    with_db(|pool| async move {
        let pool = &pool;
        // Arrange
        let first = running_search(pool, "Dynamite BTS").await;
        let second = running_search(pool, "BTS Dynamite").await;
        let from_spotify = song(
            ProviderName::Spotify,
            "0t1kP63rueHleOhQkYSXFY",
            "Dynamite",
            Some("KRA382000592"),
            Some(199_053),
        );
        let from_deezer = song(
            ProviderName::Deezer,
            "1034279552",
            "Dynamite",
            Some("KRA382000592"),
            Some(199_000),
        );

        // Act
        let a = searches::succeed(pool, CHANNEL, first, "spotify", &[], &[from_spotify])
            .await
            .expect("first answer stored");
        let b = searches::succeed(pool, CHANNEL, second, "deezer", &[], &[from_deezer])
            .await
            .expect("second answer stored");

        // Assert
        assert_eq!((a, b), (Finish::Done, Finish::Done));
        assert_eq!(count(pool, "SELECT count(*) FROM tracks").await, 1);
        let first_results = tracks::for_search(pool, first).await.expect("results");
        let second_results = tracks::for_search(pool, second).await.expect("results");
        assert_eq!(first_results.len(), 1);
        assert_eq!(second_results.len(), 1);
        assert_eq!(first_results[0].id, second_results[0].id);
        let track = &second_results[0];
        assert_eq!(track.isrc.as_deref(), Some("KRA382000592"));
        assert_eq!(
            track.links.keys().copied().collect::<Vec<_>>(),
            vec![ProviderName::Spotify, ProviderName::Deezer],
            "{track:?}"
        );
        assert_eq!(
            track.links[&ProviderName::Deezer],
            "https://deezer.example/track/1034279552"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_jobs_saving_the_same_song_produce_one_track() {
    with_db(|pool| async move {
        let pool = &pool;
        const JOBS: usize = 20;
        const ROUNDS: usize = 5;

        for round in 0..ROUNDS {
            // Arrange: 20 running jobs and, for each, the same song as a different provider result:
            // with the ISRC or without it, durations up to 1 s apart.
            let title = format!("Dynamite Round {round}");
            let isrc = format!("KRA3820{round:05}");
            let mut jobs = Vec::with_capacity(JOBS);
            for i in 0..JOBS {
                let id = running_search(pool, &format!("{title} take {i}")).await;
                let duration = Some(199_000 + [0, 1_000, -1_000, 500][i % 4]);
                let found = match i % 5 {
                    0 => song(
                        ProviderName::Spotify,
                        &format!("sp-{round}"),
                        &title,
                        Some(&isrc),
                        duration,
                    ),
                    1 => song(
                        ProviderName::Deezer,
                        &format!("dz-{round}-{i}"),
                        &title,
                        None,
                        duration,
                    ),
                    2 => song(
                        ProviderName::Youtube,
                        &format!("yt-{round}-{i}"),
                        &title,
                        None,
                        None,
                    ),
                    3 => song(
                        ProviderName::Shazam,
                        &format!("sz-{round}-{i}"),
                        &title,
                        Some(&isrc),
                        duration,
                    ),
                    _ => song(
                        ProviderName::Musicbrainz,
                        &format!("mb-{round}"),
                        &title,
                        None,
                        duration,
                    ),
                };
                jobs.push((id, found));
            }
            let start = Arc::new(tokio::sync::Barrier::new(JOBS));

            // Act: all of them store their answer at once.
            let tasks: Vec<_> = jobs
                .iter()
                .cloned()
                .map(|(id, found)| {
                    let pool = pool.clone();
                    let start = start.clone();
                    tokio::spawn(async move {
                        start.wait().await;
                        let source = found.provider.as_str();
                        searches::succeed(&pool, CHANNEL, id, source, &[], &[found]).await
                    })
                })
                .collect();
            for task in tasks {
                let finish = tokio::time::timeout(Duration::from_secs(60), task)
                    .await
                    .expect("no deadlock")
                    .expect("task")
                    .expect("answer stored");
                assert_eq!(finish, Finish::Done);
            }

            // Assert
            let key = tracks::match_key(&title, &["BTS".to_string()]);
            let same_song: Vec<Uuid> =
                sqlx::query_scalar("SELECT id FROM tracks WHERE match_key = $1")
                    .bind(&key)
                    .fetch_all(pool)
                    .await
                    .expect("tracks");
            assert_eq!(same_song.len(), 1, "round {round}: {same_song:?}");
            assert_eq!(
                count(pool, "SELECT count(*) FROM tracks").await,
                round as i64 + 1,
                "round {round}"
            );
            for (id, _) in &jobs {
                let results = tracks::for_search(pool, *id).await.expect("results");
                assert_eq!(
                    results.iter().map(|t| t.id).collect::<Vec<_>>(),
                    same_song,
                    "round {round}, search {id}"
                );
            }
            let track = tracks::get(pool, same_song[0])
                .await
                .expect("read")
                .expect("track");
            assert_eq!(track.isrc.as_deref(), Some(isrc.as_str()), "round {round}");
            let links: i64 =
                sqlx::query_scalar("SELECT count(*) FROM track_links WHERE track_id = $1")
                    .bind(same_song[0])
                    .fetch_one(pool)
                    .await
                    .expect("links");
            // The Spotify and MusicBrainz ids are shared; every other job brought its own provider id.
            assert_eq!(links, 2 + 3 * (JOBS as i64 / 5), "round {round}");
        }
    })
    .await;
}
