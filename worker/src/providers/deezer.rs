//! Deezer's public API (keyless): `GET /search?q&limit` for searches and, for the new-release
//! crawl, `GET /editorial/0/releases`, `GET /chart/0/albums` and `GET /album/{id}/tracks`
//! (whose items carry the ISRC).
//!
//! Deezer reports its errors with HTTP 200 and a JSON `error` object, so the body decides the
//! outcome, not the status: code 4 is its 50-per-5-seconds-per-IP quota, 700 "service busy",
//! 800 "no data" (a valid empty answer). Search items carry no ISRC (only `/track/{id}` does)
//! and give `duration` in seconds.

/// Its name, credential and defaults (`deezer/spec.rs`, which `muze-shared` compiles for every
/// binary).
pub use muze_shared::domain::specs::deezer as spec;

use spec::Page;

use std::time::Duration;

use async_trait::async_trait;
use muze_shared::{
    config::ProviderSettings,
    domain::{AlbumInfo, CrawlPage, ProviderName, ProviderTrack},
};
use serde::Deserialize;
use url::Url;

use super::{
    crawler::{self, fan_out, Crawler, Fetched},
    http, Listing, Provider, ProviderError,
};

/// Largest page Deezer serves per request.
const MAX_LIMIT: u8 = 100;
/// Crawl listings ask for full pages: fewer calls for the same albums.
const CRAWL_PAGE: u32 = 100;
/// Deezer sends no `Retry-After`; its quota window is 5 seconds.
const QUOTA_BACKOFF: Duration = Duration::from_secs(5);
/// `error.code` values from Deezer's error table.
const QUOTA: i64 = 4;
const SERVICE_BUSY: i64 = 700;
const DATA_NOT_FOUND: i64 = 800;

/// The Deezer client.
#[derive(Debug)]
pub struct Deezer {
    client: reqwest::Client,
    base_url: Url,
    search_url: Url,
    page_size: u8,
}

impl Deezer {
    /// Builds the client; Deezer needs no credentials, so this always succeeds.
    pub fn new(settings: &ProviderSettings) -> Option<Deezer> {
        Some(Deezer {
            client: http::client(settings.timeout()),
            base_url: settings.base_url.clone(),
            search_url: http::join(&settings.base_url, "search"),
            page_size: settings.page_size.min(MAX_LIMIT),
        })
    }

    /// The search request, built but not sent.
    fn request(&self, query: &str, limit: u8) -> Result<reqwest::Request, ProviderError> {
        let limit = limit.clamp(1, self.page_size).to_string();
        self.client
            .get(self.search_url.clone())
            .query(&[("q", query), ("limit", limit.as_str())])
            .build()
            .map_err(|_| ProviderError::Permanent("could not build the search request".into()))
    }
}

impl Deezer {
    /// `GET base/path?index&limit`, read as a Deezer listing (errors arrive with HTTP 200).
    async fn listing<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        index: u32,
    ) -> Result<(Vec<T>, Option<u32>), ProviderError> {
        let request = self
            .client
            .get(http::join(&self.base_url, path))
            .query(&[("index", index), ("limit", CRAWL_PAGE)])
            .build()
            .map_err(|_| ProviderError::Permanent("could not build the request".into()))?;
        let response = http::execute(&self.client, request).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(http::classify_status(status, response.headers()));
        }
        let body: Envelope<T> = http::json(response).await?;
        let has_next = body.next.is_some();
        let items: Vec<T> = check(body.error, body.data)?
            .into_iter()
            .flatten()
            .collect();
        let next = (has_next && !items.is_empty()).then_some(index + CRAWL_PAGE);
        Ok((items, next))
    }

    /// One page of new releases: editorial picks, or the album chart when `chart`; each album
    /// with what the listing says of it (title, cover, release date where it gives one).
    pub async fn new_albums(
        &self,
        chart: bool,
        index: u32,
    ) -> Result<Listing<(u64, AlbumInfo)>, ProviderError> {
        let path = if chart {
            "chart/0/albums"
        } else {
            "editorial/0/releases"
        };
        let (albums, next) = self.listing::<AlbumListing>(path, index).await?;
        Ok(Listing {
            items: albums.into_iter().filter_map(AlbumListing::info).collect(),
            next,
        })
    }

    /// One page of an album's tracks, with ISRCs. The items name no album, so each track gets
    /// `album`, the listing's word on it.
    pub async fn album_tracks(
        &self,
        album_id: u64,
        index: u32,
        album: &AlbumInfo,
    ) -> Result<Listing<ProviderTrack>, ProviderError> {
        let (items, next) = self
            .listing::<TrackItem>(&format!("album/{album_id}/tracks"), index)
            .await?;
        Ok(Listing {
            items: with_album(parse(items.into_iter().map(Some).collect()), album),
            next,
        })
    }
}

