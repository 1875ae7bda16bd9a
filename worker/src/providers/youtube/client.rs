//! YouTube Data API v3: `GET /search?part=snippet&type=video&videoCategoryId=10`.
//!
//! Results are videos, not songs: no artist, album, duration or ISRC, only an HTML-escaped
//! free-text title and the uploading channel, from which [`super::title::split_title`] recovers
//! artist and title. The request URL carries the API key in its query string, so it is never
//! logged (and `ProviderError::from_reqwest` strips it from errors).

use async_trait::async_trait;
use chrono::Utc;
use chrono_tz::Tz;
use muze_shared::{
    config::ProviderSettings,
    domain::{ProviderName, ProviderTrack},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{errors::classify_error, title::split_title};
use crate::providers::{http, Provider, ProviderError};

/// search.list's `maxResults` range is 0–50.
const MAX_LIMIT: u8 = 50;
/// `videoCategoryId` of the Music category (requires `type=video`).
const MUSIC_CATEGORY: &str = "10";

/// The YouTube client.
#[derive(Debug)]
pub struct Youtube {
    client: reqwest::Client,
    search_url: Url,
    api_key: SecretString,
    page_size: u8,
    /// Where the daily quota resets at midnight.
    quota_zone: Tz,
}

impl Youtube {
    /// Builds the client; `None` when no API key is configured.
    pub fn new(settings: &ProviderSettings) -> Option<Youtube> {
        let api_key = http::api_key(settings)?;
        Some(Youtube {
            client: http::client(settings.timeout()),
            search_url: http::join(&settings.base_url, "search"),
            api_key,
            page_size: settings.page_size.min(MAX_LIMIT),
            // Validated when the settings loaded.
            quota_zone: settings.quota_timezone.parse().unwrap_or(Tz::UTC),
        })
    }

    /// The search request, built but not sent.
    fn request(&self, query: &str, limit: u8) -> Result<reqwest::Request, ProviderError> {
        let max_results = limit.clamp(1, self.page_size).to_string();
        self.client
            .get(self.search_url.clone())
            .query(&[
                ("part", "snippet"),
                ("type", "video"),
                ("videoCategoryId", MUSIC_CATEGORY),
                ("maxResults", max_results.as_str()),
                ("q", query),
                ("key", self.api_key.expose_secret()),
            ])
            .build()
            // The builder's error would print the URL, key included.
            .map_err(|_| ProviderError::Permanent("could not build the search request".into()))
    }
}

#[async_trait]
impl Provider for Youtube {
    fn name(&self) -> ProviderName {
        ProviderName::Youtube
    }

    async fn search(&self, query: &str, limit: u8) -> Result<Vec<ProviderTrack>, ProviderError> {
        let request = self.request(query, limit)?;
        let response = http::execute(&self.client, request).await?;
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            return Err(classify_error(
                status,
                &headers,
                &body,
                Utc::now(),
                self.quota_zone,
            ));
        }
        let body: SearchListResponse = http::json(response).await?;
        Ok(parse(body))
    }
}

#[derive(Debug, Deserialize)]
struct SearchListResponse {
    items: Option<Vec<Option<SearchResult>>>,
}

#[derive(Debug, Deserialize)]
struct SearchResult {
    id: Option<ResourceId>,
    snippet: Option<Snippet>,
}

