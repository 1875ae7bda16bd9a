//! Deterministic catalog generation: the same seed and size always give the same songs with
//! the same ids, because every random choice comes from one `StdRng` seeded with the seed
//! (artist ids come from a stable hash of the name).
//!
//! The fixed well-known songs come first (ids 1..), then generated albums of fictional
//! Korean and Latin artists until the requested size is reached. New releases are appended
//! later as whole albums dated within the last two weeks.

use std::collections::HashSet;

use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use super::ids;
use super::model::{Album, AlbumType, Artist, Song};
use super::query::normalize;
use super::store::Catalog;
use super::words::{
    ArtistSeed, FixedSong, ARTISTS, FIXED_ARTISTS, FIXED_SONGS, KOREAN_WORDS, LATIN_TEMPLATES,
    LATIN_WORDS,
};

/// Generated (non-new) releases fall between these dates.
const FIRST_RELEASE: (i32, u32, u32) = (1990, 1, 1);
const LAST_RELEASE: (i32, u32, u32) = (2025, 6, 30);
/// New releases are dated within this many days before today (Spotify's `tag:new`).
const NEW_RELEASE_DAYS: u64 = 14;
/// Countries of the ISRCs of non-Korean generated songs.
const LATIN_COUNTRIES: &[&str] = &["US", "GB", "FR", "DE", "SE", "CA", "AU"];

impl Catalog {
    /// Generates a catalog of `songs` songs from `seed`: the fixed well-known songs first
    /// (ids 1..), then albums of fictional Korean and Latin artists.
    pub fn generate(seed: u64, songs: usize) -> Catalog {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut catalog = Catalog::empty(seed);
        for a in FIXED_ARTISTS.iter().chain(ARTISTS) {
            register_artist(&mut catalog, a);
        }
        let mut seen = TitleSet::default();
        for fixed in FIXED_SONGS.iter().take(songs) {
            add_fixed(&mut catalog, &mut rng, &mut seen, fixed);
        }
        let first = NaiveDate::from_ymd_opt(FIRST_RELEASE.0, FIRST_RELEASE.1, FIRST_RELEASE.2)
            .expect("valid");
        let last =
            NaiveDate::from_ymd_opt(LAST_RELEASE.0, LAST_RELEASE.1, LAST_RELEASE.2).expect("valid");
        while catalog.songs.len() < songs {
            let room = songs - catalog.songs.len();
            let tracks = album_size(&mut rng).min(room);
            let span = (last - first).num_days() as u64;
            let date = first + Days::new(rng.random_range(0..=span));
            add_generated_album(&mut catalog, &mut rng, &mut seen, tracks, date, false);
        }
        catalog
    }

    /// Appends `albums` new albums of `tracks_per_album` songs each (`is_new = true`,
    /// released within the two weeks before `today`) and returns the new songs. Deterministic
    /// for a given catalog seed, number of earlier additions and `today`.
    pub fn add_new_releases(
        &mut self,
        albums: usize,
        tracks_per_album: usize,
        today: NaiveDate,
    ) -> Vec<Song> {
        self.releases_added += 1;
        let mut rng = StdRng::seed_from_u64(ids::stable_hash(&[
            "new-releases",
            &self.seed.to_string(),
            &self.releases_added.to_string(),
        ]));
        let mut seen = TitleSet::default();
        for s in &self.songs {
            seen.insert(&s.title, s.primary_artist());
        }
        let first_new = self.songs.len();
        for _ in 0..albums {
            let date = today - Days::new(rng.random_range(0..NEW_RELEASE_DAYS));
            add_generated_album(
                self,
                &mut rng,
                &mut seen,
                tracks_per_album.max(1),
                date,
                true,
            );
        }
        self.songs[first_new..].to_vec()
    }
}

/// (normalized title, primary artist) pairs already used: songs mostly have distinct ones.
#[derive(Debug, Default)]
struct TitleSet(HashSet<(String, String)>);

impl TitleSet {
    fn insert(&mut self, title: &str, artist: &str) -> bool {
        self.0.insert((normalize(title), artist.to_owned()))
    }
}

fn register_artist(catalog: &mut Catalog, a: &ArtistSeed) {
    catalog.register_artist(Artist::new(a.name, a.alias, a.korean));
}

