//! The catalog's deduplication against the real Postgres: one song found through several
//! providers, by several jobs at once, is one track with one link per provider id. Every test
//! has its own database, dropped at the end.

use std::{sync::Arc, time::Duration};

use muze_shared::{
    db::{
        searches::{self, Finish},
        tracks,
    },
    domain::{ProviderName, ProviderTrack, ResultLimit},
};
use muze_testkit::{jobs, World};
use sqlx::PgPool;
use uuid::Uuid;

const CHANNEL: &str = "dedup-test.search_done";

/// Runs `test` against a fresh database of its own, removed afterwards (by the world's drop
/// when the test panics).
async fn with_db<F, Fut>(test: F)
where
    F: FnOnce(PgPool) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let world = World::new("tdedup");
    let pool = world.pool(25).await;
    test(pool.clone()).await;
    pool.close().await;
    world.teardown().await;
}

/// A claimed (running) search job for `text`.
async fn running_search(pool: &PgPool, text: &str) -> Uuid {
    jobs::running_search(pool, text, ResultLimit::DEFAULT).await
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

/// `title` by IU as `provider` describes it, with what that provider knows.
fn iu(
    provider: ProviderName,
    provider_id: &str,
    title: &str,
    isrc: Option<&str>,
    duration_ms: Option<i32>,
) -> ProviderTrack {
    ProviderTrack {
        artists: vec!["IU".to_string()],
        ..song(provider, provider_id, title, isrc, duration_ms)
    }
}

/// Saves one provider answer in its own transaction; the catalog track of each result.
async fn save(pool: &PgPool, answer: &[ProviderTrack]) -> Vec<Uuid> {
    let mut tx = pool.begin().await.expect("begin");
    let saved = tracks::upsert_all(&mut tx, answer).await.expect("upsert");
    tx.commit().await.expect("commit");
    saved.ids
}

/// Pairs of different songs by one artist whose titles share a bracketed segment that is not a
/// name of either: a performance tag, a concert, a lyric marker, a place.
const DIFFERENT_SONGS_SHARING_A_SEGMENT: &[(&str, &str)] = &[
    ("Love poem (PIPELINE)", "Blueming (PIPELINE)"),
    (
        "Through the Night (2019 IU Tour Concert Love, poem)",
        "Unlucky (2019 IU Tour Concert Love, poem)",
    ),
    ("Love wins all [가사/Lyrics]", "Shopper [가사/Lyrics]"),
    ("Palette (Live Clip)", "Eight (Live Clip)"),
    ("밤편지 (at Olympic Hall)", "좋은 날 (at Olympic Hall)"),
    ("LILAC [Special Clip]", "Coin [Special Clip]"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn different_songs_sharing_a_bracketed_segment_and_an_artist_stay_two_tracks() {
    with_db(|pool| async move {
        let pool = &pool;
        for (n, (a, b)) in DIFFERENT_SONGS_SHARING_A_SEGMENT.iter().enumerate() {
            // Act: both in one YouTube answer, then each again in answers of their own.
            let together = save(
                pool,
                &[
                    iu(ProviderName::Youtube, &format!("a{n}"), a, None, None),
                    iu(ProviderName::Youtube, &format!("b{n}"), b, None, None),
                ],
            )
            .await;
            let alone_a = save(
                pool,
                &[iu(ProviderName::Deezer, &format!("a{n}"), a, None, None)],
            )
            .await;
            let alone_b = save(
                pool,
                &[iu(ProviderName::Deezer, &format!("b{n}"), b, None, None)],
            )
            .await;

            // Assert
            assert_ne!(
                together[0], together[1],
                "{a:?} and {b:?} merged in one answer"
            );
            assert_ne!(
                alone_a[0], alone_b[0],
                "{a:?} and {b:?} merged across answers"
            );
            assert_eq!(
                alone_a[0], together[0],
                "{a:?} from two providers is one track"
            );
            assert_eq!(
                alone_b[0], together[1],
                "{b:?} from two providers is one track"
            );
        }
        let titles: Vec<(String,)> = sqlx::query_as("SELECT title FROM tracks ORDER BY title")
            .fetch_all(pool)
            .await
            .expect("titles");
        assert_eq!(
            titles.len(),
            2 * DIFFERENT_SONGS_SHARING_A_SEGMENT.len(),
            "{titles:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_results_of_one_answer_are_one_track_only_when_the_provider_gives_one_isrc() {
    with_db(|pool| async move {
        let pool = &pool;
        // Two videos of one song (an MV and a live clip): YouTube says two recordings.
        let videos = save(
            pool,
            &[
                iu(ProviderName::Youtube, "mv", "Love poem", None, None),
                iu(ProviderName::Youtube, "live", "Love poem", None, None),
            ],
        )
        .await;
        assert_ne!(videos[0], videos[1]);
        // Two Deezer entries of one song with durations alike but no ISRC: still two.
        let entries = save(
            pool,
            &[
                iu(ProviderName::Deezer, "1", "Celebrity", None, Some(195_000)),
                iu(ProviderName::Deezer, "2", "Celebrity", None, Some(195_500)),
            ],
        )
        .await;
        assert_ne!(entries[0], entries[1]);
        // Two Spotify entries (single and album) with one ISRC: one recording, two links.
        let releases = save(
            pool,
            &[
                iu(
                    ProviderName::Spotify,
                    "single",
                    "strawberry moon",
                    Some("KRA302100123"),
                    Some(205_000),
                ),
                iu(
                    ProviderName::Spotify,
                    "album",
                    "strawberry moon",
                    Some("KRA302100123"),
                    Some(205_000),
                ),
            ],
        )
        .await;
        assert_eq!(releases[0], releases[1]);
        assert_eq!(count(pool, "SELECT count(*) FROM tracks").await, 5);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_song_from_two_providers_stays_one_track() {
    with_db(|pool| async move {
        let pool = &pool;
        // (first provider's result, second provider's result, why they are one song)
        let pairs = [
            (
                iu(
                    ProviderName::Spotify,
                    "s1",
                    "Blueming",
                    Some("KRA381901234"),
                    Some(217_000),
                ),
                iu(
                    ProviderName::Deezer,
                    "d1",
                    "Blueming",
                    Some("KRA381901234"),
                    Some(217_000),
                ),
                "the same ISRC",
            ),
            (
                iu(
                    ProviderName::Spotify,
                    "s2",
                    "Palette (feat. G-DRAGON)",
                    None,
                    Some(217_800),
                ),
                iu(ProviderName::Deezer, "d2", "Palette", None, Some(218_000)),
                "title, artist and duration",
            ),
            (
                iu(ProviderName::Spotify, "s3", "좋은 날", None, Some(233_000)),
                iu(ProviderName::Youtube, "y3", "Good Day(좋은 날)", None, None),
                "a translated title, the other provider knowing no duration",
            ),
            (
                iu(ProviderName::Deezer, "d4", "Love poem", None, Some(258_000)),
                iu(
                    ProviderName::Musicbrainz,
                    "m4",
                    "Love Poem",
                    None,
                    Some(259_000),
                ),
                "title in other case, artist and duration",
            ),
        ];
        for (first, second, why) in &pairs {
            let a = save(pool, std::slice::from_ref(first)).await;
            let b = save(pool, std::slice::from_ref(second)).await;
            assert_eq!(
                a, b,
                "{} and {} are one track by {why}",
                first.title, second.title
            );
        }
        assert_eq!(
            count(pool, "SELECT count(*) FROM tracks").await,
            pairs.len() as i64
        );
    })
    .await;
}
