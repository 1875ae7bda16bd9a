//! Search jobs as a worker holds them, for tests of what a worker writes.

use chrono::Utc;
use muze_shared::{
    db::searches::{self, Claim, Enqueued, NewSearch},
    domain::{Query, ResultLimit, SearchType},
};
use sqlx::PgPool;
use uuid::Uuid;

/// A new search job for `text` with `limit` results, claimed (running, leased for 30 s) as a
/// worker would before calling a provider. Panics if the same search is already in flight.
pub async fn running_search(pool: &PgPool, text: &str, limit: ResultLimit) -> Uuid {
    let query = Query::parse(text).expect("valid query");
    let new = NewSearch {
        id: Uuid::now_v7(),
        normalized: query.normalize(),
        query,
        search_type: SearchType::Track,
        limit,
        deadline_at: Utc::now() + chrono::Duration::seconds(60),
    };
    let id = match searches::create_or_join(pool, &new, 0)
        .await
        .expect("insert")
    {
        Enqueued::Created(view) => view.id,
        Enqueued::Joined(id) => panic!("{text:?} joined {id} instead of creating a job"),
    };
    match searches::claim(pool, id, 30).await.expect("claim") {
        Claim::Claimed(job) => job.id,
        other => panic!("could not claim {id}: {other:?}"),
    }
}
