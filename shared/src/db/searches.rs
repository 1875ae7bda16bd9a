//! Search jobs in Postgres: creating (or joining) a job, reading it back as the API shows it,
//! and the worker's state transitions. Every transition is conditional on the current state,
//! so a redelivered message or a second worker changes nothing that is already decided.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::{postgres::PgArguments, query::QueryAs, types::Json, PgExecutor, PgPool, Postgres};
use uuid::Uuid;

use crate::domain::{
    Attempt, NormalizedQuery, ProviderTrack, Query, ResultLimit, SearchError, SearchStatus,
    SearchType, SearchView,
};

use super::tracks;
use crate::metric_families;

/// A search to be created.
#[derive(Debug, Clone)]
pub struct NewSearch {
    pub id: Uuid,
    pub query: Query,
    pub normalized: NormalizedQuery,
    pub search_type: SearchType,
    pub limit: ResultLimit,
    pub deadline_at: DateTime<Utc>,
}

impl NewSearch {
    /// Binds the search's columns as `$1`-`$6` of `query`: id, query, normalized query, type,
    /// result limit and deadline, in that order.
    pub(crate) fn bind_to<'q, O>(
        &'q self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments> {
        query
            .bind(self.id)
            .bind(self.query.as_str())
            .bind(self.normalized.as_str())
            .bind(self.search_type.as_str())
            .bind(i16::from(self.limit.get()))
            .bind(self.deadline_at)
    }
}

/// What `create_or_join` did.
#[derive(Debug, Clone)]
pub enum Enqueued {
    /// A new job row, as the API shows it (read back by the insert itself); its message
    /// still has to be published.
    Created(Box<SearchView>),
    /// The same normalized search was already queued or running, or finished with an answer
    /// after this request arrived: share its job (and its stored answer).
    Joined(Uuid),
}

impl Enqueued {
    pub fn id(&self) -> Uuid {
        match self {
            Enqueued::Created(view) => view.id,
            Enqueued::Joined(id) => *id,
        }
    }
}

/// Inserts a queued job, or returns the in-flight job of the same normalized search, or its
/// answer stored less than `fresh_secs` ago (the catalog's freshness, `search.cache_ttl_secs`).
/// The unique partial index `searches_in_flight` makes this hold across any number of API
/// processes.
///
/// One statement, so one snapshot answers both lookups: the identical job is in it either
/// still in flight (joined) or already final with its answer (joined, if fresh). No job can
/// slip between the two looks, as it could when they were separate statements. Freshness, not
/// "finished after this request arrived", decides: a job's `finished_at` is its transaction's
/// start, which can precede a request that still missed its commit. A stale answer being
/// refreshed does not count, so its refresh is queued. Only when neither is found is the job
/// inserted; an identical insert racing ours makes ours a no-op, and the next try joins it.
/// The inserted row comes back as the API shows it, so the 202 needs no second read.
pub async fn create_or_join(
    pool: &PgPool,
    new: &NewSearch,
    fresh_secs: u64,
) -> Result<Enqueued, sqlx::Error> {
    static CREATE_OR_JOIN: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH found AS (
                 (SELECT id FROM searches
                  WHERE normalized_query = $3 AND search_type = $4 AND result_limit = $5
                    AND status IN ('queued', 'running'))
                 UNION ALL
                 (SELECT id FROM searches
                  WHERE normalized_query = $3 AND search_type = $4 AND result_limit = $5
                    AND status = 'succeeded' AND finished_at >= now() - make_interval(secs => $7)
                  ORDER BY finished_at DESC
                  LIMIT 1)
                 LIMIT 1),
             inserted AS (
                 INSERT INTO searches (id, query, normalized_query, search_type, result_limit,
                                       deadline_at)
                 SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM found)
                 ON CONFLICT (normalized_query, search_type, result_limit)
                     WHERE status IN ('queued', 'running')
                 DO NOTHING
                 RETURNING *)
             SELECT id, NULL::jsonb FROM found
             UNION ALL
             SELECT s.id, {} FROM inserted s",
            row_json("'[]'::jsonb")
        )
    });
    // A racing identical job can finish between its conflict with ours and our next look;
    // then try again.
    for _ in 0..3 {
        let outcome: Option<(Uuid, Option<Json<SearchRow>>)> = new
            .bind_to(sqlx::query_as(CREATE_OR_JOIN.as_str()))
            .bind(fresh_secs as f64)
            .fetch_optional(pool)
            .await?;
        match outcome {
            Some((_, Some(created))) => {
                return Ok(Enqueued::Created(Box::new(SearchView::from(created.0))))
            }
            Some((id, None)) => return Ok(Enqueued::Joined(id)),
            None => continue,
        }
    }
    Err(sqlx::Error::Protocol(
        "in-flight search kept finishing while joining it".into(),
    ))
}

