//! New-release crawls: the parent run, its pages (child jobs), and the scheduler's ticks.
//!
//! Every page is a row before it is a message, and a page's outcome (tracks stored, child pages
//! added, status) commits in one transaction, so a crawl interrupted anywhere resumes from its
//! rows without fetching a finished page again or storing a track twice. Pages are keyed per
//! crawl ([`CrawlPage::key`]): the same album reached twice is one page.
//!
//! A tick of a schedule is fired by inserting its `(schedule, tick)` row; the primary key lets
//! exactly one scheduler replica win, and the crawl it starts is created in the same
//! transaction, so a tick is never recorded without its crawl nor a crawl started twice for it.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{types::Json, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::tracks;
use crate::{
    domain::{CrawlPage, ProviderName, ProviderTrack},
    metric_families,
};

/// Errors kept per crawl in its view.
const ERRORS_SHOWN: i64 = 20;

/// Who started a crawl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A scheduler tick.
    Schedule,
    /// An operator, through `POST /v1/admin/crawls`.
    Admin,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Admin => "admin",
        }
    }
}

/// A crawl just created: its id and the keys of its root pages, to publish.
#[derive(Debug, Clone)]
pub struct NewCrawl {
    pub id: Uuid,
    pub pages: Vec<String>,
}

/// Creates a crawl and its root pages inside `tx`.
pub async fn create_in(
    tx: &mut Transaction<'_, Postgres>,
    trigger: Trigger,
    sources: &[ProviderName],
) -> Result<NewCrawl, sqlx::Error> {
    let id = Uuid::now_v7();
    let names: Vec<&str> = sources.iter().map(|p| p.as_str()).collect();
    sqlx::query("INSERT INTO crawls (id, trigger, sources) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(trigger.as_str())
        .bind(&names)
        .execute(&mut **tx)
        .await?;
    let pages = insert_pages(tx, id, &CrawlPage::roots(sources)).await?;
    Ok(NewCrawl { id, pages })
}

/// Creates a crawl and its root pages.
pub async fn create(
    pool: &PgPool,
    trigger: Trigger,
    sources: &[ProviderName],
) -> Result<NewCrawl, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let crawl = create_in(&mut tx, trigger, sources).await?;
    tx.commit().await?;
    Ok(crawl)
}

/// Inserts pages not yet in the crawl; returns the keys of those that are new.
async fn insert_pages(
    tx: &mut Transaction<'_, Postgres>,
    crawl_id: Uuid,
    pages: &[CrawlPage],
) -> Result<Vec<String>, sqlx::Error> {
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = pages.iter().map(CrawlPage::key).collect();
    let bodies: Vec<Json<&CrawlPage>> = pages.iter().map(Json).collect();
    let inserted: Vec<(String,)> = sqlx::query_as(
        "INSERT INTO crawl_pages (crawl_id, key, page)
         SELECT $1, k, p FROM unnest($2::text[], $3::jsonb[]) AS u(k, p)
         ON CONFLICT DO NOTHING
         RETURNING key",
    )
    .bind(crawl_id)
    .bind(&keys)
    .bind(&bodies)
    .fetch_all(&mut **tx)
    .await?;
    let inserted: HashSet<String> = inserted.into_iter().map(|(k,)| k).collect();
    // Keep the input order: pages are published in the order they were found.
    Ok(keys.into_iter().filter(|k| inserted.contains(k)).collect())
}

/// Records that the broker confirmed these pages' messages.
pub async fn mark_published(
    pool: &PgPool,
    crawl_id: Uuid,
    keys: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE crawl_pages SET published_at = now()
         WHERE crawl_id = $1 AND key = ANY($2) AND published_at IS NULL",
    )
    .bind(crawl_id)
    .bind(keys)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a page's publication (the broker did not take it), so the sweeper retries it.
pub async fn mark_unpublished(pool: &PgPool, crawl_id: Uuid, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE crawl_pages SET published_at = NULL
         WHERE crawl_id = $1 AND key = $2 AND status = 'pending'",
    )
    .bind(crawl_id)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether a worker may fetch a page now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageClaim {
    /// Leased to the caller, who holds the lease as `owner`: fetch it.
    Claimed { page: CrawlPage, owner: Uuid },
    /// Done or failed already (a redelivered message).
    Finished,
    /// Another worker holds it until then.
    Leased { until: DateTime<Utc> },
    /// No such page.
    Missing,
}

