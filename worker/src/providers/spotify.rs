//! Spotify Web API: client-credentials token, then `GET /search?type=track` for searches and,
//! for the new-release crawl, `GET /search?q=tag:new&type=album`, `GET /albums/{id}/tracks` and
//! `GET /tracks/{id}` (`/browse/new-releases` is gone for new apps since February 2026).
//!
//! The token is fetched once, shared by every job of the process, before the call's budget is
//! taken (so a granted call goes out at once), and refreshed a minute before it expires or when
//! Spotify answers 401 (a token can be revoked early); the resend after a 401 is a new call
//! with its own grant. Search results
//! and `/tracks/{id}` are full TrackObjects, which carry the ISRC in `external_ids.isrc`;
//! album track lists are simplified tracks without it.

/// Its name, credential and defaults (`spotify/spec.rs`, which `muze-shared` compiles for every
/// binary).
pub use muze_shared::domain::specs::spotify as spec;

use spec::Page;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use muze_shared::{
    config::ProviderSettings,
    domain::{CrawlPage, ProviderName, ProviderTrack},
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::{
    crawler::{self, fan_out, Crawler, Fetched},
    http, Listing, Provider, ProviderError,
};

/// Spotify's search maximum since February 2026.
const MAX_LIMIT: u8 = 10;
/// `/albums/{id}/tracks` serves up to 50 per page.
const ALBUM_TRACKS_LIMIT: u32 = 50;
/// Search pages cannot start past this offset.
const MAX_SEARCH_OFFSET: u32 = 1_000;
/// Refresh this long before the token's stated expiry.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A bearer token and when to stop using it.
#[derive(Debug, Clone)]
struct Token {
    access: SecretString,
    refresh_at: Instant,
}

/// The Spotify client.
#[derive(Debug)]
pub struct Spotify {
    client: reqwest::Client,
    base_url: Url,
    search_url: Url,
    token_url: Url,
    client_id: SecretString,
    client_secret: SecretString,
    market: String,
    page_size: u8,
    token: Mutex<Option<Token>>,
}

impl Spotify {
    /// Builds the client; `None` when the credentials are missing.
    pub fn new(settings: &ProviderSettings, market: &str) -> Option<Spotify> {
        let client_id = settings.client_id.clone()?;
        let client_secret = settings.client_secret.clone()?;
        let token_url = settings.token_url.clone()?;
        Some(Spotify {
            client: http::client(settings.timeout()),
            base_url: settings.base_url.clone(),
            search_url: http::join(&settings.base_url, "search"),
            token_url,
            client_id,
            client_secret,
            market: market.to_string(),
            page_size: settings.page_size.min(MAX_LIMIT),
            token: Mutex::new(None),
        })
    }

    /// A valid token, fetching a new one if there is none or it is about to expire.
    async fn token(&self) -> Result<SecretString, ProviderError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(token.access.clone());
            }
        }
        let token = self.fetch_token().await?;
        let access = token.access.clone();
        *cached = Some(token);
        Ok(access)
    }

    /// Drops the cached token if it is still `stale` (another job may have refreshed it).
    async fn invalidate(&self, stale: &SecretString) {
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.access.expose_secret() == stale.expose_secret())
        {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<Token, ProviderError> {
        let response = self
            .client
            .post(self.token_url.clone())
            .basic_auth(
                self.client_id.expose_secret(),
                Some(self.client_secret.expose_secret()),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(&e))?;
        let status = response.status();
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
            return Err(ProviderError::Permanent(
                "Spotify rejected the client credentials".into(),
            ));
        }
        if !status.is_success() {
            return Err(http::classify_status(status, response.headers()));
        }
        let body: TokenResponse = http::json(response).await?;
        let lifetime = Duration::from_secs(body.expires_in);
        Ok(Token {
            access: SecretString::from(body.access_token),
            refresh_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2)),
        })
    }

    /// `GET url?query` with the cached bearer token ([`Provider::prepare`] fetched it before
    /// the call's budget was taken). A refused token is dropped and the call fails with
    /// [`ProviderError::Unauthorized`]: the resend is a call of its own, with its own grant.
    /// Any other non-success status is classified.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        query: &[(&str, &str)],
    ) -> Result<T, ProviderError> {
        let token = self.token().await?;
        let response = self
            .client
            .get(url)
            .bearer_auth(token.expose_secret())
            .query(query)
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(&e))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            self.invalidate(&token).await;
            return Err(ProviderError::Unauthorized);
        }
        if !status.is_success() {
            return Err(http::classify_status(status, response.headers()));
        }
        http::json(response).await
    }

    /// One page of albums released in the past two weeks (`tag:new`), from `offset`.
    pub async fn new_albums(&self, offset: u32) -> Result<Listing<String>, ProviderError> {
        let limit = u32::from(MAX_LIMIT.min(self.page_size));
        let body: AlbumSearchResponse = self
            .get(
                self.search_url.clone(),
                &[
                    ("q", "tag:new"),
                    ("type", "album"),
                    ("market", self.market.as_str()),
                    ("limit", &limit.to_string()),
                    ("offset", &offset.to_string()),
                ],
            )
            .await?;
        let page = body.albums.unwrap_or_default();
        let ids: Vec<String> = page
            .items
            .into_iter()
            .flatten()
            .filter_map(|a| a.id)
            .collect();
        let next = (page.next.is_some() && !ids.is_empty())
            .then_some(offset + limit)
            .filter(|&n| n <= MAX_SEARCH_OFFSET);
        Ok(Listing { items: ids, next })
    }

    /// One page of an album's track ids, from `offset`.
    pub async fn album_tracks(
        &self,
        album_id: &str,
        offset: u32,
    ) -> Result<Listing<String>, ProviderError> {
        let url = http::join(&self.base_url, &format!("albums/{album_id}/tracks"));
        let body: Paging<SimplifiedTrack> = self
            .get(
                url,
                &[
                    ("market", self.market.as_str()),
                    ("limit", &ALBUM_TRACKS_LIMIT.to_string()),
                    ("offset", &offset.to_string()),
                ],
            )
            .await?;
        let ids: Vec<String> = body
            .items
            .into_iter()
            .flatten()
            .filter_map(|t| t.id)
            .collect();
        let next = (body.next.is_some() && !ids.is_empty()).then_some(offset + ALBUM_TRACKS_LIMIT);
        Ok(Listing { items: ids, next })
    }

    /// One full track, with its ISRC.
    pub async fn track(&self, track_id: &str) -> Result<Vec<ProviderTrack>, ProviderError> {
        let url = http::join(&self.base_url, &format!("tracks/{track_id}"));
        let track: TrackObject = self.get(url, &[("market", self.market.as_str())]).await?;
        Ok(parse_tracks(vec![Some(track)]))
    }
}