/// Records that the broker confirmed the job's message.
pub async fn mark_published(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    mark_published_all(pool, &[id]).await
}

/// Records that the broker confirmed the messages of these jobs, in one statement.
///
/// Committed without waiting for the WAL flush (`synchronous_commit` off for its own
/// transaction, as [`claim`] does): the record only spares the sweeper a second publish, so
/// one lost to a Postgres crash costs a duplicate message, which the worker tolerates (it
/// finds the job taken or final). It is written once per search, or per batch under load,
/// and a flush there competed for the disk with the flushes the path waits on (the job's row,
/// the answer).
pub async fn mark_published_all(pool: &PgPool, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH record AS (SELECT set_config('synchronous_commit', 'off', true))
         UPDATE searches SET published_at = now(), message_due_at = now()
         FROM record
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(())
}

/// A search as read for the API: the JSON object of [`row_json`], which [`view`] reads and a
/// finished search's notification carries.
#[derive(Debug, serde::Deserialize)]
struct SearchRow {
    id: Uuid,
    query: String,
    status: SearchStatus,
    source: Option<String>,
    attempts: Json<Vec<Attempt>>,
    error_code: Option<String>,
    error_message: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    results: Json<Vec<tracks::TrackRow>>,
}

impl From<SearchRow> for SearchView {
    fn from(row: SearchRow) -> SearchView {
        SearchView {
            id: row.id,
            query: row.query,
            search_type: SearchType::Track,
            status: row.status,
            source: row.source,
            attempts: row.attempts.0,
            created_at: row.created_at,
            finished_at: row.finished_at,
            error: row.error_code.map(|code| SearchError {
                code,
                message: row.error_message.unwrap_or_default(),
            }),
            results: tracks::from_results(row.results),
        }
    }
}

/// The search `s` as one JSON object of [`SearchRow`]'s fields, with `results` the SQL of its
/// result list's JSON.
fn row_json(results: &str) -> String {
    format!(
        "jsonb_build_object('id', s.id, 'query', s.query, 'status', s.status,
             'source', s.source, 'attempts', s.attempts, 'error_code', s.error_code,
             'error_message', s.error_message, 'created_at', s.created_at,
             'finished_at', s.finished_at, 'results', {results})"
    )
}

/// The payload of the notification that the search `s` is final: the search as the API shows
/// it ([`row_json`]), so a waiting long-poll answers without reading it back; or, when that is
/// too long for a notification (8000 bytes), its id alone. (`OFFSET 0` keeps the planner from
/// inlining the subquery, which would build the JSON once per mention.)
fn done_payload(results: &str) -> String {
    format!(
        "(SELECT CASE WHEN octet_length(j.v) < 8000 THEN j.v ELSE s.id::text END
          FROM (SELECT ({})::text AS v OFFSET 0) AS j)",
        row_json(results)
    )
}

/// What a `search_done` notification says.
#[derive(Debug)]
pub enum Finished {
    /// The finished search, as the API shows it.
    View(SearchView),
    /// Its id alone (a view too long for a notification, or a search expired in bulk): read
    /// it with [`view`].
    Id(Uuid),
}

/// Reads a `search_done` notification's payload.
pub fn read_finished(payload: &str) -> Result<Finished, serde_json::Error> {
    if let Ok(id) = payload.parse::<Uuid>() {
        return Ok(Finished::Id(id));
    }
    let row: SearchRow = serde_json::from_str(payload)?;
    Ok(Finished::View(row.into()))
}