/// Leases a pending page (or one whose lease expired) for `lease_secs`.
pub async fn claim_page(
    pool: &PgPool,
    crawl_id: Uuid,
    key: &str,
    lease_secs: u64,
) -> Result<PageClaim, sqlx::Error> {
    let owner = Uuid::new_v4();
    let claimed: Option<(Json<CrawlPage>,)> = sqlx::query_as(
        "UPDATE crawl_pages
         SET status = 'running', lease_until = now() + make_interval(secs => $3),
             lease_owner = $4
         WHERE crawl_id = $1 AND key = $2
           AND (status = 'pending' OR (status = 'running' AND lease_until < now()))
         RETURNING page",
    )
    .bind(crawl_id)
    .bind(key)
    .bind(lease_secs as f64)
    .bind(owner)
    .fetch_optional(pool)
    .await?;
    if let Some((Json(page),)) = claimed {
        return Ok(PageClaim::Claimed { page, owner });
    }
    let row: Option<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT status, lease_until FROM crawl_pages WHERE crawl_id = $1 AND key = $2",
    )
    .bind(crawl_id)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => PageClaim::Missing,
        Some((status, until)) if status == "running" => PageClaim::Leased {
            until: until.unwrap_or_else(Utc::now),
        },
        Some(_) => PageClaim::Finished,
    })
}

/// Extends the lease `owner` holds on a running page by `lease_secs` from now; `false` when it
/// holds it no more (the sweeper handed the page to another worker, or it is finished).
pub async fn extend_page_lease(
    pool: &PgPool,
    crawl_id: Uuid,
    key: &str,
    owner: Uuid,
    lease_secs: u64,
) -> Result<bool, sqlx::Error> {
    let extended = sqlx::query(
        "UPDATE crawl_pages SET lease_until = now() + make_interval(secs => $4)
         WHERE crawl_id = $1 AND key = $2 AND status = 'running' AND lease_owner = $3",
    )
    .bind(crawl_id)
    .bind(key)
    .bind(owner)
    .bind(lease_secs as f64)
    .execute(pool)
    .await?;
    Ok(extended.rows_affected() == 1)
}

/// Hands a leased page back without counting a failure (no budget now; it will come back
/// through a delay queue, whose message counts as published from now).
pub async fn release_page(pool: &PgPool, crawl_id: Uuid, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE crawl_pages SET status = 'pending', lease_until = NULL, published_at = now()
         WHERE crawl_id = $1 AND key = $2 AND status = 'running'",
    )
    .bind(crawl_id)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// Hands a leased page back after a failed call (it comes back through a delay queue);
/// returns the failures so far.
pub async fn record_failure(
    pool: &PgPool,
    crawl_id: Uuid,
    key: &str,
    error: &str,
) -> Result<i32, sqlx::Error> {
    let failures: Option<(i32,)> = sqlx::query_as(
        "UPDATE crawl_pages
         SET status = 'pending', lease_until = NULL, failures = failures + 1, last_error = $3,
             published_at = now()
         WHERE crawl_id = $1 AND key = $2 AND status IN ('pending', 'running')
         RETURNING failures",
    )
    .bind(crawl_id)
    .bind(key)
    .bind(error)
    .fetch_optional(pool)
    .await?;
    Ok(failures.map_or(0, |(f,)| f))
}

/// How a crawl ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrawlStatus {
    Running,
    /// Every page was fetched.
    Succeeded,
    /// Every page was tried; some failed for good (see the crawl's errors).
    CompletedWithErrors,
}

impl CrawlStatus {
    fn parse(s: &str) -> CrawlStatus {
        match s {
            "succeeded" => CrawlStatus::Succeeded,
            "completed_with_errors" => CrawlStatus::CompletedWithErrors,
            _ => CrawlStatus::Running,
        }
    }
}