#[async_trait]
impl Provider for Spotify {
    fn name(&self) -> ProviderName {
        ProviderName::Spotify
    }

    async fn prepare(&self) -> Result<(), ProviderError> {
        self.token().await.map(|_| ())
    }

    async fn search(&self, query: &str, limit: u8) -> Result<Vec<ProviderTrack>, ProviderError> {
        let limit = limit.clamp(1, self.page_size).to_string();
        let body: SearchResponse = self
            .get(
                self.search_url.clone(),
                &[
                    ("q", query),
                    ("type", "track"),
                    ("market", self.market.as_str()),
                    ("limit", limit.as_str()),
                ],
            )
            .await?;
        Ok(parse(body))
    }
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    tracks: Option<Paging<TrackObject>>,
}

#[derive(Debug, Deserialize)]
struct Paging<T> {
    #[serde(default = "Vec::new")]
    items: Vec<Option<T>>,
    next: Option<String>,
}

impl<T> Default for Paging<T> {
    fn default() -> Self {
        Paging {
            items: Vec::new(),
            next: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct AlbumSearchResponse {
    albums: Option<Paging<SimplifiedAlbum>>,
}

#[derive(Debug, Deserialize)]
struct SimplifiedAlbum {
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SimplifiedTrack {
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TrackObject {
    id: Option<String>,
    name: String,
    #[serde(default)]
    artists: Vec<ArtistObject>,
    album: Option<AlbumObject>,
    duration_ms: Option<i64>,
    external_ids: Option<ExternalIds>,
    external_urls: Option<ExternalUrls>,
}

#[derive(Debug, Deserialize)]
struct ArtistObject {
    name: String,
}

#[derive(Debug, Deserialize)]
struct AlbumObject {
    name: Option<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as [`AlbumObject::release_date_precision`] says.
    release_date: Option<String>,
    /// `year`, `month` or `day`.
    release_date_precision: Option<String>,
    #[serde(default)]
    images: Vec<Image>,
}

#[derive(Debug, Deserialize)]
struct Image {
    url: String,
    width: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct ExternalIds {
    isrc: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExternalUrls {
    spotify: Option<String>,
}

fn parse(body: SearchResponse) -> Vec<ProviderTrack> {
    parse_tracks(body.tracks.map(|p| p.items).unwrap_or_default())
}

fn parse_tracks(items: Vec<Option<TrackObject>>) -> Vec<ProviderTrack> {
    items
        .into_iter()
        .flatten()
        .filter_map(|t| {
            // Local files have no id and cannot be linked to.
            let id = t.id?;
            let url = t
                .external_urls
                .and_then(|u| u.spotify)
                .unwrap_or_else(|| format!("https://open.spotify.com/track/{id}"));
            let (album, release_date, image_url) = match t.album {
                Some(a) => {
                    // The largest image: Spotify lists them widest first, but do not rely on it.
                    let image = a
                        .images
                        .into_iter()
                        .max_by_key(|i| i.width.unwrap_or(0))
                        .map(|i| i.url);
                    let date = a
                        .release_date
                        .map(|d| as_precise_as(d, a.release_date_precision.as_deref()))
                        .filter(|d| !d.is_empty());
                    (a.name, date, image)
                }
                None => (None, None, None),
            };
            Some(ProviderTrack {
                provider: ProviderName::Spotify,
                provider_id: id,
                url,
                title: t.name,
                artists: t.artists.into_iter().map(|a| a.name).collect(),
                album,
                duration_ms: t.duration_ms.and_then(|d| i32::try_from(d).ok()),
                isrc: t
                    .external_ids
                    .and_then(|e| e.isrc)
                    .map(|i| i.trim().to_ascii_uppercase())
                    .filter(|i| !i.is_empty()),
                release_date,
                image_url,
            })
        })
        .collect()
}

/// `date` cut to the precision Spotify states for it: a date said to be known to the year is
/// kept as `YYYY` even when more is written (Spotify's own reference example pairs
/// `"1981-12"` with `"year"`), so a guessed month or day never reaches the catalog.
fn as_precise_as(date: String, precision: Option<&str>) -> String {
    let len = match precision {
        Some("year") => 4,
        Some("month") => 7,
        _ => return date,
    };
    match date.get(..len) {
        Some(cut) if date.len() > len => cut.to_string(),
        _ => date,
    }
}

/// Spotify's new releases: `tag:new` album search, each album's tracks, each track in full
/// (only the full object carries the ISRC).
#[async_trait]
impl Crawler for Spotify {
    fn provider(&self) -> &dyn Provider {
        self
    }

    async fn fetch(&self, page: &CrawlPage) -> Result<Fetched, ProviderError> {
        let CrawlPage::Spotify(mine) = page else {
            return Err(crawler::not_mine(page));
        };
        Ok(match mine {
            Page::NewAlbums { offset } => fan_out(
                self.new_albums(*offset).await?,
                |album_id| {
                    CrawlPage::Spotify(Page::AlbumTracks {
                        album_id,
                        offset: 0,
                    })
                },
                |offset| CrawlPage::Spotify(Page::NewAlbums { offset }),
            ),
            Page::AlbumTracks { album_id, offset } => fan_out(
                self.album_tracks(album_id, *offset).await?,
                |track_id| CrawlPage::Spotify(Page::Track { track_id }),
                |offset| {
                    CrawlPage::Spotify(Page::AlbumTracks {
                        album_id: album_id.clone(),
                        offset,
                    })
                },
            ),
            Page::Track { track_id } => Fetched {
                tracks: self.track(track_id).await?,
                children: Vec::new(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_json(json: &str) -> Vec<ProviderTrack> {
        parse(serde_json::from_str(json).expect("valid payload"))
    }

    #[test]
    fn parses_a_full_track_object() {
        let tracks = parse_json(
            r#"{"tracks":{"href":"x","limit":2,"next":null,"offset":0,"previous":null,"total":1,
            "items":[{"album":{"album_type":"album","total_tracks":13,"id":"a1","name":"Real",
            "release_date":"2010-12-09","release_date_precision":"day","type":"album","uri":"u",
            "images":[{"url":"https://i.scdn.co/image/small","height":64,"width":64},
                      {"url":"https://i.scdn.co/image/big","height":640,"width":640}],
            "artists":[{"id":"ar","name":"IU","type":"artist","uri":"u","href":"h","external_urls":{}}],
            "external_urls":{"spotify":"https://open.spotify.com/album/a1"},"href":"h"},
            "artists":[{"id":"ar","name":"IU","type":"artist","uri":"u","href":"h","external_urls":{}}],
            "disc_number":1,"duration_ms":233000,"explicit":false,
            "external_ids":{"isrc":"kra381001057"},
            "external_urls":{"spotify":"https://open.spotify.com/track/3P3UA61WRQqwCXaoFOTENd"},
            "href":"h","id":"3P3UA61WRQqwCXaoFOTENd","is_local":false,"is_playable":true,
            "name":"좋은 날","popularity":61,"preview_url":null,"track_number":3,"type":"track",
            "uri":"spotify:track:3P3UA61WRQqwCXaoFOTENd","some_future_field":{"x":1}}]}}"#,
        );
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!(t.title, "좋은 날");
        assert_eq!(t.artists, vec!["IU"]);
        assert_eq!(t.album.as_deref(), Some("Real"));
        assert_eq!(t.isrc.as_deref(), Some("KRA381001057"));
        assert_eq!(t.duration_ms, Some(233_000));
        assert_eq!(t.release_date.as_deref(), Some("2010-12-09"));
        assert_eq!(t.image_url.as_deref(), Some("https://i.scdn.co/image/big"));
        assert_eq!(
            t.url,
            "https://open.spotify.com/track/3P3UA61WRQqwCXaoFOTENd"
        );
    }

    /// Trimmed from a recorded `GET /search?q=Bruno+Mars&type=track&market=ID` answer (the
    /// fixture of github.com/hilmiikhsan/music-catalog-api, `internal/repository/spotify`):
    /// two artists on the track and the album, three images widest first, `preview_url` null on
    /// the second item, and a `next` page.
    #[test]
    fn parses_a_recorded_answer_with_two_artists_and_a_null_preview() {
        let tracks = parse_json(
            r#"{"tracks":{"href":"https://api.spotify.com/v1/search?query=Bruno+Mars&type=track&market=ID&locale=en-US%2Cen%3Bq%3D0.9&offset=0&limit=10",
            "items":[{"album":{"album_type":"single","artists":[
              {"external_urls":{"spotify":"https://open.spotify.com/artist/3eVa5w3URK5duf6eyVDbu9"},"href":"https://api.spotify.com/v1/artists/3eVa5w3URK5duf6eyVDbu9","id":"3eVa5w3URK5duf6eyVDbu9","name":"ROSÉ","type":"artist","uri":"spotify:artist:3eVa5w3URK5duf6eyVDbu9"},
              {"external_urls":{"spotify":"https://open.spotify.com/artist/0du5cEVh5yTK9QJze8zA0C"},"href":"https://api.spotify.com/v1/artists/0du5cEVh5yTK9QJze8zA0C","id":"0du5cEVh5yTK9QJze8zA0C","name":"Bruno Mars","type":"artist","uri":"spotify:artist:0du5cEVh5yTK9QJze8zA0C"}],
              "external_urls":{"spotify":"https://open.spotify.com/album/2IYQwwgxgOIn7t3iF6ufFD"},"href":"https://api.spotify.com/v1/albums/2IYQwwgxgOIn7t3iF6ufFD","id":"2IYQwwgxgOIn7t3iF6ufFD",
              "images":[{"height":640,"url":"https://i.scdn.co/image/ab67616d0000b273f8c8297efc6022534f1357e1","width":640},
                        {"height":300,"url":"https://i.scdn.co/image/ab67616d00001e02f8c8297efc6022534f1357e1","width":300},
                        {"height":64,"url":"https://i.scdn.co/image/ab67616d00004851f8c8297efc6022534f1357e1","width":64}],
              "is_playable":true,"name":"APT.","release_date":"2024-10-18","release_date_precision":"day","total_tracks":1,"type":"album","uri":"spotify:album:2IYQwwgxgOIn7t3iF6ufFD"},
            "artists":[
              {"external_urls":{"spotify":"https://open.spotify.com/artist/3eVa5w3URK5duf6eyVDbu9"},"href":"https://api.spotify.com/v1/artists/3eVa5w3URK5duf6eyVDbu9","id":"3eVa5w3URK5duf6eyVDbu9","name":"ROSÉ","type":"artist","uri":"spotify:artist:3eVa5w3URK5duf6eyVDbu9"},
              {"external_urls":{"spotify":"https://open.spotify.com/artist/0du5cEVh5yTK9QJze8zA0C"},"href":"https://api.spotify.com/v1/artists/0du5cEVh5yTK9QJze8zA0C","id":"0du5cEVh5yTK9QJze8zA0C","name":"Bruno Mars","type":"artist","uri":"spotify:artist:0du5cEVh5yTK9QJze8zA0C"}],
            "disc_number":1,"duration_ms":169917,"explicit":false,"external_ids":{"isrc":"USAT22409172"},
            "external_urls":{"spotify":"https://open.spotify.com/track/5vNRhkKd0yEAg8suGBpjeY"},"href":"https://api.spotify.com/v1/tracks/5vNRhkKd0yEAg8suGBpjeY",
            "id":"5vNRhkKd0yEAg8suGBpjeY","is_local":false,"is_playable":true,"name":"APT.","popularity":94,
            "preview_url":"https://p.scdn.co/mp3-preview/6b7763066dd42d94dc893f12bb135d7d5392e386?cid=cfe923b2d660439caf2b557b21f31221",
            "track_number":1,"type":"track","uri":"spotify:track:5vNRhkKd0yEAg8suGBpjeY"},
            {"album":{"album_type":"single","artists":[{"id":"1HY2Jd0NmPuamShAr6KMms","name":"Lady Gaga","type":"artist"},{"id":"0du5cEVh5yTK9QJze8zA0C","name":"Bruno Mars","type":"artist"}],
              "id":"10FLjwfpbxLmW8c25Xyc2N","images":[{"height":640,"url":"https://i.scdn.co/image/ab67616d0000b27382ea2e9e1858aa012c57cd45","width":640}],
              "name":"Die With A Smile","release_date":"2024-08-16","release_date_precision":"day","total_tracks":1,"type":"album"},
            "artists":[{"id":"1HY2Jd0NmPuamShAr6KMms","name":"Lady Gaga","type":"artist"},{"id":"0du5cEVh5yTK9QJze8zA0C","name":"Bruno Mars","type":"artist"}],
            "disc_number":1,"duration_ms":251667,"explicit":false,"external_ids":{"isrc":"USUM72409273"},
            "external_urls":{"spotify":"https://open.spotify.com/track/2plbrEY59IikOBgBGLjaoe"},
            "id":"2plbrEY59IikOBgBGLjaoe","is_local":false,"is_playable":true,"name":"Die With A Smile","popularity":100,
            "preview_url":null,"track_number":1,"type":"track","uri":"spotify:track:2plbrEY59IikOBgBGLjaoe"}],
            "limit":10,"next":"https://api.spotify.com/v1/search?query=Bruno+Mars&type=track&market=ID&locale=en-US%2Cen%3Bq%3D0.9&offset=10&limit=10",
            "offset":0,"previous":null,"total":894}}"#,
        );
        assert_eq!(tracks.len(), 2);
        let apt = &tracks[0];
        assert_eq!(apt.provider_id, "5vNRhkKd0yEAg8suGBpjeY");
        assert_eq!(apt.title, "APT.");
        assert_eq!(apt.artists, vec!["ROSÉ", "Bruno Mars"]);
        assert_eq!(apt.album.as_deref(), Some("APT."));
        assert_eq!(apt.duration_ms, Some(169_917));
        assert_eq!(apt.isrc.as_deref(), Some("USAT22409172"));
        assert_eq!(apt.release_date.as_deref(), Some("2024-10-18"));
        assert_eq!(
            apt.image_url.as_deref(),
            Some("https://i.scdn.co/image/ab67616d0000b273f8c8297efc6022534f1357e1")
        );
        assert_eq!(
            apt.url,
            "https://open.spotify.com/track/5vNRhkKd0yEAg8suGBpjeY"
        );
        let smile = &tracks[1];
        assert_eq!(smile.artists, vec!["Lady Gaga", "Bruno Mars"]);
        assert_eq!(smile.isrc.as_deref(), Some("USUM72409273"));
        assert_eq!(smile.duration_ms, Some(251_667));
    }

    /// Albums known only to the year or the month: `"2001"` / `"year"` is how Spotify sends
    /// System of a Down's *Toxicity* and Miles Davis's *Steamin'* (recorded in public client
    /// fixtures); its reference example pairs `"1981-12"` with `"year"`.
    #[test]
    fn release_dates_keep_the_precision_spotify_states() {
        let track = |date: &str, precision: &str| {
            let json = format!(
                r#"{{"tracks":{{"items":[{{"id":"t","name":"Chop Suey!","artists":[{{"name":"System Of A Down"}}],
                "album":{{"name":"Toxicity","release_date":"{date}","release_date_precision":"{precision}","images":[]}}}}]}}}}"#
            );
            parse_json(&json).remove(0)
        };
        assert_eq!(track("2001", "year").release_date.as_deref(), Some("2001"));
        assert_eq!(track("1981-12", "year").release_date.as_deref(), Some("1981"));
        assert_eq!(track("2010-12", "month").release_date.as_deref(), Some("2010-12"));
        assert_eq!(track("2010-12-09", "day").release_date.as_deref(), Some("2010-12-09"));
        let t = track("2001", "year");
        assert_eq!(t.image_url, None, "an album without images has no image");
        assert_eq!(t.album.as_deref(), Some("Toxicity"));
    }

    #[test]
    fn tolerates_missing_optional_fields() {
        // Development-mode apps may not get popularity, preview_url, external_ids or images.
        let tracks = parse_json(
            r#"{"tracks":{"items":[{"id":"abc","name":"Hype Boy","artists":[{"name":"NewJeans"}]},
            {"id":null,"name":"local file","artists":[]}, null]}}"#,
        );
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].isrc, None);
        assert_eq!(tracks[0].album, None);
        assert_eq!(tracks[0].url, "https://open.spotify.com/track/abc");
    }

    #[test]
    fn no_tracks_key_is_an_empty_answer() {
        assert!(parse_json("{}").is_empty());
        assert!(parse_json(r#"{"tracks":{"items":[]}}"#).is_empty());
    }
}