/// Fills what an album track list leaves out from what the album listing said.
fn with_album(tracks: Vec<ProviderTrack>, album: &AlbumInfo) -> Vec<ProviderTrack> {
    tracks
        .into_iter()
        .map(|mut t| {
            t.album = t.album.or_else(|| album.title.clone());
            t.image_url = t.image_url.or_else(|| album.cover_url.clone());
            t.release_date = t.release_date.or_else(|| album.release_date.clone());
            t
        })
        .collect()
}

#[async_trait]
impl Provider for Deezer {
    fn name(&self) -> ProviderName {
        ProviderName::Deezer
    }

    async fn search(&self, query: &str, limit: u8) -> Result<Vec<ProviderTrack>, ProviderError> {
        let request = self.request(query, limit)?;
        let response = http::execute(&self.client, request).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(http::classify_status(status, response.headers()));
        }
        let body: SearchResponse = http::json(response).await?;
        interpret(body)
    }
}

/// A 200 answer: either an `error` object or the results.
fn interpret(body: SearchResponse) -> Result<Vec<ProviderTrack>, ProviderError> {
    check(body.error, body.data).map(parse)
}

/// The data of a 200 answer, or the error it carries. "No data" is an empty answer.
fn check<T>(error: Option<ErrorObject>, data: Option<Vec<T>>) -> Result<Vec<T>, ProviderError> {
    let Some(error) = error else {
        return Ok(data.unwrap_or_default());
    };
    let describe = || {
        format!(
            "Deezer error {} {}: {}",
            error.code.map_or_else(|| "?".into(), |c| c.to_string()),
            error.kind.as_deref().unwrap_or("?"),
            error.message.as_deref().unwrap_or("")
        )
    };
    match error.code {
        Some(QUOTA) => Err(ProviderError::RateLimited {
            retry_after: Some(QUOTA_BACKOFF),
        }),
        Some(SERVICE_BUSY) => Err(ProviderError::Transient(describe())),
        Some(DATA_NOT_FOUND) => Ok(Vec::new()),
        _ => Err(ProviderError::Permanent(describe())),
    }
}

/// Deezer's new releases: editorial releases and the album chart, then each album's tracks
/// (which carry the ISRC, and take the album from the listing).
#[async_trait]
impl Crawler for Deezer {
    fn provider(&self) -> &dyn Provider {
        self
    }

    async fn fetch(&self, page: &CrawlPage) -> Result<Fetched, ProviderError> {
        let CrawlPage::Deezer(mine) = page else {
            return Err(crawler::not_mine(page));
        };
        let album_page = |(album_id, album)| {
            CrawlPage::Deezer(Page::AlbumTracks {
                album_id,
                index: 0,
                album,
            })
        };
        Ok(match mine {
            Page::NewReleases { index } => {
                fan_out(self.new_albums(false, *index).await?, album_page, |index| {
                    CrawlPage::Deezer(Page::NewReleases { index })
                })
            }
            Page::ChartAlbums { index } => {
                fan_out(self.new_albums(true, *index).await?, album_page, |index| {
                    CrawlPage::Deezer(Page::ChartAlbums { index })
                })
            }
            Page::AlbumTracks {
                album_id,
                index,
                album,
            } => {
                let listing = self.album_tracks(*album_id, *index, album).await?;
                Fetched {
                    tracks: listing.items,
                    children: listing
                        .next
                        .map(|index| {
                            CrawlPage::Deezer(Page::AlbumTracks {
                                album_id: *album_id,
                                index,
                                album: album.clone(),
                            })
                        })
                        .into_iter()
                        .collect(),
                }
            }
        })
    }
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    data: Option<Vec<Option<TrackItem>>>,
    error: Option<ErrorObject>,
}

