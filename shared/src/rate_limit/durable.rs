//! What the limiter keeps in Postgres so that a Redis that forgets never reads as "nothing
//! spent": whether a budget was ever used, its running cooldown, and every grant of the
//! budgets whose calls of a day or of a long window must be rebuilt exactly.
//!
//! All times are milliseconds of Redis server time, the clock every decision is made on.

use sqlx::PgPool;

/// How long grant rows are kept: past every calendar day and long window they rebuild.
const GRANTS_KEPT_MS: i64 = 2 * 86_400_000 + 3_600_000;
/// An adapted limit older than this is not restored: the limit has climbed back since.
const ADAPTIVE_KEPT: &str = "1 day";

/// What a restore starts from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept {
    /// The budget had Redis state before: its absence now means it was lost.
    pub initialized: bool,
    pub cooldown_until_ms: i64,
    pub adaptive_limit: Option<f64>,
    /// Calls spent since the quota period's start.
    pub quota_used: i64,
    /// Grants whose slot may still be in the window: (member, latest arrival ms).
    pub entries: Vec<(String, i64)>,
}

/// Records a grant of a durable budget. Old rows of the budget go in the same statement.
pub async fn record_grant(
    pool: &PgPool,
    budget: &str,
    member: &str,
    granted_at_ms: i64,
    arrives_by_ms: i64,
    cost: u32,
) -> Result<(), sqlx::Error> {
    let seq: i64 = member
        .rsplit(':')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    sqlx::query(
        "WITH gone AS (DELETE FROM limiter_grants WHERE budget = $1 AND granted_at_ms < $6)
         INSERT INTO limiter_grants (budget, seq, granted_at_ms, arrives_by_ms, cost)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(budget)
    .bind(seq)
    .bind(granted_at_ms)
    .bind(arrives_by_ms)
    .bind(i32::try_from(cost).unwrap_or(i32::MAX))
    .bind(granted_at_ms - GRANTS_KEPT_MS)
    .execute(pool)
    .await?;
    Ok(())
}

/// Keeps a cooldown the provider asked for (and the limit adapted after it).
pub async fn record_cooldown(
    pool: &PgPool,
    budget: &str,
    until_ms: i64,
    adaptive_limit: Option<f64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO limiter_budgets AS b (budget, cooldown_until_ms, adaptive_limit, adaptive_set_at)
         VALUES ($1, $2, $3, CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() END)
         ON CONFLICT (budget) DO UPDATE SET
           cooldown_until_ms = GREATEST(b.cooldown_until_ms, EXCLUDED.cooldown_until_ms),
           adaptive_limit = COALESCE(EXCLUDED.adaptive_limit, b.adaptive_limit),
           adaptive_set_at = COALESCE(EXCLUDED.adaptive_set_at, b.adaptive_set_at)",
    )
    .bind(budget)
    .bind(until_ms)
    .bind(adaptive_limit)
    .execute(pool)
    .await?;
    Ok(())
}

/// A restore in progress: holds the budget's row lock until [`Restore::finish`].
#[derive(Debug)]
pub struct Restore {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    budget: String,
}

impl Restore {
    /// Locks the budget's row (creating it) and reads what was kept. `since_ms` bounds the
    /// grants read (the oldest that can still be in a window), `period_ms` the quota period.
    pub async fn begin(
        pool: &PgPool,
        budget: &str,
        durable: bool,
        since_ms: i64,
        period_ms: i64,
    ) -> Result<(Restore, Kept), sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO limiter_budgets (budget) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(budget)
            .execute(&mut *tx)
            .await?;
        let (initialized, cooldown_until_ms, adaptive_limit): (bool, i64, Option<f64>) =
            sqlx::query_as(&format!(
                "SELECT initialized_at IS NOT NULL, cooldown_until_ms,
                        CASE WHEN adaptive_set_at > now() - interval '{ADAPTIVE_KEPT}'
                             THEN adaptive_limit END
                 FROM limiter_budgets WHERE budget = $1 FOR UPDATE"
            ))
            .bind(budget)
            .fetch_one(&mut *tx)
            .await?;
        let mut kept = Kept {
            initialized,
            cooldown_until_ms,
            adaptive_limit,
            ..Kept::default()
        };
        if durable {
            let rows: Vec<(i64, i64, i64, i32)> = sqlx::query_as(
                "SELECT seq, granted_at_ms, arrives_by_ms, cost FROM limiter_grants
                 WHERE budget = $1 AND (arrives_by_ms >= $2 OR granted_at_ms >= $3)",
            )
            .bind(budget)
            .bind(since_ms)
            .bind(period_ms)
            .fetch_all(&mut *tx)
            .await?;
            for (seq, granted_at, arrives_by, cost) in rows {
                if granted_at >= period_ms {
                    kept.quota_used += i64::from(cost);
                }
                if arrives_by >= since_ms {
                    for unit in 0..cost {
                        kept.entries
                            .push((format!("d:{granted_at}:{seq}:{unit}"), arrives_by));
                    }
                }
            }
        }
        Ok((
            Restore {
                tx,
                budget: budget.to_string(),
            },
            kept,
        ))
    }

    /// Marks the budget as having Redis state and releases the lock.
    pub async fn finish(mut self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE limiter_budgets SET initialized_at = COALESCE(initialized_at, now())
             WHERE budget = $1",
        )
        .bind(&self.budget)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await
    }
}
