//! Deezer's JSON objects: artists, album references and listings, and tracks in their three
//! shapes (search item without ISRC, album track with ISRC and position, full track).

use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::catalog::{image_hash, Album, Catalog, Song};
use crate::wire::origin;

/// Builds Deezer objects with links back into the simulator.
pub(crate) struct Objects<'a> {
    pub(crate) catalog: &'a Catalog,
    /// `<origin>/deezer`.
    pub(crate) api: String,
}

/// Objects for a request that arrived with `headers`.
pub(crate) fn objects<'a>(catalog: &'a Catalog, headers: &HeaderMap) -> Objects<'a> {
    Objects {
        catalog,
        api: format!("{}/deezer", origin(headers)),
    }
}

fn cover(kind: &str, md5: &str, size: u32) -> String {
    format!("https://e-cdns-images.dzcdn.net/images/{kind}/{md5}/{size}x{size}-000000-80-0-0.jpg")
}

/// `"봄여름가을겨울 (Still Life)"` → (`"봄여름가을겨울"`, `"(Still Life)"`).
fn title_parts(title: &str) -> (&str, &str) {
    match title.find(" (") {
        Some(i) if title.ends_with(')') => (&title[..i], &title[i + 1..]),
        _ => (title, ""),
    }
}

impl Objects<'_> {
    /// An artist; `full` adds `share` and `radio` (as in `track/{id}`).
    pub(crate) fn artist(&self, name: &str, full: bool) -> Value {
        let a = self.catalog.artist_or_derived(name);
        let md5 = image_hash(&["deezer-artist", &a.name]);
        let id = a.deezer_id;
        let mut v = json!({
            "id": id,
            "name": a.name,
            "link": format!("https://www.deezer.com/artist/{id}"),
            "picture": format!("https://api.deezer.com/artist/{id}/image"),
            "picture_small": cover("artist", &md5, 56),
            "picture_medium": cover("artist", &md5, 250),
            "picture_big": cover("artist", &md5, 500),
            "picture_xl": cover("artist", &md5, 1000),
            "tracklist": format!("https://api.deezer.com/artist/{id}/top?limit=50"),
            "type": "artist",
        });
        if full {
            v["share"] = json!(format!(
                "https://www.deezer.com/artist/{id}?utm_source=deezer"
            ));
            v["radio"] = json!(true);
        }
        v
    }

    /// The album as embedded in a track.
    fn album_ref(&self, album: &Album) -> Value {
        let md5 = image_hash(&["deezer-cover", &album.deezer_id.to_string()]);
        let id = album.deezer_id;
        json!({
            "id": id,
            "title": album.name,
            "cover": format!("https://api.deezer.com/album/{id}/image"),
            "cover_small": cover("cover", &md5, 56),
            "cover_medium": cover("cover", &md5, 250),
            "cover_big": cover("cover", &md5, 500),
            "cover_xl": cover("cover", &md5, 1000),
            "md5_image": md5,
            "tracklist": format!("{}/album/{id}/tracks", self.api),
            "type": "album",
        })
    }

    /// An album as listed by editorial releases, charts and album search.
    pub(crate) fn album_listing(&self, album: &Album) -> Value {
        let mut v = self.album_ref(album);
        let id = album.deezer_id;
        let korean = self.catalog.artist_or_derived(&album.artists[0]).korean;
        v["link"] = json!(format!("https://www.deezer.com/album/{id}"));
        v["genre_id"] = json!(if korean { 16 } else { 132 });
        v["nb_tracks"] = json!(album.track_ids.len());
        v["release_date"] = json!(album.release_date);
        v["record_type"] = json!(album.album_type.as_str());
        v["explicit_lyrics"] = json!(false);
        v["artist"] = self.artist(&album.artists[0], false);
        v
    }

    fn album_deezer_id(&self, song: &Song) -> u64 {
        self.catalog.album(song.album_id).map_or(0, |a| a.deezer_id)
    }

    /// A track as in search results (no ISRC).
    pub(crate) fn track_item(&self, song: &Song) -> Value {
        let (short, version) = title_parts(&song.title);
        let md5 = image_hash(&["deezer-cover", &self.album_deezer_id(song).to_string()]);
        let preview = image_hash(&["deezer-preview", &song.deezer_id.to_string()]);
        let mut v = json!({
            "id": song.deezer_id,
            "readable": true,
            "title": song.title,
            "title_short": short,
            "title_version": version,
            "link": format!("https://www.deezer.com/track/{}", song.deezer_id),
            "duration": (song.duration_ms + 500) / 1000,
            "rank": u32::from(song.popularity) * 10_000 + (song.deezer_id % 10_000) as u32,
            "explicit_lyrics": song.explicit,
            "explicit_content_lyrics": u8::from(song.explicit),
            "explicit_content_cover": 0,
            "preview": format!("https://cdns-preview-{}.dzcdn.net/stream/c-{preview}-7.mp3", &preview[..1]),
            "md5_image": md5,
            "artist": self.artist(song.primary_artist(), false),
            "type": "track",
        });
        if let Some(album) = self.catalog.album(song.album_id) {
            v["album"] = self.album_ref(album);
        }
        v
    }

    /// A track as in album track lists: with ISRC and position, and no album object (the list
    /// is the album's; the real API leaves it out).
    pub(crate) fn album_track(&self, song: &Song) -> Value {
        let mut v = self.track_item(song);
        if let Some(fields) = v.as_object_mut() {
            fields.remove("album");
        }
        v["isrc"] = json!(song.isrc);
        v["track_position"] = json!(song.track_number);
        v["disk_number"] = json!(1);
        v
    }

    /// The full `track/{id}` object: ISRC, release date, contributors, ...
    pub(crate) fn track_full(&self, song: &Song) -> Value {
        let mut v = self.album_track(song);
        let id = song.deezer_id;
        v["share"] = json!(format!(
            "https://www.deezer.com/track/{id}?utm_source=deezer"
        ));
        v["release_date"] = json!(song.release_date);
        v["bpm"] = json!(80 + song.id % 90);
        v["gain"] = json!(-8.5);
        v["available_countries"] = json!(["KR", "US", "GB", "FR", "DE", "JP"]);
        v["contributors"] = Value::Array(
            song.artists
                .iter()
                .map(|name| {
                    let mut a = self.artist(name, true);
                    a["role"] = json!("Main");
                    a
                })
                .collect(),
        );
        v["artist"] = self.artist(song.primary_artist(), true);
        if let Some(album) = self.catalog.album(song.album_id) {
            v["album"] = self.album_ref(album);
            v["album"]["link"] = json!(format!("https://www.deezer.com/album/{}", album.deezer_id));
            v["album"]["release_date"] = json!(album.release_date);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_title_versions() {
        assert_eq!(
            title_parts("봄여름가을겨울 (Still Life)"),
            ("봄여름가을겨울", "(Still Life)")
        );
        assert_eq!(title_parts("One More Time"), ("One More Time", ""));
    }

    #[test]
    fn search_items_carry_no_isrc_but_album_tracks_do() {
        let c = Catalog::generate(42, 20);
        let o = Objects {
            catalog: &c,
            api: "http://sim/deezer".into(),
        };
        let song = c.get(2).unwrap();
        let item = o.track_item(song);
        assert!(item.get("isrc").is_none());
        assert_eq!(item["duration"], 320);
        assert_eq!(o.album_track(song)["isrc"], "GBDUW0000053");
        assert!(o.album_track(song).get("album").is_none());
        assert_eq!(o.track_full(song)["album"]["id"], item["album"]["id"]);
        assert_eq!(o.track_full(song)["contributors"][0]["role"], "Main");
    }
}
