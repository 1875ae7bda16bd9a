//! Songs: what a provider returns, and the catalog track that unifies providers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ProviderName;

/// A song in our catalog. One song found through several providers is one track with one link
/// per provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Track {
    /// Ours, stable.
    pub id: Uuid,
    pub title: String,
    pub artists: Vec<String>,
    pub album: Option<String>,
    pub duration_ms: Option<i32>,
    pub isrc: Option<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as precise as the provider knows.
    pub release_date: Option<String>,
    pub image_url: Option<String>,
    /// Provider name → the song's page there.
    #[schema(value_type = BTreeMap<String, String>)]
    pub links: BTreeMap<ProviderName, String>,
}

/// One song as one provider describes it, before it is matched into the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderTrack {
    pub provider: ProviderName,
    /// The provider's own id (Spotify track id, YouTube video id, ...).
    pub provider_id: String,
    /// The song's page at the provider.
    pub url: String,
    pub title: String,
    pub artists: Vec<String>,
    pub album: Option<String>,
    pub duration_ms: Option<i32>,
    pub isrc: Option<String>,
    pub release_date: Option<String>,
    pub image_url: Option<String>,
}