#[derive(Debug, Deserialize)]
struct ResourceId {
    #[serde(rename = "videoId")]
    video_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Snippet {
    title: Option<String>,
    #[serde(rename = "channelTitle")]
    channel_title: Option<String>,
    thumbnails: Option<Thumbnails>,
}

#[derive(Debug, Deserialize)]
struct Thumbnails {
    high: Option<Thumbnail>,
    medium: Option<Thumbnail>,
    default: Option<Thumbnail>,
}

#[derive(Debug, Deserialize)]
struct Thumbnail {
    url: String,
}

fn parse(body: SearchListResponse) -> Vec<ProviderTrack> {
    body.items
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            // Channels and playlists have no videoId; they are not songs.
            let id = item.id?.video_id.filter(|id| !id.is_empty())?;
            let snippet = item.snippet?;
            // Reactions, teasers, playlists: not songs, so not results.
            let split = split_title(
                snippet.title.as_deref().unwrap_or_default(),
                snippet.channel_title.as_deref().unwrap_or_default(),
            )?;
            if split.title.is_empty() {
                return None;
            }
            let image_url = snippet
                .thumbnails
                .and_then(|t| t.high.or(t.medium).or(t.default))
                .map(|t| t.url);
            Some(ProviderTrack {
                provider: ProviderName::Youtube,
                url: format!("https://www.youtube.com/watch?v={id}"),
                provider_id: id,
                title: split.title,
                artists: split.artists,
                album: None,
                duration_ms: None,
                isrc: None,
                // `publishedAt` is the upload date, not the song's release date.
                release_date: None,
                image_url,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_search_list_response() {
        let body: SearchListResponse = serde_json::from_str(
            r#"{"kind":"youtube#searchListResponse","etag":"q2b1","nextPageToken":"CAUQAA",
            "regionCode":"KR","pageInfo":{"totalResults":1000000,"resultsPerPage":3},
            "items":[
              {"kind":"youtube#searchResult","etag":"Xn1","id":{"kind":"youtube#video","videoId":"FGBhQbmPwH8"},
               "snippet":{"publishedAt":"2009-10-02T20:12:23Z","channelId":"UCgj","title":"Daft Punk - One More Time (Official Video)",
               "description":"Daft Punk&#39;s official music video","thumbnails":{
                 "default":{"url":"https://i.ytimg.com/vi/FGBhQbmPwH8/default.jpg","width":120,"height":90},
                 "medium":{"url":"https://i.ytimg.com/vi/FGBhQbmPwH8/mqdefault.jpg","width":320,"height":180},
                 "high":{"url":"https://i.ytimg.com/vi/FGBhQbmPwH8/hqdefault.jpg","width":480,"height":360}},
               "channelTitle":"Daft Punk","liveBroadcastContent":"none","publishTime":"2009-10-02T20:12:23Z"}},
              {"kind":"youtube#searchResult","id":{"kind":"youtube#channel","channelId":"UCx"},
               "snippet":{"title":"Daft Punk","channelTitle":"Daft Punk"}},
              {"kind":"youtube#searchResult","id":{"kind":"youtube#video","videoId":"jeqdYqsrsA0"},
               "snippet":{"title":"[MV] IU(아이유) _ Good Day(좋은 날)","channelTitle":"1theK (원더케이)",
               "thumbnails":{"default":{"url":"https://i.ytimg.com/vi/jeqdYqsrsA0/default.jpg"}}}}
            ]}"#,
        )
        .expect("valid payload");
        let tracks = parse(body);
        assert_eq!(tracks.len(), 2, "the channel result is skipped");
        let t = &tracks[0];
        assert_eq!(t.provider, ProviderName::Youtube);
        assert_eq!(t.provider_id, "FGBhQbmPwH8");
        assert_eq!(t.url, "https://www.youtube.com/watch?v=FGBhQbmPwH8");
        assert_eq!(t.title, "One More Time");
        assert_eq!(t.artists, vec!["Daft Punk"]);
        assert_eq!(
            t.image_url.as_deref(),
            Some("https://i.ytimg.com/vi/FGBhQbmPwH8/hqdefault.jpg")
        );
        assert_eq!((t.album.as_deref(), t.duration_ms), (None, None));
        assert_eq!((t.isrc.as_deref(), t.release_date.as_deref()), (None, None));
        assert_eq!(tracks[1].artists, vec!["IU"]);
        assert_eq!(
            tracks[1].image_url.as_deref(),
            Some("https://i.ytimg.com/vi/jeqdYqsrsA0/default.jpg")
        );
    }

    #[test]
    fn no_items_is_an_empty_answer() {
        let parse_json = |s: &str| parse(serde_json::from_str(s).expect("valid payload"));
        assert!(parse_json(r#"{"kind":"youtube#searchListResponse","items":[]}"#).is_empty());
        assert!(parse_json("{}").is_empty());
    }

    fn settings(env: &[(&str, &str)]) -> muze_shared::Settings {
        muze_shared::Settings::load_from(
            None,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .expect("settings load")
    }

    #[test]
    fn needs_an_api_key_and_sends_it_with_the_music_filters() {
        assert!(Youtube::new(settings(&[]).providers.get(ProviderName::Youtube)).is_none());
        let s = settings(&[
            ("MUZE__PROVIDERS__YOUTUBE__API_KEY", "k3y"),
            (
                "MUZE__PROVIDERS__YOUTUBE__BASE_URL",
                "http://127.0.0.1:9/youtube/youtube/v3",
            ),
            ("MUZE__PROVIDERS__YOUTUBE__PAGE_SIZE", "7"),
        ]);
        let youtube = Youtube::new(s.providers.get(ProviderName::Youtube)).expect("configured");
        let request = youtube.request("아이유 좋은 날", 20).expect("request");
        let url = request.url();
        assert_eq!(url.path(), "/youtube/youtube/v3/search");
        let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        for (k, v) in [
            ("part", "snippet"),
            ("type", "video"),
            ("videoCategoryId", "10"),
            ("maxResults", "7"),
            ("q", "아이유 좋은 날"),
            ("key", "k3y"),
        ] {
            assert!(
                params.contains(&(k.into(), v.into())),
                "{k}={v} in {params:?}"
            );
        }
    }
}