/// The search as the API shows it, with its results in order (one round trip), read in the
/// form a finished search's notification carries ([`row_json`]), so the two cannot differ.
pub async fn view(pool: &PgPool, id: Uuid) -> Result<Option<SearchView>, sqlx::Error> {
    static VIEW: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM searches s WHERE id = $1",
            row_json(&format!(
                "CASE WHEN s.status = 'succeeded' THEN {} ELSE '[]' END",
                tracks::RESULTS_JSON.as_str()
            ))
        )
    });
    let row: Option<Json<SearchRow>> = sqlx::query_scalar(VIEW.as_str())
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| SearchView::from(row.0)))
}

/// The current status of a search, if it exists.
pub async fn status(pool: &PgPool, id: Uuid) -> Result<Option<SearchStatus>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM searches WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A job the worker now owns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub query: String,
    pub normalized_query: String,
    pub result_limit: i16,
    pub deadline_at: DateTime<Utc>,
    pub attempts: Json<Vec<Attempt>>,
    /// This claim's lease, for [`extend_lease`].
    pub lease_owner: Uuid,
}

/// What happened when a worker tried to take a job.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The worker owns the job until its lease ends.
    Claimed(ClaimedJob),
    /// Succeeded or failed already: a redelivery; ack and do nothing.
    Final,
    /// Another worker holds a live lease until then.
    Leased { until: DateTime<Utc> },
    /// No such job (deleted, or another database).
    Missing,
}

/// Takes a queued job, or a running one whose lease expired, for `lease_secs`, under a new
/// lease owner.
///
/// A claim is a lease, not an answer: it is committed without waiting for the WAL flush
/// (`synchronous_commit` off for its own transaction only, set by the statement itself). A
/// claim or renewal lost to a Postgres crash (the only way an acknowledged commit can be lost
/// so) costs at most a second run of the job: the row reads as before, the sweeper hands the
/// job out again, and the first worker's next renewal fails, so it stops before another
/// provider call. What must survive is committed synchronously: the job's row (before the API
/// answers 202) and its answer (before the message is acked), whose flush also carries every
/// earlier write of the connection. The claim is in the path of every search, and a WAL flush
/// adds about 0.13 ms to it on this machine's idle disk and over 3 ms while the disk is busy
/// (`docs/BENCHMARKS.md`).
pub async fn claim(pool: &PgPool, id: Uuid, lease_secs: u64) -> Result<Claim, sqlx::Error> {
    let claimed: Option<ClaimedJob> = sqlx::query_as(
        "WITH lease_write AS (SELECT set_config('synchronous_commit', 'off', true))
         UPDATE searches
         SET status = 'running',
             started_at = COALESCE(started_at, now()),
             lease_until = now() + make_interval(secs => $2),
             lease_owner = $3
         FROM lease_write
         WHERE id = $1
           AND (status = 'queued' OR (status = 'running' AND lease_until < now()))
         RETURNING id, query, normalized_query, result_limit, deadline_at, attempts, lease_owner",
    )
    .bind(id)
    .bind(lease_secs as f64)
    .bind(Uuid::new_v4())
    .fetch_optional(pool)
    .await?;
    if let Some(job) = claimed {
        return Ok(Claim::Claimed(job));
    }
    let current: Option<(SearchStatus, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT status, lease_until FROM searches WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(match current {
        None => Claim::Missing,
        Some((status, _)) if status.is_final() => Claim::Final,
        Some((_, until)) => Claim::Leased {
            until: until.unwrap_or_else(Utc::now),
        },
    })
}

/// Extends the lease of a running job for `lease_secs` from now, if `owner` still holds it.
/// `false` when it does not: the job finished, or another worker took it over after the lease
/// ran out. Committed without waiting for the WAL flush, as [`claim`] is.
pub async fn extend_lease(
    pool: &PgPool,
    id: Uuid,
    owner: Uuid,
    lease_secs: u64,
) -> Result<bool, sqlx::Error> {
    let extended = sqlx::query(
        "WITH lease_write AS (SELECT set_config('synchronous_commit', 'off', true))
         UPDATE searches SET lease_until = now() + make_interval(secs => $3)
         FROM lease_write
         WHERE id = $1 AND status = 'running' AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(lease_secs as f64)
    .execute(pool)
    .await?;
    Ok(extended.rows_affected() == 1)
}

async fn notify_done(
    executor: impl PgExecutor<'_>,
    channel: &str,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(id.to_string())
        .execute(executor)
        .await?;
    Ok(())
}

/// How a finishing transition went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// This call finished the job.
    Done,
    /// The job was already final; nothing was written.
    AlreadyFinal,
}

/// Stores the answer in one transaction: the job's final state and a notification for
/// long-polls, the tracks (deduplicated into the catalog) and the ordered result list.
///
/// The final state is written first: that conditional update takes the row's lock for the
/// rest of the transaction and says whether the job was still open (a job already final rolls
/// back untouched). The notification carries the finished search (`done_payload`), so it is
/// queued by the last statement, the one that writes the result list (or by the first, for an
/// answer with no results); it is sent at commit, so what it says is committed.
pub async fn succeed(
    pool: &PgPool,
    channel: &str,
    id: Uuid,
    source: &str,
    new_attempts: &[Attempt],
    found: &[ProviderTrack],
) -> Result<Finish, sqlx::Error> {
    static FINAL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH s AS (
                 UPDATE searches
                 SET status = 'succeeded', source = $2, attempts = attempts || $3,
                     finished_at = now(), lease_until = NULL, error_code = NULL,
                     error_message = NULL
                 WHERE id = $1 AND status IN ('queued', 'running')
                 RETURNING *)
             SELECT EXTRACT(EPOCH FROM s.finished_at - s.created_at)::float8
             FROM s LEFT JOIN LATERAL (SELECT pg_notify($4, {}) WHERE $5) AS n ON true",
            done_payload("'[]'::jsonb")
        )
    });
    static LISTED: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH listed AS (
                 INSERT INTO search_results (search_id, position, track_id)
                 SELECT $1, p, t FROM UNNEST($2::smallint[], $3::uuid[]) AS u(p, t)
                 ON CONFLICT DO NOTHING)
             SELECT pg_notify($4, {}) FROM searches s WHERE s.id = $1",
            done_payload(&tracks::listed_json("$3"))
        )
    });
    let mut tx = pool.begin().await?;
    let took: Option<f64> = sqlx::query_scalar(FINAL.as_str())
        .bind(id)
        .bind(source)
        .bind(Json(new_attempts))
        .bind(channel)
        .bind(found.is_empty())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(took) = took else {
        return Ok(Finish::AlreadyFinal);
    };
    if !found.is_empty() {
        let track_ids = tracks::upsert_all(&mut tx, found).await?.ids;
        let mut seen = std::collections::HashSet::new();
        let ordered: Vec<Uuid> = track_ids.into_iter().filter(|t| seen.insert(*t)).collect();
        let positions: Vec<i16> = (0..ordered.len())
            .map(|p| i16::try_from(p).unwrap_or(i16::MAX))
            .collect();
        sqlx::query(LISTED.as_str())
            .bind(id)
            .bind(&positions)
            .bind(&ordered)
            .bind(channel)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    record_final("succeeded", took);
    Ok(Finish::Done)
}