/// What finishing a page changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageDone {
    /// Keys of child pages new to the crawl, to publish.
    pub children: Vec<String>,
    /// Tracks new to the catalog.
    pub tracks_added: usize,
    /// Set when this page was the crawl's last open one.
    pub crawl_finished: Option<CrawlStatus>,
}

/// Stores a fetched page in one transaction: its tracks into the catalog, its child pages,
/// its `done` state, and the crawl's end if it was the last open page. A page finished already
/// (a duplicate delivery that raced the first) changes nothing.
pub async fn complete_page(
    pool: &PgPool,
    crawl_id: Uuid,
    key: &str,
    found: &[ProviderTrack],
    children: &[CrawlPage],
) -> Result<PageDone, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Page completions of one crawl take turns, so exactly one of them sees the crawl end.
    sqlx::query("SELECT 1 FROM crawls WHERE id = $1 FOR UPDATE")
        .bind(crawl_id)
        .execute(&mut *tx)
        .await?;
    let open: Option<(String,)> = sqlx::query_as(
        "SELECT status FROM crawl_pages WHERE crawl_id = $1 AND key = $2 FOR UPDATE",
    )
    .bind(crawl_id)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    if !matches!(open, Some((ref s,)) if s == "pending" || s == "running") {
        return Ok(PageDone::default());
    }
    let upserted = tracks::upsert_all(&mut tx, found).await?;
    let new_children = insert_pages(&mut tx, crawl_id, children).await?;
    sqlx::query(
        "UPDATE crawl_pages
         SET status = 'done', tracks_added = $3, finished_at = now(), lease_until = NULL
         WHERE crawl_id = $1 AND key = $2",
    )
    .bind(crawl_id)
    .bind(key)
    .bind(i32::try_from(upserted.created).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    let crawl_finished = finish_if_done(&mut tx, crawl_id).await?;
    tx.commit().await?;
    page_finished("succeeded");
    Ok(PageDone {
        children: new_children,
        tracks_added: upserted.created,
        crawl_finished,
    })
}

/// Fails a page for good; returns the crawl's end if it was the last open page.
pub async fn fail_page(
    pool: &PgPool,
    crawl_id: Uuid,
    key: &str,
    error: &str,
) -> Result<Option<CrawlStatus>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM crawls WHERE id = $1 FOR UPDATE")
        .bind(crawl_id)
        .execute(&mut *tx)
        .await?;
    let failed = sqlx::query(
        "UPDATE crawl_pages
         SET status = 'failed', last_error = $3, finished_at = now(), lease_until = NULL
         WHERE crawl_id = $1 AND key = $2 AND status IN ('pending', 'running')",
    )
    .bind(crawl_id)
    .bind(key)
    .bind(error)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if failed == 0 {
        return Ok(None);
    }
    let finished = finish_if_done(&mut tx, crawl_id).await?;
    tx.commit().await?;
    page_finished("failed");
    Ok(finished)
}

/// Counts a crawl page that just reached its final state (committed).
fn page_finished(status: &'static str) {
    metrics::counter!(metric_families::JOBS_FINISHED, "kind" => "crawl_page", "status" => status)
        .increment(1);
}

/// Pages of the crawls still running, by state (`pending`, `running`, `done`, `failed`):
/// the crawl progress operators watch.
pub async fn running_crawl_pages(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.status, count(*)
         FROM crawl_pages p JOIN crawls c ON c.id = p.crawl_id
         WHERE c.status = 'running'
         GROUP BY p.status",
    )
    .fetch_all(pool)
    .await
}

/// Ends the crawl when no page is open any more. Callers hold the crawl's row lock.
async fn finish_if_done(
    tx: &mut Transaction<'_, Postgres>,
    crawl_id: Uuid,
) -> Result<Option<CrawlStatus>, sqlx::Error> {
    let (open, failed): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status IN ('pending', 'running')),
                count(*) FILTER (WHERE status = 'failed')
         FROM crawl_pages WHERE crawl_id = $1",
    )
    .bind(crawl_id)
    .fetch_one(&mut **tx)
    .await?;
    if open > 0 {
        return Ok(None);
    }
    let status = if failed > 0 {
        CrawlStatus::CompletedWithErrors
    } else {
        CrawlStatus::Succeeded
    };
    let ended = sqlx::query(
        "UPDATE crawls SET status = $2, finished_at = now() WHERE id = $1 AND status = 'running'",
    )
    .bind(crawl_id)
    .bind(match status {
        CrawlStatus::CompletedWithErrors => "completed_with_errors",
        _ => "succeeded",
    })
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((ended > 0).then_some(status))
}