/// Single (1-2 tracks) 30 %, EP (4-6) 30 %, album (8-12) 40 %.
fn album_size(rng: &mut StdRng) -> usize {
    match rng.random_range(0..10) {
        0..=2 => rng.random_range(1..=2),
        3..=5 => rng.random_range(4..=6),
        _ => rng.random_range(8..=12),
    }
}

/// Ids every song needs, drawn fresh and checked for uniqueness.
struct SongIds {
    spotify_id: String,
    youtube_id: String,
    shazam_key: String,
    deezer_id: u64,
    musicbrainz_id: String,
    apple_id: u64,
}

fn song_ids(catalog: &Catalog, pending: &[Song], rng: &mut StdRng) -> SongIds {
    let deezer_id = loop {
        let id = rng.random_range(1_000_000..3_500_000_000u64);
        if !catalog.by_deezer.contains_key(&id) && pending.iter().all(|s| s.deezer_id != id) {
            break id;
        }
    };
    SongIds {
        spotify_id: ids::spotify_id(rng),
        youtube_id: ids::youtube_id(rng),
        shazam_key: rng.random_range(10_000_000..1_000_000_000u64).to_string(),
        deezer_id,
        musicbrainz_id: ids::musicbrainz_id(rng),
        apple_id: rng.random_range(1_000_000_000..1_800_000_000u64),
    }
}

fn unique_isrc(
    catalog: &Catalog,
    pending: &[Song],
    rng: &mut StdRng,
    country: &str,
    year: u16,
) -> String {
    loop {
        let code = ids::isrc(rng, country, year);
        if !catalog.by_isrc.contains_key(&code) && pending.iter().all(|s| s.isrc != code) {
            return code;
        }
    }
}

fn album_ids(catalog: &Catalog, rng: &mut StdRng) -> (String, u64, String) {
    let deezer_id = loop {
        let id = rng.random_range(100_000..700_000_000u64);
        if !catalog.albums_by_deezer.contains_key(&id) {
            break id;
        }
    };
    (ids::spotify_id(rng), deezer_id, ids::musicbrainz_id(rng))
}

fn add_fixed(catalog: &mut Catalog, rng: &mut StdRng, seen: &mut TitleSet, f: &FixedSong) {
    let id = catalog.songs.len() as u32 + 1;
    let album_id = catalog.albums.len() as u32 + 1;
    let (album_spotify, album_deezer, album_mb) = album_ids(catalog, rng);
    let ids = song_ids(catalog, &[], rng);
    let artists: Vec<String> = f.artists.iter().map(|a| (*a).to_owned()).collect();
    seen.insert(f.title, f.artists[0]);
    let song = Song {
        id,
        title: f.title.to_owned(),
        artists: artists.clone(),
        album: f.album.to_owned(),
        album_id,
        duration_ms: f.duration_ms,
        isrc: f.isrc.to_owned(),
        release_date: f.release_date.to_owned(),
        spotify_id: ids.spotify_id,
        spotify_album_id: album_spotify.clone(),
        youtube_id: ids.youtube_id,
        shazam_key: ids.shazam_key,
        deezer_id: ids.deezer_id,
        musicbrainz_id: ids.musicbrainz_id,
        is_new: false,
        title_alias: f.title_alias.map(str::to_owned),
        track_number: 1,
        popularity: f.popularity,
        explicit: false,
        apple_id: ids.apple_id,
    };
    let album = Album {
        id: album_id,
        name: f.album.to_owned(),
        artists: vec![artists[0].clone()],
        album_type: AlbumType::Album,
        release_date: f.release_date.to_owned(),
        spotify_id: album_spotify,
        deezer_id: album_deezer,
        musicbrainz_id: album_mb,
        track_ids: vec![id],
        is_new: false,
    };
    catalog.insert_album(album, vec![song]);
}