/// Fails the job for good with an error code and message (one statement: the conditional
/// update and its notification, which carries the failed search).
pub async fn fail(
    pool: &PgPool,
    channel: &str,
    id: Uuid,
    new_attempts: &[Attempt],
    error: &SearchError,
) -> Result<Finish, sqlx::Error> {
    static FAIL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH s AS (
                 UPDATE searches
                 SET status = 'failed', attempts = attempts || $2, error_code = $3,
                     error_message = $4, finished_at = now(), lease_until = NULL
                 WHERE id = $1 AND status IN ('queued', 'running')
                 RETURNING *)
             SELECT EXTRACT(EPOCH FROM s.finished_at - s.created_at)::float8
             FROM s CROSS JOIN LATERAL (SELECT pg_notify($5, {})) AS n",
            done_payload("'[]'::jsonb")
        )
    });
    let took: Option<f64> = sqlx::query_scalar(FAIL.as_str())
        .bind(id)
        .bind(Json(new_attempts))
        .bind(&error.code)
        .bind(&error.message)
        .bind(channel)
        .fetch_optional(pool)
        .await?;
    let Some(took) = took else {
        return Ok(Finish::AlreadyFinal);
    };
    record_final("failed", took);
    Ok(Finish::Done)
}

/// Counts a search job that just reached its final state, and how long it took from the
/// POST that created it. Recorded here, where the final state is committed, so every path
/// (answered, failed, expired by the sweeper, refused by the broker) counts once.
fn record_final(status: &'static str, seconds: f64) {
    metrics::counter!(metric_families::JOBS_FINISHED, "kind" => "search", "status" => status)
        .increment(1);
    metrics::histogram!(metric_families::SEARCH_LATENCY, "status" => status)
        .record(seconds.max(0.0));
}

