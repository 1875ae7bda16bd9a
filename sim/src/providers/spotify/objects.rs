//! Spotify's JSON objects, field for field as in the Web API reference: full and simplified
//! track objects, simplified and full album and artist objects, and paging objects.
//!
//! They are typed structs serialized directly (no intermediate `serde_json::Value`): search
//! answers are the simulator's hottest path. API links (`href`, `next`) point back at the
//! simulator (`<origin>/spotify/v1/...`) so a client can follow them; `external_urls` point at
//! open.spotify.com like the real ones.

use serde::Serialize;
use serde_json::{json, Value};

use crate::catalog::{image_hash, Album, Artist, Catalog, Song};

/// `{"spotify": "https://open.spotify.com/<kind>/<id>"}`.
#[derive(Debug, Serialize)]
pub(crate) struct ExternalUrls {
    spotify: String,
}

/// An ImageObject.
#[derive(Debug, Serialize)]
pub(crate) struct Image {
    url: String,
    height: u32,
    width: u32,
}

/// A SimplifiedArtistObject.
#[derive(Debug, Serialize)]
pub(crate) struct SimplifiedArtist<'a> {
    external_urls: ExternalUrls,
    href: String,
    id: String,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    uri: String,
}

/// A SimplifiedAlbumObject (`album_group` only in artist-album listings).
#[derive(Debug, Serialize)]
pub(crate) struct SimplifiedAlbum<'a> {
    album_type: &'static str,
    total_tracks: usize,
    external_urls: ExternalUrls,
    href: String,
    id: &'a str,
    images: [Image; 3],
    name: &'a str,
    release_date: &'a str,
    release_date_precision: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    uri: String,
    artists: Vec<SimplifiedArtist<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album_group: Option<&'static str>,
}

/// `{"isrc": "..."}`.
#[derive(Debug, Serialize)]
pub(crate) struct ExternalIds<'a> {
    isrc: &'a str,
}

/// A TrackObject (with `album`, `external_ids`, `popularity`) or a SimplifiedTrackObject
/// (without them).
#[derive(Debug, Serialize)]
pub(crate) struct Track<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    album: Option<SimplifiedAlbum<'a>>,
    artists: Vec<SimplifiedArtist<'a>>,
    disc_number: u32,
    duration_ms: u32,
    explicit: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_ids: Option<ExternalIds<'a>>,
    external_urls: ExternalUrls,
    href: String,
    id: &'a str,
    is_local: bool,
    is_playable: bool,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    popularity: Option<u8>,
    /// Always `null` for apps created after November 2024.
    preview_url: Option<&'static str>,
    track_number: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    uri: String,
}

/// A paging object.
#[derive(Debug, Serialize)]
pub(crate) struct Paging<T> {
    href: String,
    limit: usize,
    next: Option<String>,
    offset: usize,
    previous: Option<String>,
    total: usize,
    items: Vec<T>,
}

/// A paging object over `items`; `base` is the request URL without `offset`/`limit`.
pub(crate) fn paging<T>(
    base: &str,
    items: Vec<T>,
    offset: usize,
    limit: usize,
    total: usize,
) -> Paging<T> {
    let sep = if base.contains('?') { '&' } else { '?' };
    let link = |offset: usize| format!("{base}{sep}offset={offset}&limit={limit}");
    Paging {
        href: link(offset),
        limit,
        next: (offset + limit < total).then(|| link(offset + limit)),
        offset,
        previous: (offset > 0).then(|| link(offset.saturating_sub(limit))),
        total,
        items,
    }
}

/// Builds objects for one response.
#[derive(Debug)]
pub(crate) struct Objects<'a> {
    pub(crate) catalog: &'a Catalog,
    /// `<origin>/spotify/v1`.
    pub(crate) api: String,
}

