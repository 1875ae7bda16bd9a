//! Answers from our own catalog, so that over time fewer searches reach a provider.
//!
//! Two ways a search is answered without an upstream call:
//! - the same normalized search (type and limit too) was answered before: its stored answer is
//!   served, flagged stale when older than the cache TTL (the caller then refreshes it);
//! - the query names tracks we hold (see `domain::catalog_match`): a title and artist in any
//!   order, spacing or punctuation; a title alone, when earlier answers are evidence which
//!   songs it means; or either of them one typo away. Anything less — a partial title, an
//!   extra word, two typos — goes upstream, because a wrong answer from the catalog is worse
//!   than an upstream call.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::{types::Json, PgPool};
use uuid::Uuid;

use super::{searches::NewSearch, tracks};
use crate::domain::{
    catalog_match::{self, Candidate, MatchKind, MIN_TITLE_DEMAND},
    song_identity, SearchStatus, SearchType, SearchView, Track,
};

/// A stored answer and whether it is past the cache TTL.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub view: SearchView,
    pub stale: bool,
    /// How long it stays fresh (zero when stale).
    pub fresh_for: std::time::Duration,
}

#[derive(Debug, sqlx::FromRow)]
struct AnswerRow {
    id: Uuid,
    query: String,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    stale: bool,
    fresh_for_ms: f64,
    results: Json<Vec<tracks::TrackRow>>,
}

/// The newest answer to the same normalized search, if any, with its results (one round trip).
pub async fn stored_answer(
    pool: &PgPool,
    new: &NewSearch,
    ttl_secs: u64,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    static NEWEST_ANSWER: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT id, query, created_at, finished_at,
                    finished_at < now() - make_interval(secs => $4) AS stale,
                    (GREATEST(extract(epoch FROM finished_at + make_interval(secs => $4) - now()),
                              0) * 1000)::float8 AS fresh_for_ms,
                    {} AS results
             FROM searches s
             WHERE normalized_query = $1 AND search_type = $2 AND result_limit = $3
               AND status = 'succeeded'
             ORDER BY finished_at DESC
             LIMIT 1",
            tracks::RESULTS_JSON
        )
    });
    let row: Option<AnswerRow> = sqlx::query_as(NEWEST_ANSWER.as_str())
        .bind(new.normalized.as_str())
        .bind(new.search_type.as_str())
        .bind(i16::from(new.limit.get()))
        .bind(ttl_secs as f64)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let results = tracks::from_results(row.results);
    Ok(Some(StoredAnswer {
        view: catalog_view(row.id, row.query, row.created_at, row.finished_at, results),
        stale: row.stale,
        fresh_for: std::time::Duration::from_millis(row.fresh_for_ms.max(0.0) as u64),
    }))
}

/// How many tracks the index may offer one query: more than any answer holds, few enough to
/// read in one round trip.
const MAX_CANDIDATES: i64 = 100;
/// Earlier answers counted per track: enough to pass [`MIN_TITLE_DEMAND`] and to rank the
/// tracks of one title, without counting every answer of a popular song.
const DEMAND_CAP: i64 = 10;
const _: () = assert!(DEMAND_CAP >= MIN_TITLE_DEMAND);

/// Tracks the query names (see [`catalog_match`]): a title and artist, a title alone the
/// catalog has evidence for, or either one typo away; at most `limit`, and how they matched.
/// `None`: no confident answer, the search goes upstream.
pub async fn named_by_query(
    pool: &PgPool,
    new: &NewSearch,
) -> Result<Option<(MatchKind, Vec<Track>)>, sqlx::Error> {
    let key = song_identity::query_identity(new.normalized.as_str());
    if key.is_empty() {
        return Ok(None);
    }
    let found = tracks::candidates(pool, &key, MAX_CANDIDATES, DEMAND_CAP).await?;
    let (tracks, candidates): (Vec<Track>, Vec<Candidate>) = found.into_iter().unzip();
    let Some((kind, chosen)) = catalog_match::choose(&key, &candidates) else {
        return Ok(None);
    };
    let mut tracks: Vec<Option<Track>> = tracks.into_iter().map(Some).collect();
    let answer = chosen
        .into_iter()
        .filter_map(|i| tracks[i].take())
        .take(usize::from(new.limit.get()))
        .collect();
    Ok(Some((kind, answer)))
}

/// Records a confident catalog answer as a finished search (so its id can be polled and the
/// same phrasing is an exact repeat next time) and returns it.
pub async fn record_answer(
    pool: &PgPool,
    new: &NewSearch,
    results: Vec<Track>,
) -> Result<SearchView, sqlx::Error> {
    let track_ids: Vec<Uuid> = results.iter().map(|t| t.id).collect();
    let (created_at, finished_at): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "WITH s AS (
             INSERT INTO searches (id, query, normalized_query, search_type, result_limit,
                                   status, source, deadline_at, published_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, 'succeeded', 'catalog', $6, now(), now())
             RETURNING id, created_at, finished_at),
         r AS (
             INSERT INTO search_results (search_id, position, track_id)
             SELECT s.id, (t.ord - 1)::smallint, t.id
             FROM s, unnest($7::uuid[]) WITH ORDINALITY AS t(id, ord))
         SELECT created_at, finished_at FROM s",
    )
    .bind(new.id)
    .bind(new.query.as_str())
    .bind(new.normalized.as_str())
    .bind(new.search_type.as_str())
    .bind(i16::from(new.limit.get()))
    .bind(new.deadline_at)
    .bind(&track_ids)
    .fetch_one(pool)
    .await?;
    Ok(catalog_view(
        new.id,
        new.query.as_str().to_string(),
        created_at,
        Some(finished_at),
        results,
    ))
}

fn catalog_view(
    id: Uuid,
    query: String,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    results: Vec<Track>,
) -> SearchView {
    SearchView {
        id,
        query,
        search_type: SearchType::Track,
        status: SearchStatus::Succeeded,
        source: Some("catalog".into()),
        attempts: Vec::new(),
        created_at,
        finished_at,
        error: None,
        results,
    }
}
