//! The catalog's key lookup against the real Postgres stays on its indexes at a size where the
//! planner, left to itself, scanned every track (a few thousand tracks, fresh statistics).

use muze_shared::{
    db::tracks,
    domain::{song_identity, ProviderName, ProviderTrack},
};
use muze_testkit::World;

fn track(i: usize) -> ProviderTrack {
    ProviderTrack {
        provider: ProviderName::Spotify,
        provider_id: format!("sp{i}"),
        url: format!("https://spotify.example/track/sp{i}"),
        title: format!("Midnight Avenue Number {i}"),
        artists: vec![format!("The Lookup Band {}", i % 97)],
        album: None,
        duration_ms: Some(200_000),
        isrc: None,
        release_date: None,
        image_url: None,
    }
}

#[tokio::test]
async fn a_key_lookup_reads_the_indexes_not_every_track() {
    let world = World::new("tlookup");
    let pool = world.pool(4).await;
    for batch in 0..30 {
        let found: Vec<ProviderTrack> = (batch * 50..batch * 50 + 50).map(track).collect();
        let mut tx = pool.begin().await.expect("begin");
        tracks::upsert_all(&mut tx, &found).await.expect("upsert");
        tx.commit().await.expect("commit");
    }

    // In one transaction, whose own scan counts pg_stat_xact_user_tables reports: a known
    // song, then a miss one typo from nothing.
    let mut tx = pool.begin().await.expect("begin");
    let known = song_identity::query_identity("midnight avenue number 1234 the lookup band 70");
    let hits = tracks::candidates(&mut *tx, &known, 100, 10)
        .await
        .expect("lookup");
    assert!(
        hits.iter()
            .any(|(t, _)| t.title == "Midnight Avenue Number 1234"),
        "the named track is found: {:?}",
        hits.iter().map(|(t, _)| &t.title).collect::<Vec<_>>()
    );
    let miss = song_identity::query_identity("quiet harbour lights nobody");
    let none = tracks::candidates(&mut *tx, &miss, 100, 10)
        .await
        .expect("lookup");
    assert!(none.is_empty());
    let (seq_scans, index_scans): (i64, i64) = sqlx::query_as(
        "SELECT seq_scan, COALESCE(idx_scan, 0) FROM pg_stat_xact_user_tables
         WHERE relname = 'tracks'",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("scan counts");
    tx.rollback().await.expect("rollback");
    assert_eq!(seq_scans, 0, "a lookup read the whole catalog");
    assert!(index_scans > 0, "the lookups used no index at all");

    pool.close().await;
    world.teardown().await;
}