/// A listing page: `data`, a `next` link while there is more, or an `error`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: Option<Vec<Option<T>>>,
    next: Option<String>,
    error: Option<ErrorObject>,
}

#[derive(Debug, Deserialize)]
struct AlbumListing {
    id: Option<u64>,
    title: Option<String>,
    cover_big: Option<String>,
    cover_medium: Option<String>,
    /// On editorial releases; the chart leaves it out.
    release_date: Option<String>,
}

impl AlbumListing {
    fn info(self) -> Option<(u64, AlbumInfo)> {
        let present = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Some((
            self.id?,
            AlbumInfo {
                title: present(self.title),
                cover_url: present(self.cover_big.or(self.cover_medium)),
                release_date: present(self.release_date),
            },
        ))
    }
}

#[derive(Debug, Deserialize)]
struct ErrorObject {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    code: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct TrackItem {
    id: Option<i64>,
    title: Option<String>,
    link: Option<String>,
    /// Seconds.
    duration: Option<i64>,
    artist: Option<ArtistItem>,
    album: Option<AlbumItem>,
    /// Only on album track lists and `/track/{id}`.
    isrc: Option<String>,
    release_date: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ArtistItem {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AlbumItem {
    title: Option<String>,
    cover_big: Option<String>,
    cover_medium: Option<String>,
}

fn parse(items: Vec<Option<TrackItem>>) -> Vec<ProviderTrack> {
    items
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let id = t.id?;
            let title = t.title.filter(|s| !s.trim().is_empty())?;
            let (album, image_url) = match t.album {
                Some(a) => (a.title, a.cover_big.or(a.cover_medium)),
                None => (None, None),
            };
            Some(ProviderTrack {
                provider: ProviderName::Deezer,
                provider_id: id.to_string(),
                url: t
                    .link
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| format!("https://www.deezer.com/track/{id}")),
                title,
                artists: t
                    .artist
                    .and_then(|a| a.name)
                    .filter(|n| !n.trim().is_empty())
                    .into_iter()
                    .collect(),
                album: album.filter(|a| !a.is_empty()),
                duration_ms: t
                    .duration
                    .filter(|&s| s > 0)
                    .and_then(|s| i32::try_from(s.checked_mul(1000)?).ok()),
                // Search items have none; album track lists and `/track/{id}` do.
                isrc: t
                    .isrc
                    .map(|i| i.trim().to_ascii_uppercase())
                    .filter(|i| !i.is_empty()),
                release_date: t.release_date.filter(|d| !d.is_empty()),
                image_url: image_url.filter(|u| !u.is_empty()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interpret_json(json: &str) -> Result<Vec<ProviderTrack>, ProviderError> {
        interpret(serde_json::from_str(json).expect("valid payload"))
    }

    #[test]
    fn album_tracks_take_title_cover_and_date_from_the_listing_that_named_the_album() {
        // `/editorial/0/releases` and `/album/{id}/tracks` as Deezer sends them: the listing's
        // albums carry title, covers and release date; the track list's items carry the ISRC
        // and no album.
        let listing: Envelope<AlbumListing> = serde_json::from_str(
            r#"{"data":[{"id":302127,"title":"Discovery","link":"https://www.deezer.com/album/302127",
              "cover":"https://api.deezer.com/album/302127/image",
              "cover_medium":"https://e-cdns-images.dzcdn.net/images/cover/2e01/250x250-000000-80-0-0.jpg",
              "cover_big":"https://e-cdns-images.dzcdn.net/images/cover/2e01/500x500-000000-80-0-0.jpg",
              "genre_id":113,"release_date":"2001-03-07","record_type":"album","explicit_lyrics":false,
              "artist":{"id":27,"name":"Daft Punk","type":"artist"},"type":"album"},
              {"id":1121401,"title":"Chart Album","cover_medium":"https://cdn/m.jpg","type":"album"}],
              "total":2}"#,
        )
        .expect("valid listing");
        let albums: Vec<(u64, AlbumInfo)> = listing
            .data
            .expect("data")
            .into_iter()
            .flatten()
            .filter_map(AlbumListing::info)
            .collect();
        assert_eq!(albums[0].0, 302127);
        assert_eq!(albums[0].1.title.as_deref(), Some("Discovery"));
        assert_eq!(
            albums[0].1.cover_url.as_deref(),
            Some("https://e-cdns-images.dzcdn.net/images/cover/2e01/500x500-000000-80-0-0.jpg")
        );
        assert_eq!(albums[0].1.release_date.as_deref(), Some("2001-03-07"));
        // The chart gives no release date; the medium cover stands in for the big one.
        assert_eq!(albums[1].1.release_date, None);
        assert_eq!(albums[1].1.cover_url.as_deref(), Some("https://cdn/m.jpg"));

        let tracks: Envelope<TrackItem> = serde_json::from_str(
            r#"{"data":[{"id":3135553,"readable":true,"title":"One More Time","title_short":"One More Time",
              "title_version":"","isrc":"GBDUW0000053","link":"https://www.deezer.com/track/3135553",
              "duration":320,"track_position":1,"disk_number":1,"rank":851865,"explicit_lyrics":false,
              "explicit_content_lyrics":0,"explicit_content_cover":0,
              "preview":"https://cdns-preview-e.dzcdn.net/stream/c-e77d23e0c8ed7567a507a6d1b6a9ca1b-11.mp3",
              "md5_image":"2e018122cb56986277102d2041a592c8",
              "artist":{"id":27,"name":"Daft Punk","tracklist":"https://api.deezer.com/artist/27/top?limit=50","type":"artist"},
              "type":"track"}],"total":14,"next":"https://api.deezer.com/album/302127/tracks?index=25"}"#,
        )
        .expect("valid track list");
        let items = tracks.data.expect("data").into_iter().collect();
        let found = with_album(parse(items), &albums[0].1);
        let t = &found[0];
        assert_eq!(t.provider_id, "3135553");
        assert_eq!(t.title, "One More Time");
        assert_eq!(t.artists, vec!["Daft Punk"]);
        assert_eq!(t.isrc.as_deref(), Some("GBDUW0000053"));
        assert_eq!(t.duration_ms, Some(320_000));
        assert_eq!(t.album.as_deref(), Some("Discovery"));
        assert_eq!(t.release_date.as_deref(), Some("2001-03-07"));
        assert_eq!(t.image_url, albums[0].1.cover_url);
        assert_eq!(t.url, "https://www.deezer.com/track/3135553");
    }

    #[test]
    fn parses_search_items() {
        let tracks = interpret_json(
            r#"{"data":[{"id":3135553,"readable":true,"title":"One More Time","title_short":"One More Time",
            "title_version":"","link":"https://www.deezer.com/track/3135553","duration":320,"rank":851865,
            "explicit_lyrics":false,"explicit_content_lyrics":0,"explicit_content_cover":0,
            "preview":"https://cdns-preview-e.dzcdn.net/stream/c-e77d23e0c8ed7567a507a6d1b6a9ca1b-7.mp3",
            "md5_image":"2e018122cb56986277102d2041a592c8",
            "artist":{"id":27,"name":"Daft Punk","link":"https://www.deezer.com/artist/27",
              "picture_medium":"https://e-cdns-images.dzcdn.net/images/artist/f2bc/250x250-000000-80-0-0.jpg",
              "tracklist":"https://api.deezer.com/artist/27/top?limit=50","type":"artist"},
            "album":{"id":302127,"title":"Discovery",
              "cover_medium":"https://e-cdns-images.dzcdn.net/images/cover/2e01/250x250-000000-80-0-0.jpg",
              "tracklist":"https://api.deezer.com/album/302127/tracks","type":"album"},
            "type":"track"}],
            "total":41,"next":"https://api.deezer.com/search?q=one%20more%20time%20daft%20punk&index=25"}"#,
        )
        .expect("results");
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!(t.provider, ProviderName::Deezer);
        assert_eq!(t.provider_id, "3135553");
        assert_eq!(t.url, "https://www.deezer.com/track/3135553");
        assert_eq!(t.title, "One More Time");
        assert_eq!(t.artists, vec!["Daft Punk"]);
        assert_eq!(t.album.as_deref(), Some("Discovery"));
        assert_eq!(t.duration_ms, Some(320_000), "seconds become milliseconds");
        assert_eq!(t.isrc, None);
        assert_eq!(
            t.image_url.as_deref(),
            Some("https://e-cdns-images.dzcdn.net/images/cover/2e01/250x250-000000-80-0-0.jpg")
        );
    }

    #[test]
    fn tolerates_missing_optional_fields_and_prefers_the_big_cover() {
        let tracks = interpret_json(
            r#"{"data":[
              {"id":1109731,"title":"좋은 날","duration":233,"artist":{"name":"아이유"},
               "album":{"title":"Real","cover_medium":"https://cdn/m.jpg","cover_big":"https://cdn/b.jpg","cover_xl":"https://cdn/xl.jpg"},
               "future_field":[1,2]},
              {"id":42,"title":"Hype Boy"},
              {"title":"no id"},
              null]}"#,
        )
        .expect("results");
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0].artists, vec!["아이유"]);
        assert_eq!(tracks[0].image_url.as_deref(), Some("https://cdn/b.jpg"));
        assert_eq!(tracks[1].url, "https://www.deezer.com/track/42");
        assert!(tracks[1].artists.is_empty());
        assert_eq!(
            (tracks[1].duration_ms, tracks[1].album.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn empty_data_is_an_empty_answer() {
        assert_eq!(interpret_json(r#"{"data":[],"total":0}"#), Ok(vec![]));
        assert_eq!(interpret_json("{}"), Ok(vec![]));
    }

    #[test]
    fn quota_error_with_http_200_is_rate_limited_for_five_seconds() {
        assert_eq!(
            interpret_json(
                r#"{"error":{"type":"Exception","message":"Quota limit exceeded","code":4}}"#
            ),
            Err(ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(5))
            })
        );
    }

    #[test]
    fn no_data_error_is_an_empty_answer() {
        assert_eq!(
            interpret_json(r#"{"error":{"type":"DataException","message":"no data","code":800}}"#),
            Ok(vec![])
        );
    }

    #[test]
    fn classifies_other_deezer_errors() {
        assert!(matches!(
            interpret_json(r#"{"error":{"type":"Exception","message":"Service busy","code":700}}"#),
            Err(ProviderError::Transient(_))
        ));
        assert_eq!(
            interpret_json(
                r#"{"error":{"type":"ParameterException","message":"Wrong parameter","code":500}}"#
            ),
            Err(ProviderError::Permanent(
                "Deezer error 500 ParameterException: Wrong parameter".into()
            ))
        );
        assert!(matches!(
            interpret_json(r#"{"error":{}}"#),
            Err(ProviderError::Permanent(_))
        ));
    }

    #[test]
    fn builds_without_credentials_and_caps_the_limit() {
        let s = muze_shared::Settings::load_from(None, Vec::<(String, String)>::new())
            .expect("defaults");
        let deezer = Deezer::new(s.providers.get(ProviderName::Deezer)).expect("keyless");
        let request = deezer.request("아이유", 200).expect("request");
        assert_eq!(
            request.url().as_str(),
            "https://api.deezer.com/search?q=%EC%95%84%EC%9D%B4%EC%9C%A0&limit=10"
        );
    }
}