/// A page that needs its message (again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrandedPage {
    pub crawl_id: Uuid,
    pub key: String,
}

/// A pending page whose message was published this long ago and never ran has lost it (a
/// message waits at most a minute in a delay queue; one parked by the delivery limit, e.g.
/// during a database outage, is gone).
pub const PENDING_STALE_SECS: u64 = 300;

/// Pages left without a live message: pending and never confirmed by the broker for
/// `unpublished_after_secs`, pending with a message older than [`PENDING_STALE_SECS`], or
/// running under an expired lease (their worker died). They are marked published (pending)
/// and returned for the caller to publish; several sweepers at once each take different rows.
/// A message published twice is harmless: the second finds the page leased or finished.
pub async fn reclaim_stranded_pages(
    pool: &PgPool,
    unpublished_after_secs: u64,
    max: i64,
) -> Result<Vec<StrandedPage>, sqlx::Error> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "UPDATE crawl_pages p
         SET status = 'pending', lease_until = NULL, published_at = now()
         FROM (SELECT crawl_id, key FROM crawl_pages
               WHERE (status = 'pending' AND published_at IS NULL
                      AND created_at < now() - make_interval(secs => $1))
                  OR (status = 'pending' AND published_at < now() - make_interval(secs => $3))
                  OR (status = 'running' AND lease_until < now())
               ORDER BY created_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED) s
         WHERE p.crawl_id = s.crawl_id AND p.key = s.key
         RETURNING p.crawl_id, p.key",
    )
    .bind(unpublished_after_secs as f64)
    .bind(max)
    .bind(PENDING_STALE_SECS as f64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(crawl_id, key)| StrandedPage { crawl_id, key })
        .collect())
}

/// Of these provider ids, the ones the catalog already links to a track with an ISRC: their
/// details need not be fetched again.
pub async fn known_with_isrc(
    pool: &PgPool,
    provider: ProviderName,
    ids: &[String],
) -> Result<HashSet<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT l.provider_id FROM track_links l JOIN tracks t ON t.id = l.track_id
         WHERE l.provider = $1 AND l.provider_id = ANY($2) AND t.isrc IS NOT NULL",
    )
    .bind(provider.as_str())
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Pages of a crawl by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PageCounts {
    pub total: i64,
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

/// A page that failed for good, or is being retried after an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PageError {
    /// The page's key, e.g. `spotify:album:4aawyAB9vmqN3uQ7FjRGTy:0`.
    pub page: String,
    /// `failed` (given up) or `pending` (to be retried).
    pub status: String,
    pub failures: i32,
    pub error: String,
}

/// The tick that fired a scheduled crawl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FiredBy {
    pub schedule: String,
    pub tick: DateTime<Utc>,
    pub catch_up: bool,
}

/// A crawl's progress, as operators see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CrawlView {
    pub id: Uuid,
    pub trigger: Trigger,
    pub status: CrawlStatus,
    pub sources: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Set for crawls fired by a schedule.
    pub tick: Option<FiredBy>,
    pub pages: PageCounts,
    /// Tracks this crawl added to the catalog (songs already known are not counted).
    pub tracks_added: i64,
    /// Up to 20 page errors, most recent first.
    pub errors: Vec<PageError>,
}

type CrawlRow = (
    Uuid,
    String,
    String,
    Vec<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);
type TickRow = (String, DateTime<Utc>, bool);
type CountsRow = (i64, i64, i64, i64, i64, i64);

