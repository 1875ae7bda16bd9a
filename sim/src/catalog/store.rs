//! The [`Catalog`] itself: the songs, albums and artists, lookups by every provider's id, and
//! registration of new albums in every index.
//!
//! A catalog is immutable once shared; new releases are added to a copy that then replaces
//! the shared one (see [`crate::SimHandle::add_new_releases`]).

use std::collections::HashMap;

use super::index::{SearchIndex, SongText};
use super::model::{Album, Artist, Song};
use super::query::tokenize;

/// The simulated catalog: songs, albums and artists with every provider's ids, searchable.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(crate) seed: u64,
    pub(crate) songs: Vec<Song>,
    pub(crate) albums: Vec<Album>,
    pub(crate) artists: HashMap<String, Artist>,
    pub(crate) index: SearchIndex,
    pub(crate) album_text: Vec<(Vec<String>, Vec<String>)>,
    pub(crate) by_spotify: HashMap<String, u32>,
    pub(crate) by_isrc: HashMap<String, u32>,
    pub(crate) by_deezer: HashMap<u64, u32>,
    pub(crate) by_musicbrainz: HashMap<String, u32>,
    pub(crate) by_youtube: HashMap<String, u32>,
    pub(crate) albums_by_spotify: HashMap<String, u32>,
    pub(crate) albums_by_deezer: HashMap<u64, u32>,
    pub(crate) artists_by_spotify: HashMap<String, String>,
    pub(crate) releases_added: u64,
}

impl Catalog {
    pub(crate) fn empty(seed: u64) -> Catalog {
        Catalog {
            seed,
            songs: Vec::new(),
            albums: Vec::new(),
            artists: HashMap::new(),
            index: SearchIndex::default(),
            album_text: Vec::new(),
            by_spotify: HashMap::new(),
            by_isrc: HashMap::new(),
            by_deezer: HashMap::new(),
            by_musicbrainz: HashMap::new(),
            by_youtube: HashMap::new(),
            albums_by_spotify: HashMap::new(),
            albums_by_deezer: HashMap::new(),
            artists_by_spotify: HashMap::new(),
            releases_added: 0,
        }
    }

    /// The seed the catalog was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every song, in id order.
    pub fn songs(&self) -> &[Song] {
        &self.songs
    }

    /// One "title artist" query per song (its first artist), in id order, each spelling once
    /// (case aside): what tests and benchmarks search for songs this catalog holds.
    pub fn title_artist_queries(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.songs
            .iter()
            .map(|s| format!("{} {}", s.title, s.artists[0]))
            .filter(|q| seen.insert(q.to_lowercase()))
            .collect()
    }

    /// Every album, in id order.
    pub fn albums(&self) -> &[Album] {
        &self.albums
    }

    /// The song with catalog id `id`.
    pub fn get(&self, id: u32) -> Option<&Song> {
        self.songs.get(id.checked_sub(1)? as usize)
    }

    /// The album with catalog id `id`.
    pub fn album(&self, id: u32) -> Option<&Album> {
        self.albums.get(id.checked_sub(1)? as usize)
    }

    /// The artist called `name` (as it appears in [`Song::artists`]).
    pub fn artist(&self, name: &str) -> Option<&Artist> {
        self.artists.get(name)
    }

    /// The artist with this Spotify artist id.
    pub fn artist_by_spotify_id(&self, id: &str) -> Option<&Artist> {
        self.artists_by_spotify
            .get(id)
            .and_then(|name| self.artists.get(name))
    }

    /// Albums whose artists include `name`, newest first.
    pub fn albums_by_artist(&self, name: &str) -> Vec<&Album> {
        let mut albums: Vec<&Album> = self
            .albums
            .iter()
            .filter(|a| a.artists.iter().any(|n| n == name))
            .collect();
        albums.sort_by(|a, b| b.release_date.cmp(&a.release_date).then(b.id.cmp(&a.id)));
        albums
    }

    /// Registers an artist (its ids are derived from the name).
    pub(crate) fn register_artist(&mut self, artist: Artist) {
        self.artists_by_spotify
            .insert(artist.spotify_id.clone(), artist.name.clone());
        self.artists.insert(artist.name.clone(), artist);
    }

