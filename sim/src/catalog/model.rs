//! The catalog's data model: songs, albums and artists, each with its id at every provider.

use serde::{Deserialize, Serialize};

use super::ids;

/// One recording, with its id at every provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Song {
    /// Catalog id, 1-based and dense: song `n` is `songs()[n - 1]`.
    pub id: u32,
    /// Title as the label released it.
    pub title: String,
    /// Artist display names, primary artist first.
    pub artists: Vec<String>,
    /// Album name.
    pub album: String,
    /// Catalog id of the album.
    pub album_id: u32,
    /// Length in milliseconds.
    pub duration_ms: u32,
    /// ISRC, 12 characters without separators (`KRA381001057`).
    pub isrc: String,
    /// Release date, `YYYY-MM-DD`.
    pub release_date: String,
    /// Spotify track id (22 base62 characters).
    pub spotify_id: String,
    /// Spotify album id.
    pub spotify_album_id: String,
    /// YouTube video id (11 characters).
    pub youtube_id: String,
    /// Shazam track key (digits).
    pub shazam_key: String,
    /// Deezer track id.
    pub deezer_id: u64,
    /// MusicBrainz recording id (UUID).
    pub musicbrainz_id: String,
    /// Added by [`Catalog::add_new_releases`] (released within the last two weeks).
    pub is_new: bool,
    /// Alternative title (e.g. the English title of a Korean song); searchable.
    pub title_alias: Option<String>,
    /// Position on its album, 1-based.
    pub track_number: u32,
    /// Popularity 0-100 (Spotify `popularity`; Deezer `rank` is derived from it).
    pub popularity: u8,
    /// Explicit lyrics.
    pub explicit: bool,
    /// Apple Music track id (Shazam `hub.actions[].id`).
    pub apple_id: u64,
}

impl Song {
    /// The primary artist.
    pub fn primary_artist(&self) -> &str {
        self.artists.first().map(String::as_str).unwrap_or("")
    }

    /// Artists joined for display: `"A"`, `"A & B"`, `"A, B & C"`.
    pub fn artist_display(&self) -> String {
        join_artists(&self.artists)
    }

    /// Release year.
    pub fn year(&self) -> u16 {
        self.release_date
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(0)
    }
}

/// `"A"`, `"A & B"`, `"A, B & C"`.
pub fn join_artists(artists: &[String]) -> String {
    match artists {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} & {last}", init.join(", ")),
    }
}

/// Spotify's `album_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlbumType {
    /// A full album.
    Album,
    /// A single or short EP (1-3 tracks).
    Single,
}

impl AlbumType {
    /// `"album"` or `"single"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlbumType::Album => "album",
            AlbumType::Single => "single",
        }
    }
}

/// An album (or single) and its tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Album {
    /// Catalog id, 1-based and dense.
    pub id: u32,
    /// Album name.
    pub name: String,
    /// Album artists.
    pub artists: Vec<String>,
    /// Album or single.
    pub album_type: AlbumType,
    /// Release date, `YYYY-MM-DD`.
    pub release_date: String,
    /// Spotify album id.
    pub spotify_id: String,
    /// Deezer album id.
    pub deezer_id: u64,
    /// MusicBrainz release id.
    pub musicbrainz_id: String,
    /// Song ids in track order.
    pub track_ids: Vec<u32>,
    /// Added by [`Catalog::add_new_releases`].
    pub is_new: bool,
}

/// An artist's ids at every provider, derived from the name (stable across catalogs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artist {
    /// Display name.
    pub name: String,
    /// Alternative name (Hangul or romanized); searchable.
    pub alias: Option<String>,
    /// Spotify artist id.
    pub spotify_id: String,
    /// Deezer artist id.
    pub deezer_id: u64,
    /// MusicBrainz artist id.
    pub musicbrainz_id: String,
    /// Apple Music artist id (Shazam `adamid`).
    pub apple_id: u64,
    /// Shazam artist id.
    pub shazam_id: u64,
    /// YouTube channel id of the artist's channel.
    pub youtube_channel_id: String,
    /// Whether the artist is Korean (affects YouTube title styles).
    pub korean: bool,
}

impl Artist {
    /// Derives every id from `name`.
    pub(crate) fn new(name: &str, alias: Option<&str>, korean: bool) -> Artist {
        use rand::Rng;
        let mut rng = ids::rng_for(&["artist", name]);
        Artist {
            name: name.to_owned(),
            alias: alias.map(str::to_owned),
            spotify_id: ids::spotify_id(&mut rng),
            deezer_id: rng.random_range(1_000..20_000_000),
            musicbrainz_id: ids::musicbrainz_id(&mut rng),
            apple_id: rng.random_range(100_000_000..1_700_000_000),
            shazam_id: rng.random_range(1..100_000_000),
            youtube_channel_id: ids::youtube_channel_id(&mut rng),
            korean,
        }
    }
}
