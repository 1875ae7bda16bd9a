//! The new-release crawl, end to end: root listings fan out into album and track pages, every
//! new song lands in the catalog once with its ISRC, a second crawl adds nothing, and a crawl
//! whose worker is killed midway still completes without duplicates.

mod support;

use std::time::Duration;

use muze_shared::db::crawls::CrawlStatus;
use serde_json::{json, Value};
use support::{Options, System};

const CRAWL_TIMEOUT: Duration = Duration::from_secs(120);

/// Asserts every released song is in the catalog exactly once, with its ISRC and a link to
/// both crawled providers, and that the catalog holds nothing else.
async fn assert_catalog_holds_each_once(pool: &sqlx::PgPool, songs: &[Value]) {
    for song in songs {
        let isrc = song["isrc"].as_str().expect("isrc");
        let rows: Vec<(uuid::Uuid, String)> =
            sqlx::query_as("SELECT id, title FROM tracks WHERE isrc = $1")
                .bind(isrc)
                .fetch_all(pool)
                .await
                .expect("query");
        assert_eq!(rows.len(), 1, "{isrc} stored once: {rows:?}");
        assert_eq!(rows[0].1, song["title"].as_str().expect("title"));
        let providers: Vec<(String, String)> = sqlx::query_as(
            "SELECT provider, provider_id FROM track_links WHERE track_id = $1 ORDER BY provider",
        )
        .bind(rows[0].0)
        .fetch_all(pool)
        .await
        .expect("links");
        assert_eq!(
            providers,
            vec![
                ("deezer".to_string(), song["deezer_id"].to_string()),
                (
                    "spotify".to_string(),
                    song["spotify_id"].as_str().expect("id").to_string()
                ),
            ],
            "{isrc} linked to both providers"
        );
    }
    let (tracks, without_isrc): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE isrc IS NULL) FROM tracks")
            .fetch_one(pool)
            .await
            .expect("count");
    assert_eq!(tracks, songs.len() as i64, "nothing but the new releases");
    assert_eq!(without_isrc, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_stores_every_new_track_once_and_a_second_crawl_adds_nothing() {
    let system = System::start(Options::default()).await;
    let pool = system.db().await;
    let songs = system.add_releases(4, 5).await;
    assert_eq!(songs.len(), 20);

    let first = system.start_crawl(&pool).await;
    let view = system.wait_crawl(&pool, first, CRAWL_TIMEOUT).await;
    assert_eq!(view.status, CrawlStatus::Succeeded, "{view:?}");
    assert_eq!(view.tracks_added, 20, "{view:?}");
    assert_eq!(view.pages.failed, 0);
    // Spotify: the tag:new page, 4 album pages, 20 track pages; Deezer: releases, chart, and
    // the 4 albums once although both listings name them.
    assert_eq!(view.pages.total, 1 + 4 + 20 + 2 + 4, "{view:?}");
    assert_catalog_holds_each_once(&pool, &songs).await;
    let details_calls = system.sim_calls("spotify", "/v1/tracks/{id}").await;
    assert_eq!(details_calls, 20);

    let second = system.start_crawl(&pool).await;
    let view = system.wait_crawl(&pool, second, CRAWL_TIMEOUT).await;
    assert_eq!(view.status, CrawlStatus::Succeeded, "{view:?}");
    assert_eq!(
        view.tracks_added, 0,
        "nothing new the second time: {view:?}"
    );
    assert_catalog_holds_each_once(&pool, &songs).await;
    assert_eq!(
        system.sim_calls("spotify", "/v1/tracks/{id}").await,
        details_calls,
        "tracks already in the catalog with an ISRC are not fetched again"
    );
    assert_eq!(system.sim_stats().await["total_violations"], 0);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_whose_worker_is_killed_completes_without_duplicates() {
    let mut system = System::start(Options {
        workers: 0,
        sim_latency_ms: 50,
        extra_env: vec![
            // Slow enough that the crawl is still running when its worker dies.
            (
                "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                "10/2s".into(),
            ),
            (
                "MUZE__PROVIDERS__SPOTIFY__RESERVE_PERCENT".into(),
                "0".into(),
            ),
            ("MUZE__PROVIDERS__SPOTIFY__ADAPTIVE".into(), "false".into()),
            ("MUZE__WORKER__LEASE_SECS".into(), "3".into()),
        ],
        ..Options::default()
    })
    .await;
    system
        .sim_control(
            "spotify",
            json!({"limit": {"calls": 10, "window_ms": 2_000}}),
        )
        .await;
    let pool = system.db().await;
    let songs = system.add_releases(5, 6).await;
    let worker = system.spawn_worker_process().await;
    let crawl = system.start_crawl(&pool).await;

    // Kill the worker once part of the crawl is done, with pages in flight.
    let started = std::time::Instant::now();
    loop {
        let view = system.wait_crawl(&pool, crawl, Duration::ZERO).await;
        assert_eq!(
            view.status,
            CrawlStatus::Running,
            "crawl ended before the kill"
        );
        if view.pages.done >= 12 {
            break;
        }
        assert!(started.elapsed() < CRAWL_TIMEOUT, "crawl made no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    system.kill_process(worker);
    let at_kill = system.wait_crawl(&pool, crawl, Duration::ZERO).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    system.spawn_worker_process().await;

    let view = system.wait_crawl(&pool, crawl, CRAWL_TIMEOUT).await;
    assert_eq!(view.status, CrawlStatus::Succeeded, "{view:?}");
    assert!(
        at_kill.pages.done < view.pages.done,
        "{at_kill:?} → {view:?}"
    );
    assert_eq!(view.tracks_added, 30, "{view:?}");
    assert_catalog_holds_each_once(&pool, &songs).await;
    assert_eq!(system.sim_stats().await["total_violations"], 0);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pages_are_retried_then_reported_and_the_crawl_still_ends() {
    let system = System::start(Options {
        // Keep Deezer's circuit closed so every retry reaches it.
        extra_env: vec![(
            "MUZE__PROVIDERS__DEEZER__BREAKER_FAILURES".into(),
            "100".into(),
        )],
        ..Options::default()
    })
    .await;
    let pool = system.db().await;
    let songs = system.add_releases(2, 3).await;
    // Deezer is down for the whole crawl: its pages are retried, then fail for good.
    system
        .sim_control("deezer", json!({"fault": "outage"}))
        .await;
    let crawl = system.start_crawl(&pool).await;
    let view = system.wait_crawl(&pool, crawl, CRAWL_TIMEOUT).await;
    assert_eq!(view.status, CrawlStatus::CompletedWithErrors, "{view:?}");
    assert_eq!(view.pages.failed, 2, "the two Deezer listings: {view:?}");
    assert_eq!(
        view.tracks_added, 6,
        "Spotify's pages still stored every song"
    );
    assert!(view
        .errors
        .iter()
        .all(|e| e.page.starts_with("deezer:") && e.status == "failed" && e.failures == 3));
    let stored: (i64,) = sqlx::query_as("SELECT count(*) FROM tracks WHERE isrc IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stored.0, songs.len() as i64);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_whose_messages_were_lost_are_published_again_by_the_sweeper() {
    let mut system = System::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let pool = system.db().await;
    let songs = system.add_releases(1, 2).await;
    let crawl = system.start_crawl(&pool).await;
    // The root pages' messages vanish (say, parked after a database outage) ...
    let settings = system.settings();
    let topology =
        muze_shared::queue::Topology::new(&settings.namespace, settings.worker.delivery_limit);
    let broker = muze_shared::queue::Broker::connect(settings.amqp.url.clone(), topology.clone())
        .await
        .expect("broker");
    let channel = broker.channel().await.expect("channel");
    let purged = channel
        .queue_purge(
            topology.crawl.work.as_str().into(),
            lapin::options::QueuePurgeOptions::default(),
        )
        .await
        .expect("purge");
    assert_eq!(purged, 3, "the three root pages were queued");
    broker.close().await;
    // ... long enough ago that no delay queue can still hold them.
    sqlx::query("UPDATE crawl_pages SET published_at = now() - interval '10 minutes'")
        .execute(&pool)
        .await
        .expect("age the pages");
    system.start_worker().await;
    let view = system.wait_crawl(&pool, crawl, CRAWL_TIMEOUT).await;
    assert_eq!(view.status, CrawlStatus::Succeeded, "{view:?}");
    assert_eq!(view.tracks_added, 2);
    assert_catalog_holds_each_once(&pool, &songs).await;
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deezer_crawl_stores_album_cover_and_release_date_for_every_track() {
    // Deezer alone: its album track lists name no album, so all of it comes from the listing.
    let system = System::start(Options {
        extra_env: vec![("MUZE__CRAWL__SOURCES".into(), "deezer".into())],
        ..Options::default()
    })
    .await;
    let pool = system.db().await;
    let songs = system.add_releases(3, 4).await;

    let crawl = system.start_crawl(&pool).await;
    let view = system.wait_crawl(&pool, crawl, CRAWL_TIMEOUT).await;

    assert_eq!(view.status, CrawlStatus::Succeeded, "{view:?}");
    assert_eq!(view.tracks_added, songs.len() as i64, "{view:?}");
    let (not_deezer,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM track_links WHERE provider <> 'deezer'")
            .fetch_one(&pool)
            .await
            .expect("links");
    assert_eq!(not_deezer, 0, "Deezer alone was crawled");
    for song in &songs {
        let isrc = song["isrc"].as_str().expect("isrc");
        let (album, image_url, release_date): (Option<String>, Option<String>, Option<String>) =
            sqlx::query_as("SELECT album, image_url, release_date FROM tracks WHERE isrc = $1")
                .bind(isrc)
                .fetch_one(&pool)
                .await
                .expect("stored");
        let album = album.unwrap_or_else(|| panic!("{isrc} has no album"));
        assert!(!album.is_empty());
        let image_url = image_url.unwrap_or_else(|| panic!("{isrc} has no cover"));
        assert!(image_url.starts_with("https://"), "{image_url}");
        assert_eq!(
            release_date.as_deref(),
            song["release_date"].as_str(),
            "{isrc} carries its album's release date"
        );
    }
    // Tracks of one album carry the same album and cover.
    let per_album: Vec<(i64,)> = sqlx::query_as(
        "SELECT count(DISTINCT (album, image_url)) FROM tracks GROUP BY release_date, album",
    )
    .fetch_all(&pool)
    .await
    .expect("albums");
    assert!(per_album.iter().all(|(n,)| *n == 1), "{per_album:?}");
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crawl_page_outliving_its_lease_is_fetched_once() {
    let system = System::start(Options {
        workers: 2,
        extra_env: vec![
            ("MUZE__CRAWL__SOURCES".into(), "deezer".into()),
            ("MUZE__WORKER__LEASE_SECS".into(), "2".into()),
            ("MUZE__WORKER__SWEEP_INTERVAL_SECS".into(), "1".into()),
            ("MUZE__PROVIDERS__DEEZER__TIMEOUT_MS".into(), "15000".into()),
        ],
        ..Options::default()
    })
    .await;
    let pool = system.db().await;
    let songs = system.add_releases(1, 2).await;
    // Each Deezer call takes 6 s: three leases' worth, during which the sweeper would hand a
    // page whose lease ran out to the other worker.
    system
        .sim_control("deezer", json!({"latency_ms": 6_000}))
        .await;
    let before = system.sim_stats().await["providers"]["deezer"]["calls"]
        .as_u64()
        .unwrap_or(0);

    let crawl = system.start_crawl(&pool).await;
    let view = system.wait_crawl(&pool, crawl, CRAWL_TIMEOUT).await;
    assert_eq!(view.status, CrawlStatus::Succeeded, "{view:?}");
    assert_eq!(view.tracks_added, songs.len() as i64, "{view:?}");
    // Give a second worker, had it taken a page over, time to make its call too.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let calls = system.sim_stats().await["providers"]["deezer"]["calls"]
        .as_u64()
        .unwrap_or(0)
        - before;
    assert_eq!(
        calls, view.pages.total as u64,
        "one Deezer call per page: {view:?}"
    );
    system.shutdown().await;
}
