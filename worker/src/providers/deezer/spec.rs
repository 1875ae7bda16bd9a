// Deezer's spec: its name, what it needs to be called and its defaults, and its crawl pages.
// It lives with the client, in this module (which re-exports it as `spec`), and is compiled
// by `muze-shared` through the provider list (`../list.rs`), so that every binary knows the
// provider's name and settings before any client exists.

use muze_shared::domain::{AlbumInfo, Credential, ProviderSpec};
use serde::{Deserialize, Serialize};

/// Deezer's public API.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: "deezer",
    env_name: "DEEZER",
    credential: Credential::None,
    defaults: &[
        ("base_url", "https://api.deezer.com"),
        // Deezer allows 50 per 5 s per IP; leave room for other clients on the address.
        ("rate_limit", "45/5s"),
        ("timeout_ms", "5000"),
        ("page_size", "10"),
    ],
};

/// Its crawl pages, each one call: two album listings, then each album's tracks (with ISRC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Page {
    /// `GET /editorial/0/releases`.
    #[serde(rename = "deezer_new_releases")]
    NewReleases { index: u32 },
    /// `GET /chart/0/albums`.
    #[serde(rename = "deezer_chart_albums")]
    ChartAlbums { index: u32 },
    /// `GET /album/{id}/tracks` (tracks with ISRC). Its items carry no album, so the page
    /// carries what the listing that named the album said of it.
    #[serde(rename = "deezer_album_tracks")]
    AlbumTracks {
        album_id: u64,
        index: u32,
        /// Pages published before albums travelled with them have none.
        #[serde(default)]
        album: AlbumInfo,
    },
}

impl Page {
    /// Where a crawl of Deezer starts.
    pub fn roots() -> Vec<Page> {
        vec![Page::NewReleases { index: 0 }, Page::ChartAlbums { index: 0 }]
    }

    /// The page's identity within its crawl.
    pub fn key(&self) -> String {
        match self {
            Page::NewReleases { index } => format!("deezer:releases:{index}"),
            Page::ChartAlbums { index } => format!("deezer:chart:{index}"),
            Page::AlbumTracks {
                album_id, index, ..
            } => format!("deezer:album:{album_id}:{index}"),
        }
    }

    /// Deezer's pages fetch listings, never one track alone.
    pub fn single_track(&self) -> Option<&str> {
        None
    }
}