/// Hands a running job back to the queue state after its retry message was published (it is
/// back on the work queue at `due`), keeping the attempts made so far visible to the user.
pub async fn requeue(
    pool: &PgPool,
    id: Uuid,
    new_attempts: &[Attempt],
    due: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE searches
         SET status = 'queued', attempts = attempts || $2, lease_until = NULL, lease_owner = NULL,
             published_at = now(), message_due_at = $3
         WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(Json(new_attempts))
    .bind(due)
    .execute(pool)
    .await?;
    Ok(())
}

/// Fails every open job past its deadline that no worker is holding, and returns their ids.
pub async fn expire_overdue(pool: &PgPool, channel: &str) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let expired: Vec<(Uuid, f64)> = sqlx::query_as(
        "UPDATE searches
         SET status = 'failed', error_code = 'deadline_exceeded',
             error_message = 'The search was not answered before its deadline.',
             finished_at = now(), lease_until = NULL
         WHERE id IN (
             SELECT id FROM searches
             WHERE status IN ('queued', 'running') AND deadline_at < now()
               AND (lease_until IS NULL OR lease_until < now())
             FOR UPDATE SKIP LOCKED LIMIT 500)
         RETURNING id, EXTRACT(EPOCH FROM finished_at - created_at)::float8",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, _) in &expired {
        notify_done(&mut *tx, channel, *id).await?;
    }
    tx.commit().await?;
    Ok(expired
        .into_iter()
        .map(|(id, took)| {
            record_final("failed", took);
            id
        })
        .collect())
}

/// A job whose message may be missing and should be published again.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stranded {
    pub id: Uuid,
    pub query: String,
    pub normalized_query: String,
    pub result_limit: i16,
    pub deadline_at: DateTime<Utc>,
}

/// Jobs left without a live message: queued but never confirmed by the broker for
/// `unpublished_secs` (the API died between commit and publish), or running with an expired
/// lease (the worker died). They are set back to queued and returned for re-publishing.
pub async fn reclaim_stranded(
    pool: &PgPool,
    unpublished_secs: u64,
) -> Result<Vec<Stranded>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE searches
         SET status = 'queued', lease_until = NULL, lease_owner = NULL,
             published_at = now(), message_due_at = now()
         WHERE id IN (
             SELECT id FROM searches
             WHERE deadline_at > now() AND (
                   (status = 'queued' AND published_at IS NULL
                        AND created_at < now() - make_interval(secs => $1))
                OR (status = 'running' AND lease_until < now()))
             FOR UPDATE SKIP LOCKED LIMIT 500)
         RETURNING id, query, normalized_query, result_limit, deadline_at",
    )
    .bind(unpublished_secs as f64)
    .fetch_all(pool)
    .await
}

/// Queued jobs whose message was due back on the work queue more than `lost_after_secs` ago
/// and that nobody has claimed since: the message was lost after the broker confirmed it (a
/// delay queue's dead-lettering is at most once; a queue can be purged or deleted). They are
/// marked as published now and returned for re-publishing. The row is the truth: a duplicate
/// message finds the job taken or final and changes nothing.
pub async fn reclaim_lost(
    pool: &PgPool,
    lost_after_secs: u64,
) -> Result<Vec<Stranded>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE searches
         SET published_at = now(), message_due_at = now()
         WHERE id IN (
             SELECT id FROM searches
             WHERE status = 'queued' AND deadline_at > now()
               AND message_due_at < now() - make_interval(secs => $1)
             FOR UPDATE SKIP LOCKED LIMIT 500)
         RETURNING id, query, normalized_query, result_limit, deadline_at",
    )
    .bind(lost_after_secs as f64)
    .fetch_all(pool)
    .await
}

/// Marks a queued job as having no confirmed message, so the next sweep publishes it again.
pub async fn mark_unpublished(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE searches SET published_at = NULL WHERE id = $1 AND status = 'queued'")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
