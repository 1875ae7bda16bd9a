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

/// What the catalog holds for a search, looked up in one round trip.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// The newest answer to the same normalized search (type and limit too), if any.
    pub stored: Option<StoredAnswer>,
    /// When there is no stored answer, or it has no results: the tracks the query names (see
    /// [`catalog_match`]), at most `limit`, and how they matched. `None`: no confident
    /// answer; the search goes upstream.
    pub named: Option<(MatchKind, Vec<Track>)>,
}

#[derive(Debug, sqlx::FromRow)]
struct LookupRow {
    id: Option<Uuid>,
    query: Option<String>,
    created_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    stale: Option<bool>,
    fresh_for_ms: Option<f64>,
    results: Option<Json<Vec<tracks::TrackRow>>>,
    candidates: Option<Json<Vec<tracks::CandidateRow>>>,
}

/// How many tracks the index may offer one query: more than any answer holds, few enough to
/// read in one round trip.
const MAX_CANDIDATES: i64 = 100;
/// Earlier answers counted per track: enough to pass [`MIN_TITLE_DEMAND`] and to rank the
/// tracks of one title, without counting every answer of a popular song.
const DEMAND_CAP: i64 = 10;
const _: () = assert!(DEMAND_CAP >= MIN_TITLE_DEMAND);

/// The catalog's answers to `new`, in one statement: its newest stored answer (flagged stale
/// when older than `ttl_secs`), and, only when that is missing or empty, the candidate tracks
/// the query's key meets in the index ([`tracks::candidates`]), from which
/// [`catalog_match::choose`] picks the tracks the query names.
pub async fn look_up(pool: &PgPool, new: &NewSearch, ttl_secs: u64) -> Result<Lookup, sqlx::Error> {
    static LOOK_UP: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT s.id, s.query, s.created_at, s.finished_at, s.stale, s.fresh_for_ms,
                    s.results,
                    CASE WHEN $5 <> '' AND (s.results IS NULL OR s.results = '[]'::jsonb)
                         THEN {} END AS candidates
             FROM (SELECT 1) AS one
             LEFT JOIN LATERAL (
                 SELECT id, query, created_at, finished_at,
                        finished_at < now() - make_interval(secs => $4) AS stale,
                        (GREATEST(extract(epoch FROM finished_at + make_interval(secs => $4)
                                                     - now()),
                                  0) * 1000)::float8 AS fresh_for_ms,
                        {} AS results
                 FROM searches s
                 WHERE normalized_query = $1 AND search_type = $2 AND result_limit = $3
                   AND status = 'succeeded'
                 ORDER BY finished_at DESC
                 LIMIT 1) AS s ON true",
            tracks::candidates_json("$6", "$5", "$7", "$8"),
            tracks::RESULTS_JSON.as_str()
        )
    });
    let key = song_identity::query_identity(new.normalized.as_str());
    let row: LookupRow = sqlx::query_as(LOOK_UP.as_str())
        .bind(new.normalized.as_str())
        .bind(new.search_type.as_str())
        .bind(i16::from(new.limit.get()))
        .bind(ttl_secs as f64)
        .bind(&key)
        .bind(song_identity::probe(&key))
        .bind(MAX_CANDIDATES)
        .bind(DEMAND_CAP)
        .fetch_one(pool)
        .await?;
    let stored = match (row.id, row.query, row.created_at, row.results) {
        (Some(id), Some(query), Some(created_at), Some(results)) => Some(StoredAnswer {
            view: catalog_view(
                id,
                query,
                created_at,
                row.finished_at,
                tracks::from_results(results),
            ),
            stale: row.stale.unwrap_or(true),
            fresh_for: std::time::Duration::from_millis(
                row.fresh_for_ms.unwrap_or(0.0).max(0.0) as u64
            ),
        }),
        _ => None,
    };
    let named = row
        .candidates
        .and_then(|found| named(&key, tracks::from_candidates(found), new.limit.get()));
    Ok(Lookup { stored, named })
}

/// The tracks the query (its key) names among the candidates, at most `limit`.
fn named(key: &str, found: Vec<(Track, Candidate)>, limit: u8) -> Option<(MatchKind, Vec<Track>)> {
    let (tracks, candidates): (Vec<Track>, Vec<Candidate>) = found.into_iter().unzip();
    let (kind, chosen) = catalog_match::choose(key, &candidates)?;
    let mut tracks: Vec<Option<Track>> = tracks.into_iter().map(Some).collect();
    let answer = chosen
        .into_iter()
        .filter_map(|i| tracks[i].take())
        .take(usize::from(limit))
        .collect();
    Some((kind, answer))
}

/// Records a confident catalog answer as a finished search (so its id can be polled and the
/// same phrasing is an exact repeat next time) and returns it.
pub async fn record_answer(
    pool: &PgPool,
    new: &NewSearch,
    results: Vec<Track>,
) -> Result<SearchView, sqlx::Error> {
    let track_ids: Vec<Uuid> = results.iter().map(|t| t.id).collect();
    let (created_at, finished_at): (DateTime<Utc>, DateTime<Utc>) = new
        .bind_to(sqlx::query_as(
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
        ))
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