    /// The artist called `name`, or ids derived on the spot for an unknown name.
    pub(crate) fn artist_or_derived(&self, name: &str) -> std::borrow::Cow<'_, Artist> {
        match self.artists.get(name) {
            Some(a) => std::borrow::Cow::Borrowed(a),
            None => std::borrow::Cow::Owned(Artist::new(name, None, false)),
        }
    }

    /// The song with this Spotify track id.
    pub fn by_spotify_id(&self, id: &str) -> Option<&Song> {
        self.by_spotify.get(id).and_then(|&i| self.get(i))
    }

    /// The song with this ISRC (case-insensitive).
    pub fn by_isrc(&self, isrc: &str) -> Option<&Song> {
        self.by_isrc
            .get(&isrc.to_ascii_uppercase())
            .and_then(|&i| self.get(i))
    }

    /// The song with this Deezer track id.
    pub fn by_deezer_id(&self, id: u64) -> Option<&Song> {
        self.by_deezer.get(&id).and_then(|&i| self.get(i))
    }

    /// The song with this MusicBrainz recording id.
    pub fn by_musicbrainz_id(&self, id: &str) -> Option<&Song> {
        self.by_musicbrainz.get(id).and_then(|&i| self.get(i))
    }

    /// The song with this YouTube video id.
    pub fn by_youtube_id(&self, id: &str) -> Option<&Song> {
        self.by_youtube.get(id).and_then(|&i| self.get(i))
    }

    /// The album with this Spotify album id.
    pub fn album_by_spotify_id(&self, id: &str) -> Option<&Album> {
        self.albums_by_spotify.get(id).and_then(|&i| self.album(i))
    }

    /// The album with this Deezer album id.
    pub fn album_by_deezer_id(&self, id: u64) -> Option<&Album> {
        self.albums_by_deezer.get(&id).and_then(|&i| self.album(i))
    }

    /// The songs of `album`, in track order.
    pub fn album_tracks(&self, album: &Album) -> Vec<&Song> {
        album
            .track_ids
            .iter()
            .filter_map(|&id| self.get(id))
            .collect()
    }

    /// Albums added by [`Catalog::add_new_releases`], newest first.
    pub fn new_release_albums(&self) -> Vec<&Album> {
        let mut albums: Vec<&Album> = self.albums.iter().filter(|a| a.is_new).collect();
        albums.sort_by(|a, b| b.release_date.cmp(&a.release_date).then(b.id.cmp(&a.id)));
        albums
    }

    /// Registers a complete album and its songs (ids already assigned) in every index.
    pub(crate) fn insert_album(&mut self, album: Album, songs: Vec<Song>) {
        for song in songs {
            debug_assert_eq!(song.id as usize, self.songs.len() + 1);
            let mut titles = [Some(song.title.as_str()), song.title_alias.as_deref()];
            if titles[1].is_none() {
                titles = [titles[0], None];
            }
            let mut artist_names: Vec<&str> = Vec::new();
            for name in &song.artists {
                artist_names.push(name);
                if let Some(alias) = self.artists.get(name).and_then(|a| a.alias.as_deref()) {
                    artist_names.push(alias);
                }
            }
            self.index.push(SongText {
                titles,
                artists: artist_names,
                album: &song.album,
            });
            self.by_spotify.insert(song.spotify_id.clone(), song.id);
            self.by_isrc.insert(song.isrc.clone(), song.id);
            self.by_deezer.insert(song.deezer_id, song.id);
            self.by_musicbrainz
                .insert(song.musicbrainz_id.clone(), song.id);
            self.by_youtube.insert(song.youtube_id.clone(), song.id);
            self.songs.push(song);
        }
        let mut artist_words = Vec::new();
        for name in &album.artists {
            artist_words.extend(tokenize(name));
            if let Some(alias) = self.artists.get(name).and_then(|a| a.alias.as_deref()) {
                artist_words.extend(tokenize(alias));
            }
        }
        self.album_text.push((tokenize(&album.name), artist_words));
        self.albums_by_spotify
            .insert(album.spotify_id.clone(), album.id);
        self.albums_by_deezer.insert(album.deezer_id, album.id);
        self.albums.push(album);
    }
}