impl<'a> Objects<'a> {
    /// A SimplifiedArtistObject.
    pub(crate) fn artist(&self, name: &'a str) -> SimplifiedArtist<'a> {
        let id = self.catalog.artist_or_derived(name).spotify_id.clone();
        SimplifiedArtist {
            external_urls: ExternalUrls {
                spotify: format!("https://open.spotify.com/artist/{id}"),
            },
            href: format!("{}/artists/{id}", self.api),
            uri: format!("spotify:artist:{id}"),
            id,
            name,
            kind: "artist",
        }
    }

    fn artists(&self, names: &'a [String]) -> Vec<SimplifiedArtist<'a>> {
        names.iter().map(|n| self.artist(n)).collect()
    }

    fn images(prefixes: [&str; 3], sizes: [u32; 3], hash: &str) -> [Image; 3] {
        [0, 1, 2].map(|i| Image {
            url: format!("https://i.scdn.co/image/{}{hash}", prefixes[i]),
            height: sizes[i],
            width: sizes[i],
        })
    }

    /// A SimplifiedAlbumObject.
    pub(crate) fn simplified_album(&self, album: &'a Album) -> SimplifiedAlbum<'a> {
        let id = album.spotify_id.as_str();
        let hash = &image_hash(&["spotify-cover", id])[..24];
        SimplifiedAlbum {
            album_type: album.album_type.as_str(),
            total_tracks: album.track_ids.len(),
            external_urls: ExternalUrls {
                spotify: format!("https://open.spotify.com/album/{id}"),
            },
            href: format!("{}/albums/{id}", self.api),
            id,
            images: Self::images(
                ["ab67616d0000b273", "ab67616d00001e02", "ab67616d00004851"],
                [640, 300, 64],
                hash,
            ),
            name: &album.name,
            release_date: &album.release_date,
            release_date_precision: "day",
            kind: "album",
            uri: format!("spotify:album:{id}"),
            artists: self.artists(&album.artists),
            album_group: None,
        }
    }

    /// An AlbumObject: the simplified album plus its first page of tracks, label, UPC, ...
    pub(crate) fn album(&self, album: &'a Album, tracks: Paging<Track<'a>>) -> Value {
        let mut value = serde_json::to_value(self.simplified_album(album)).unwrap_or_default();
        let upc = format!("{:012}", 880_000_000_000u64 + u64::from(album.id) * 7_919);
        let year = album.release_date.get(..4).unwrap_or_default();
        let owners = album.artists.join(", ");
        let popularity = self
            .catalog
            .album_tracks(album)
            .iter()
            .map(|s| u32::from(s.popularity))
            .max()
            .unwrap_or(0);
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "tracks".into(),
                serde_json::to_value(tracks).unwrap_or_default(),
            );
            map.insert(
                "copyrights".into(),
                json!([
                    {"text": format!("{year} {owners}"), "type": "C"},
                    {"text": format!("{year} {owners}"), "type": "P"},
                ]),
            );
            map.insert("external_ids".into(), json!({ "upc": upc }));
            map.insert("genres".into(), json!([]));
            map.insert("label".into(), json!("Muze Sim Records"));
            map.insert("popularity".into(), json!(popularity));
        }
        value
    }

    /// An ArtistObject (followers, genres, images, popularity).
    pub(crate) fn full_artist(&self, artist: &'a Artist) -> Value {
        let mut value = serde_json::to_value(self.artist(&artist.name)).unwrap_or_default();
        let hash = &image_hash(&["spotify-artist", &artist.spotify_id])[..24];
        let popularity = self
            .catalog
            .albums_by_artist(&artist.name)
            .iter()
            .flat_map(|a| self.catalog.album_tracks(a))
            .map(|s| u32::from(s.popularity))
            .max()
            .unwrap_or(0);
        let images = Self::images(
            ["ab6761610000e5eb", "ab67616100005174", "ab6761610000f178"],
            [640, 320, 160],
            hash,
        );
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "followers".into(),
                json!({"href": null, "total": popularity * 12_345}),
            );
            map.insert(
                "genres".into(),
                json!(if artist.korean { ["k-pop"] } else { ["pop"] }),
            );
            map.insert(
                "images".into(),
                serde_json::to_value(images).unwrap_or_default(),
            );
            map.insert("popularity".into(), json!(popularity));
        }
        value
    }

    fn track_object(&self, song: &'a Song, full: bool) -> Track<'a> {
        let id = song.spotify_id.as_str();
        Track {
            album: if full {
                self.catalog
                    .album(song.album_id)
                    .map(|a| self.simplified_album(a))
            } else {
                None
            },
            artists: self.artists(&song.artists),
            disc_number: 1,
            duration_ms: song.duration_ms,
            explicit: song.explicit,
            external_ids: full.then_some(ExternalIds { isrc: &song.isrc }),
            external_urls: ExternalUrls {
                spotify: format!("https://open.spotify.com/track/{id}"),
            },
            href: format!("{}/tracks/{id}", self.api),
            id,
            is_local: false,
            is_playable: true,
            name: &song.title,
            popularity: full.then_some(song.popularity),
            preview_url: None,
            track_number: song.track_number,
            kind: "track",
            uri: format!("spotify:track:{id}"),
        }
    }

    /// A TrackObject (with `album`, `external_ids.isrc` and `popularity`).
    pub(crate) fn track(&self, song: &'a Song) -> Track<'a> {
        self.track_object(song, true)
    }

    /// A SimplifiedTrackObject (no album, no `external_ids`).
    pub(crate) fn simplified_track(&self, song: &'a Song) -> Track<'a> {
        self.track_object(song, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_objects_have_the_reference_fields() {
        let c = Catalog::generate(42, 20);
        let o = Objects {
            catalog: &c,
            api: "http://sim/spotify/v1".into(),
        };
        let song = c.get(2).unwrap();
        let full = serde_json::to_value(o.track(song)).unwrap();
        for key in [
            "album",
            "artists",
            "disc_number",
            "duration_ms",
            "explicit",
            "external_ids",
            "external_urls",
            "href",
            "id",
            "is_local",
            "is_playable",
            "name",
            "popularity",
            "preview_url",
            "track_number",
            "type",
            "uri",
        ] {
            assert!(full.get(key).is_some(), "TrackObject.{key}");
        }
        assert!(full["preview_url"].is_null());
        assert_eq!(full["external_ids"]["isrc"], "GBDUW0000053");
        assert_eq!(full["album"]["images"][1]["height"], 300);
        let simplified = serde_json::to_value(o.simplified_track(song)).unwrap();
        assert!(simplified.get("external_ids").is_none());
        assert!(simplified.get("album").is_none());
        let page = serde_json::to_value(paging("http://sim/x?q=a", vec![1, 2], 2, 2, 5)).unwrap();
        assert_eq!(page["next"], "http://sim/x?q=a&offset=4&limit=2");
        assert_eq!(page["previous"], "http://sim/x?q=a&offset=0&limit=2");
    }

    #[test]
    #[ignore = "timing, run by hand with --release"]
    fn search_response_build_and_serialize_time() {
        let c = Catalog::generate(42, 3000);
        let o = Objects {
            catalog: &c,
            api: "http://127.0.0.1:1/spotify/v1".into(),
        };
        let songs = c.search("love", 10);
        let started = std::time::Instant::now();
        let mut bytes = 0;
        for _ in 0..2000 {
            let items: Vec<Track<'_>> = songs.iter().map(|s| o.track(s)).collect();
            let page = paging("http://x/search?query=love&type=track", items, 0, 10, 46);
            bytes += serde_json::to_vec(&page).unwrap().len();
        }
        println!(
            "{:?} per response ({} bytes)",
            started.elapsed() / 2000,
            bytes / 2000
        );
    }
}
