//! The track catalog: provider results folded into one track per song, and read back with
//! every provider link.
//!
//! A provider result joins an existing track by, in order: its own provider link, its ISRC,
//! or its match key (normalized title + primary artist) with durations within
//! [`DURATION_TOLERANCE_MS`]. Concurrent writers of the same song serialize on transaction-level
//! advisory locks taken in one global order (so they cannot deadlock each other), and the unique
//! ISRC index and link primary key make a duplicate impossible even for code that skips them.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{normalize_text, ProviderName, ProviderTrack, Track};

/// Two releases of one song rarely differ by more than this (radio edits aside); different
/// songs with the same title and artist usually do.
pub const DURATION_TOLERANCE_MS: i32 = 3_000;

/// The identity of a song without an ISRC: normalized title and primary artist.
pub fn match_key(title: &str, artists: &[String]) -> String {
    let artist = artists.first().map(String::as_str).unwrap_or("");
    format!("{}\u{1f}{}", normalize_text(title), normalize_text(artist))
}

/// The text catalog search looks in: normalized title and every artist.
pub fn search_text(title: &str, artists: &[String]) -> String {
    normalize_text(&format!("{} {}", title, artists.join(" ")))
}

fn lock_keys(track: &ProviderTrack) -> Vec<String> {
    let mut keys = vec![
        format!("link:{}:{}", track.provider, track.provider_id),
        format!("match:{}", match_key(&track.title, &track.artists)),
    ];
    if let Some(isrc) = &track.isrc {
        keys.push(format!("isrc:{isrc}"));
    }
    keys
}

/// Saves provider results into the catalog and returns the track id of each, in input order.
pub async fn upsert_all(
    tx: &mut Transaction<'_, Postgres>,
    found: &[ProviderTrack],
) -> Result<Vec<Uuid>, sqlx::Error> {
    // Every lock this transaction needs, taken up front in sorted order.
    let keys: BTreeSet<String> = found.iter().flat_map(lock_keys).collect();
    for key in &keys {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    let mut ids = Vec::with_capacity(found.len());
    for track in found {
        ids.push(upsert_one(tx, track).await?);
    }
    Ok(ids)
}

async fn upsert_one(
    tx: &mut Transaction<'_, Postgres>,
    t: &ProviderTrack,
) -> Result<Uuid, sqlx::Error> {
    let linked: Option<Uuid> = sqlx::query_scalar(
        "SELECT track_id FROM track_links WHERE provider = $1 AND provider_id = $2",
    )
    .bind(t.provider.as_str())
    .bind(&t.provider_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = linked {
        fill_missing(&mut **tx, id, t).await?;
        return Ok(id);
    }
    let mut existing: Option<Uuid> = None;
    if let Some(isrc) = &t.isrc {
        existing = sqlx::query_scalar("SELECT id FROM tracks WHERE isrc = $1")
            .bind(isrc)
            .fetch_optional(&mut **tx)
            .await?;
    }
    let key = match_key(&t.title, &t.artists);
    if existing.is_none() {
        existing = sqlx::query_scalar(
            "SELECT id FROM tracks
             WHERE match_key = $1
               AND ($2::int IS NULL OR duration_ms IS NULL OR abs(duration_ms - $2) <= $3)
               AND ($4::text IS NULL OR isrc IS NULL OR isrc = $4)
             ORDER BY (isrc IS NOT NULL) DESC, created_at
             LIMIT 1",
        )
        .bind(&key)
        .bind(t.duration_ms)
        .bind(DURATION_TOLERANCE_MS)
        .bind(&t.isrc)
        .fetch_optional(&mut **tx)
        .await?;
    }
    let id = match existing {
        Some(id) => {
            fill_missing(&mut **tx, id, t).await?;
            id
        }
        None => {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO tracks (id, title, artists, album, duration_ms, isrc, release_date,
                                     image_url, match_key, search_text)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id)
            .bind(&t.title)
            .bind(&t.artists)
            .bind(&t.album)
            .bind(t.duration_ms)
            .bind(&t.isrc)
            .bind(&t.release_date)
            .bind(&t.image_url)
            .bind(&key)
            .bind(search_text(&t.title, &t.artists))
            .execute(&mut **tx)
            .await?;
            id
        }
    };
    sqlx::query(
        "INSERT INTO track_links (provider, provider_id, track_id, url) VALUES ($1, $2, $3, $4)
         ON CONFLICT (provider, provider_id) DO NOTHING",
    )
    .bind(t.provider.as_str())
    .bind(&t.provider_id)
    .bind(id)
    .bind(&t.url)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Completes a track with what another provider knows and it did not. Never overwrites, and
/// never takes an ISRC another track already holds.
async fn fill_missing(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    t: &ProviderTrack,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tracks SET
             album = COALESCE(album, $2),
             duration_ms = COALESCE(duration_ms, $3),
             isrc = COALESCE(isrc, CASE WHEN NOT EXISTS (SELECT 1 FROM tracks WHERE isrc = $4)
                                        THEN $4 END),
             release_date = COALESCE(release_date, $5),
             image_url = COALESCE(image_url, $6),
             updated_at = now()
         WHERE id = $1
           AND (album IS NULL OR duration_ms IS NULL OR isrc IS NULL OR release_date IS NULL
                OR image_url IS NULL)",
    )
    .bind(id)
    .bind(&t.album)
    .bind(t.duration_ms)
    .bind(&t.isrc)
    .bind(&t.release_date)
    .bind(&t.image_url)
    .execute(executor)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct TrackRow {
    id: Uuid,
    title: String,
    artists: Vec<String>,
    album: Option<String>,
    duration_ms: Option<i32>,
    isrc: Option<String>,
    release_date: Option<String>,
    image_url: Option<String>,
    links: sqlx::types::Json<BTreeMap<String, String>>,
}

impl From<TrackRow> for Track {
    fn from(r: TrackRow) -> Track {
        Track {
            id: r.id,
            title: r.title,
            artists: r.artists,
            album: r.album,
            duration_ms: r.duration_ms,
            isrc: r.isrc,
            release_date: r.release_date,
            image_url: r.image_url,
            links: r
                .links
                .0
                .into_iter()
                .filter_map(|(p, url)| p.parse::<ProviderName>().ok().map(|p| (p, url)))
                .collect(),
        }
    }
}

/// Columns of a track with its links aggregated, for queries that join `tracks t`.
const TRACK_COLUMNS: &str = "t.id, t.title, t.artists, t.album, t.duration_ms, t.isrc,
    t.release_date, t.image_url,
    COALESCE((SELECT jsonb_object_agg(l.provider, l.url) FROM track_links l
              WHERE l.track_id = t.id), '{}'::jsonb) AS links";

/// The ordered results of a search.
pub async fn for_search(
    executor: impl PgExecutor<'_>,
    search_id: Uuid,
) -> Result<Vec<Track>, sqlx::Error> {
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM search_results r JOIN tracks t ON t.id = r.track_id
         WHERE r.search_id = $1 ORDER BY r.position"
    );
    let rows: Vec<TrackRow> = sqlx::query_as(&sql)
        .bind(search_id)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(Track::from).collect())
}