fn add_generated_album(
    catalog: &mut Catalog,
    rng: &mut StdRng,
    seen: &mut TitleSet,
    tracks: usize,
    date: NaiveDate,
    is_new: bool,
) {
    let artist = *ARTISTS.choose(rng).expect("artists");
    let album_id = catalog.albums.len() as u32 + 1;
    let first_id = catalog.songs.len() as u32 + 1;
    let (album_spotify, album_deezer, album_mb) = album_ids(catalog, rng);
    let release_date = date.format("%Y-%m-%d").to_string();
    let year = release_date[..4].parse::<u16>().unwrap_or(2000);
    let country = if artist.korean {
        "KR"
    } else {
        LATIN_COUNTRIES.choose(rng).expect("countries")
    };
    let album_name_if_long = title(rng, artist.korean);

    let mut songs: Vec<Song> = Vec::with_capacity(tracks);
    for n in 0..tracks {
        let song_title = song_title(catalog, rng, seen, artist);
        let mut artists = vec![artist.name.to_owned()];
        if rng.random_bool(0.12) {
            let other = ARTISTS.choose(rng).expect("artists");
            if other.name != artist.name {
                artists.push(other.name.to_owned());
            }
        }
        let ids = song_ids(catalog, &songs, rng);
        let isrc = unique_isrc(catalog, &songs, rng, country, year);
        songs.push(Song {
            id: first_id + n as u32,
            title: song_title,
            artists,
            album: String::new(),
            album_id,
            duration_ms: rng.random_range(140_000..=300_000),
            isrc,
            release_date: release_date.clone(),
            spotify_id: ids.spotify_id,
            spotify_album_id: album_spotify.clone(),
            youtube_id: ids.youtube_id,
            shazam_key: ids.shazam_key,
            deezer_id: ids.deezer_id,
            musicbrainz_id: ids.musicbrainz_id,
            is_new,
            title_alias: None,
            track_number: n as u32 + 1,
            popularity: if is_new {
                rng.random_range(40..=90)
            } else {
                rng.random_range(5..=80)
            },
            explicit: rng.random_bool(0.08),
            apple_id: ids.apple_id,
        });
    }
    let (album_type, album_name) = if tracks <= 3 {
        (AlbumType::Single, songs[0].title.clone())
    } else {
        (AlbumType::Album, album_name_if_long)
    };
    for s in &mut songs {
        s.album = album_name.clone();
    }
    let album = Album {
        id: album_id,
        name: album_name,
        artists: vec![artist.name.to_owned()],
        album_type,
        release_date,
        spotify_id: album_spotify,
        deezer_id: album_deezer,
        musicbrainz_id: album_mb,
        track_ids: songs.iter().map(|s| s.id).collect(),
        is_new,
    };
    catalog.insert_album(album, songs);
}

/// A title not yet used by this artist; now and then a cover of another artist's title.
fn song_title(
    catalog: &Catalog,
    rng: &mut StdRng,
    seen: &mut TitleSet,
    artist: ArtistSeed,
) -> String {
    if catalog.songs.len() > 50 && rng.random_bool(0.02) {
        let original = &catalog.songs[rng.random_range(0..catalog.songs.len())];
        if seen.insert(&original.title, artist.name) {
            return original.title.clone();
        }
    }
    let korean = artist.korean && rng.random_bool(0.75);
    for _ in 0..64 {
        let t = title(rng, korean);
        if seen.insert(&t, artist.name) {
            return t;
        }
    }
    // Practically unreachable: fall back to a numbered variant.
    let t = format!("{} {}", title(rng, korean), catalog.songs.len());
    seen.insert(&t, artist.name);
    t
}

/// A Korean (1-3 words) or Latin (template) title.
fn title(rng: &mut StdRng, korean: bool) -> String {
    if korean {
        let n = match rng.random_range(0..20) {
            0..=6 => 1,
            7..=15 => 2,
            _ => 3,
        };
        (0..n)
            .map(|_| *KOREAN_WORDS.choose(rng).expect("words"))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        let template = if rng.random_bool(0.2) {
            "{}"
        } else {
            LATIN_TEMPLATES.choose(rng).expect("templates")
        };
        let mut out = String::new();
        let mut parts = template.split("{}").peekable();
        while let Some(part) = parts.next() {
            out.push_str(part);
            if parts.peek().is_some() {
                out.push_str(&title_case(LATIN_WORDS.choose(rng).expect("words")));
            }
        }
        out
    }
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
