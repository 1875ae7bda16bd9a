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

/// Its name, credential and defaults, as the provider list reads them.
pub mod spec;

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
    release_date: Option<String>,
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
                    (a.name, a.release_date, image)
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

/// Spotify's new releases: `tag:new` album search, each album's tracks, each track in full
/// (only the full object carries the ISRC).
#[async_trait]
impl Crawler for Spotify {
    fn provider(&self) -> &dyn Provider {
        self
    }

    async fn fetch(&self, page: &CrawlPage) -> Result<Fetched, ProviderError> {
        Ok(match page {
            CrawlPage::SpotifyNewAlbums { offset } => fan_out(
                self.new_albums(*offset).await?,
                |album_id| CrawlPage::SpotifyAlbumTracks {
                    album_id,
                    offset: 0,
                },
                |offset| CrawlPage::SpotifyNewAlbums { offset },
            ),
            CrawlPage::SpotifyAlbumTracks { album_id, offset } => fan_out(
                self.album_tracks(album_id, *offset).await?,
                |track_id| CrawlPage::SpotifyTrack { track_id },
                |offset| CrawlPage::SpotifyAlbumTracks {
                    album_id: album_id.clone(),
                    offset,
                },
            ),
            CrawlPage::SpotifyTrack { track_id } => Fetched {
                tracks: self.track(track_id).await?,
                children: Vec::new(),
            },
            other => return Err(crawler::not_mine(other)),
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
