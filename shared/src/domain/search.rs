//! A search job's lifecycle and the shape the API returns for it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ProviderName, SearchType, Track};

/// Where a search job is in its life. Stored as the Postgres enum `search_status`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "search_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SearchStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl SearchStatus {
    /// Succeeded or failed: nothing will change any more.
    pub fn is_final(self) -> bool {
        matches!(self, SearchStatus::Succeeded | SearchStatus::Failed)
    }
}

/// How one call to one provider ended, as shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The provider (or our limiter on its behalf) said "not now".
    RateLimited,
    /// An error answer: 5xx, bad credentials, a malformed body.
    Error,
    /// No answer within the timeout.
    Timeout,
    /// A valid answer with no results.
    Empty,
    /// Results.
    Ok,
}

/// One call to one provider within a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub provider: ProviderName,
    pub outcome: AttemptOutcome,
    pub at: DateTime<Utc>,
    /// A short, secret-free description of what happened ("HTTP 503", "retry after 5 s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why a search failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchError {
    /// `upstream_unavailable`, `deadline_exceeded`, ...
    pub code: String,
    pub message: String,
}

/// A search as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchView {
    pub id: Uuid,
    pub query: String,
    #[serde(rename = "type")]
    pub search_type: SearchType,
    pub status: SearchStatus,
    /// `catalog` or the provider that answered; null until answered.
    pub source: Option<String>,
    pub attempts: Vec<Attempt>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<SearchError>,
    pub results: Vec<Track>,
}