/// One track by id.
pub async fn get(executor: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Track>, sqlx::Error> {
    let sql = format!("SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.id = $1");
    let row: Option<TrackRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(row.map(Track::from))
}

/// Catalog search: tracks whose `search_text` resembles `normalized` (trigram similarity,
/// `pg_trgm`'s `%`) or contains it, exact title matches first, then the most similar. Both
/// conditions use the trigram index. `normalized` must come from [`normalize_text`], which
/// leaves no `%` or `_` to act as `LIKE` wildcards.
pub async fn search(
    executor: impl PgExecutor<'_>,
    normalized: &str,
    limit: i64,
) -> Result<Vec<Track>, sqlx::Error> {
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM tracks t
         WHERE t.search_text % $1 OR t.search_text LIKE '%' || $1 || '%'
         ORDER BY split_part(t.match_key, chr(31), 1) = $1 DESC,
                  similarity(t.search_text, $1) DESC,
                  t.id
         LIMIT $2"
    );
    let rows: Vec<TrackRow> = sqlx::query_as(&sql)
        .bind(normalized)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(Track::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_key_ignores_case_spacing_and_punctuation() {
        let a = match_key("Good  Day", &["IU".to_string()]);
        let b = match_key("good day!", &["iu".to_string(), "Other".to_string()]);
        assert_eq!(a, b);
        assert_ne!(a, match_key("Good Day", &["Someone Else".to_string()]));
    }

    #[test]
    fn search_text_holds_title_and_all_artists() {
        let text = search_text("좋은 날", &["IU".into(), "Feat. X".into()]);
        assert_eq!(text, "좋은 날 iu feat x");
    }
}
