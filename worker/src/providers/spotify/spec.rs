// Spotify's spec: its name, what it needs to be called and its defaults, and its crawl pages.
// It lives with the client, in this module (which re-exports it as `spec`), and is compiled
// by `muze-shared` through the provider list (`../list.rs`), so that every binary knows the
// provider's name and settings before any client exists.

use muze_shared::domain::{Credential, ProviderSpec};
use serde::{Deserialize, Serialize};

/// Spotify.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: "spotify",
    env_name: "SPOTIFY",
    credential: Credential::ClientCredentials,
    defaults: &[
        ("base_url", "https://api.spotify.com/v1"),
        ("token_url", "https://accounts.spotify.com/api/token"),
        // Spotify publishes no number; ~300-400 per rolling 30 s was measured. Stay
        // under the low end, and adapt to its 429s below that ceiling.
        ("rate_limit", "250/30s"),
        ("adaptive", "true"),
        ("timeout_ms", "5000"),
        // Spotify's search maximum since Feb 2026.
        ("page_size", "10"),
    ],
};

/// Its crawl pages, each one call. Albums come from the `tag:new` search, their tracks from
/// the album (simplified, no ISRC), and each track from its own page (with its ISRC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Page {
    /// `GET /search?q=tag:new&type=album` (albums released in the past two weeks).
    #[serde(rename = "spotify_new_albums")]
    NewAlbums { offset: u32 },
    /// `GET /albums/{id}/tracks` (simplified tracks, no ISRC).
    #[serde(rename = "spotify_album_tracks")]
    AlbumTracks { album_id: String, offset: u32 },
    /// `GET /tracks/{id}`: the full track, with its ISRC.
    #[serde(rename = "spotify_track")]
    Track { track_id: String },
}

impl Page {
    /// Where a crawl of Spotify starts.
    pub fn roots() -> Vec<Page> {
        vec![Page::NewAlbums { offset: 0 }]
    }

    /// The page's identity within its crawl.
    pub fn key(&self) -> String {
        match self {
            Page::NewAlbums { offset } => format!("spotify:new:{offset}"),
            Page::AlbumTracks { album_id, offset } => format!("spotify:album:{album_id}:{offset}"),
            Page::Track { track_id } => format!("spotify:track:{track_id}"),
        }
    }

    /// The one track this page fetches, if that is all it fetches: a crawl skips it when the
    /// catalog already has that track with an ISRC.
    pub fn single_track(&self) -> Option<&str> {
        match self {
            Page::Track { track_id } => Some(track_id),
            _ => None,
        }
    }
}