/// One crawl's progress.
pub async fn view(pool: &PgPool, id: Uuid) -> Result<Option<CrawlView>, sqlx::Error> {
    let crawl: Option<CrawlRow> = sqlx::query_as(
        "SELECT id, trigger, status, sources, created_at, finished_at FROM crawls WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some((id, trigger, status, sources, created_at, finished_at)) = crawl else {
        return Ok(None);
    };
    let tick: Option<TickRow> = sqlx::query_as(
        "SELECT schedule, tick, catch_up FROM schedule_ticks WHERE crawl_id = $1 LIMIT 1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let (total, pending, running, done, failed, tracks_added): CountsRow = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE status = 'pending'),
                count(*) FILTER (WHERE status = 'running'),
                count(*) FILTER (WHERE status = 'done'),
                count(*) FILTER (WHERE status = 'failed'),
                coalesce(sum(tracks_added), 0)::bigint
         FROM crawl_pages WHERE crawl_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    let errors: Vec<(String, String, i32, Option<String>)> = sqlx::query_as(
        "SELECT key, status, failures, last_error FROM crawl_pages
         WHERE crawl_id = $1 AND last_error IS NOT NULL AND status IN ('failed', 'pending')
         ORDER BY coalesce(finished_at, created_at) DESC
         LIMIT $2",
    )
    .bind(id)
    .bind(ERRORS_SHOWN)
    .fetch_all(pool)
    .await?;
    Ok(Some(CrawlView {
        id,
        trigger: if trigger == "schedule" {
            Trigger::Schedule
        } else {
            Trigger::Admin
        },
        status: CrawlStatus::parse(&status),
        sources,
        created_at,
        finished_at,
        tick: tick.map(|(schedule, tick, catch_up)| FiredBy {
            schedule,
            tick,
            catch_up,
        }),
        pages: PageCounts {
            total,
            pending,
            running,
            done,
            failed,
        },
        tracks_added,
        errors: errors
            .into_iter()
            .map(|(page, status, failures, error)| PageError {
                page,
                status,
                failures,
                error: error.unwrap_or_default(),
            })
            .collect(),
    }))
}

/// The newest tick recorded for a schedule.
pub async fn last_tick(
    pool: &PgPool,
    schedule: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let row: (Option<DateTime<Utc>>,) =
        sqlx::query_as("SELECT max(tick) FROM schedule_ticks WHERE schedule = $1")
            .bind(schedule)
            .fetch_one(pool)
            .await?;
    Ok(row.0)
}

/// Fires one tick of a crawl schedule: records it and creates its crawl, in one transaction.
/// `None` when another replica fired this tick already.
pub async fn fire_tick(
    pool: &PgPool,
    schedule: &str,
    tick: DateTime<Utc>,
    fired_by: &str,
    catch_up: bool,
    sources: &[ProviderName],
) -> Result<Option<NewCrawl>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let won = sqlx::query(
        "INSERT INTO schedule_ticks (schedule, tick, fired_by, catch_up) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(schedule)
    .bind(tick)
    .bind(fired_by)
    .bind(catch_up)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if won == 0 {
        return Ok(None);
    }
    let crawl = create_in(&mut tx, Trigger::Schedule, sources).await?;
    sqlx::query("UPDATE schedule_ticks SET crawl_id = $3 WHERE schedule = $1 AND tick = $2")
        .bind(schedule)
        .bind(tick)
        .bind(crawl.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(crawl))
}

/// A fired tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TickRecord {
    pub schedule: String,
    pub tick: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    pub fired_by: String,
    pub catch_up: bool,
    pub crawl_id: Option<Uuid>,
}

type TickRecordRow = (
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    bool,
    Option<Uuid>,
);

/// The newest `limit` fired ticks of a schedule, newest first.
pub async fn ticks(
    pool: &PgPool,
    schedule: &str,
    limit: i64,
) -> Result<Vec<TickRecord>, sqlx::Error> {
    let rows: Vec<TickRecordRow> = sqlx::query_as(
        "SELECT schedule, tick, fired_at, fired_by, catch_up, crawl_id FROM schedule_ticks
         WHERE schedule = $1 ORDER BY tick DESC LIMIT $2",
    )
    .bind(schedule)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(schedule, tick, fired_at, fired_by, catch_up, crawl_id)| TickRecord {
                schedule,
                tick,
                fired_at,
                fired_by,
                catch_up,
                crawl_id,
            },
        )
        .collect())
}
