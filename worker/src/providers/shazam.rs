//! Shazam through RapidAPI (apidojo's "shazam" API): `GET /search?term&locale&offset&limit`
//! with the `X-RapidAPI-Key` and `X-RapidAPI-Host` headers.
//!
//! RapidAPI enforces the plan's per-minute limit with 429 and a monthly quota on top; a 401 or
//! 403 means a bad key or no subscription, which retrying cannot fix. A search without hits
//! answers `{}`. Hits carry Shazam's `key`, a title and a `subtitle` that is the artist display
//! string; no ISRC, album or duration.

/// Its name, credential and defaults (`shazam/spec.rs`, which `muze-shared` compiles for every
/// binary).
pub use muze_shared::domain::specs::shazam as spec;

use async_trait::async_trait;
use muze_shared::{
    config::ProviderSettings,
    domain::{ProviderName, ProviderTrack},
};
use reqwest::{header::HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{artists, http, Provider, ProviderError};

/// Results per call. The API's own maximum is not documented; apps use 5–20.
const MAX_LIMIT: u8 = 20;
/// RapidAPI's host name for this API: what `X-RapidAPI-Host` must say.
const RAPIDAPI_HOST: &str = "shazam.p.rapidapi.com";
/// Result language.
const LOCALE: &str = "en-US";

/// The Shazam client.
#[derive(Debug)]
pub struct Shazam {
    client: reqwest::Client,
    search_url: Url,
    api_key: SecretString,
    rapidapi_host: String,
    page_size: u8,
}

impl Shazam {
    /// Builds the client; `None` when no RapidAPI key is configured.
    pub fn new(settings: &ProviderSettings) -> Option<Shazam> {
        let api_key = http::api_key(settings)?;
        Some(Shazam {
            client: http::client(settings.timeout()),
            search_url: http::join(&settings.base_url, "search"),
            api_key,
            rapidapi_host: rapidapi_host(&settings.base_url),
            page_size: settings.page_size.min(MAX_LIMIT),
        })
    }

    /// The search request, built but not sent.
    fn request(&self, query: &str, limit: u8) -> Result<reqwest::Request, ProviderError> {
        let limit = limit.clamp(1, self.page_size).to_string();
        self.client
            .get(self.search_url.clone())
            .query(&[
                ("term", query),
                ("locale", LOCALE),
                ("offset", "0"),
                ("limit", limit.as_str()),
            ])
            .header("X-RapidAPI-Key", self.api_key.expose_secret())
            .header("X-RapidAPI-Host", self.rapidapi_host.as_str())
            .build()
            .map_err(|_| ProviderError::Permanent("could not build the search request".into()))
    }
}

/// The `X-RapidAPI-Host` to send: the base URL's host when it is a RapidAPI host, otherwise
/// (a stand-in on 127.0.0.1, a proxy) the API's RapidAPI name, which is what RapidAPI-shaped
/// servers check.
fn rapidapi_host(base_url: &Url) -> String {
    match base_url.host_str() {
        Some(host) if host.ends_with(".rapidapi.com") => host.to_string(),
        _ => RAPIDAPI_HOST.to_string(),
    }
}

#[async_trait]
impl Provider for Shazam {
    fn name(&self) -> ProviderName {
        ProviderName::Shazam
    }

    async fn search(&self, query: &str, limit: u8) -> Result<Vec<ProviderTrack>, ProviderError> {
        let request = self.request(query, limit)?;
        let response = http::execute(&self.client, request).await?;
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            return Err(classify_error(status, &headers, &body));
        }
        let body: SearchResponse = http::json(response).await?;
        Ok(parse(body))
    }
}

/// Classifies a non-success answer, status first: 429 throttled; 401/403 a bad key or no
/// subscription, except that RapidAPI's "exceeded the MONTHLY quota" message (which comes with
/// 429 or 403 depending on the plan) means the quota is spent; 5xx transient.
fn classify_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let quota_spent = || {
        serde_json::from_slice::<MessageBody>(body)
            .ok()
            .and_then(|b| b.message)
            .is_some_and(|m| {
                let m = m.to_ascii_lowercase();
                m.contains("quota") && m.contains("exceeded")
            })
    };
    match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            if quota_spent() =>
        {
            // RapidAPI does not say when the plan's month rolls over.
            ProviderError::QuotaExhausted { until: None }
        }
        StatusCode::UNAUTHORIZED => {
            ProviderError::Permanent("HTTP 401: RapidAPI rejected the key".into())
        }
        StatusCode::FORBIDDEN => {
            ProviderError::Permanent("HTTP 403: not subscribed to the Shazam API".into())
        }
        _ => http::classify_status(status, headers),
    }
}

#[derive(Debug, Deserialize)]
struct MessageBody {
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    tracks: Option<Hits>,
}

#[derive(Debug, Deserialize)]
struct Hits {
    hits: Option<Vec<Option<Hit>>>,
}

#[derive(Debug, Deserialize)]
struct Hit {
    track: Option<Track>,
}

#[derive(Debug, Deserialize)]
struct Track {
    key: Option<String>,
    title: Option<String>,
    subtitle: Option<String>,
    url: Option<String>,
    share: Option<Share>,
    images: Option<Images>,
}

#[derive(Debug, Deserialize)]
struct Share {
    href: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Images {
    coverart: Option<String>,
    coverarthq: Option<String>,
}

fn parse(body: SearchResponse) -> Vec<ProviderTrack> {
    body.tracks
        .and_then(|t| t.hits)
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|hit| {
            let track = hit.track?;
            let key = track.key.filter(|k| !k.trim().is_empty())?;
            let title = track.title.filter(|t| !t.trim().is_empty())?;
            let url = track
                .url
                .or(track.share.and_then(|s| s.href))
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| format!("https://www.shazam.com/track/{key}"));
            Some(ProviderTrack {
                provider: ProviderName::Shazam,
                provider_id: key,
                url,
                title,
                artists: split_artists(track.subtitle.as_deref().unwrap_or_default()),
                album: None,
                duration_ms: None,
                isrc: None,
                release_date: None,
                image_url: track
                    .images
                    .and_then(|i| i.coverart.or(i.coverarthq))
                    .filter(|u| !u.is_empty()),
            })
        })
        .collect()
}

/// Splits Shazam's artist display string: `Future & Juice WRLD`, `A, B & C`, `A feat. B`.
fn split_artists(subtitle: &str) -> Vec<String> {
    artists::split(subtitle)
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    use super::*;

    fn parse_json(json: &str) -> Vec<ProviderTrack> {
        parse(serde_json::from_str(json).expect("valid payload"))
    }

    #[test]
    fn parses_a_recorded_search_answer() {
        let tracks = parse_json(
            r#"{"tracks":{"hits":[{"track":{"layout":"5","type":"MUSIC","key":"443578639",
            "title":"Fine China","subtitle":"Future & Juice WRLD",
            "share":{"subject":"Fine China - Future & Juice WRLD","href":"https://www.shazam.com/track/443578639/fine-china",
              "image":"https://is2-ssl.mzstatic.com/image/thumb/x/400x400cc.jpg"},
            "images":{"background":"https://is4-ssl.mzstatic.com/bg.jpg",
              "coverart":"https://is2-ssl.mzstatic.com/image/thumb/Music124/cover/400x400cc.jpg",
              "coverarthq":"https://is2-ssl.mzstatic.com/image/thumb/Music124/hq/400x400cc.jpg",
              "joecolor":"b:ffffffp:0d0301s:4d1f0dt:3d3534q:714c3e"},
            "hub":{"type":"APPLEMUSIC","actions":[{"name":"apple","type":"applemusicplay","id":"1439124916"}],
              "explicit":true,"displayname":"APPLE MUSIC"},
            "artists":[{"id":"42","adamid":"128050210"}],
            "url":"https://www.shazam.com/track/443578639/fine-china"}}]}}"#,
        );
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!(t.provider, ProviderName::Shazam);
        assert_eq!(t.provider_id, "443578639");
        assert_eq!(t.title, "Fine China");
        assert_eq!(t.artists, vec!["Future", "Juice WRLD"]);
        assert_eq!(t.url, "https://www.shazam.com/track/443578639/fine-china");
        assert_eq!(
            t.image_url.as_deref(),
            Some("https://is2-ssl.mzstatic.com/image/thumb/Music124/cover/400x400cc.jpg")
        );
        assert_eq!((t.isrc.as_deref(), t.album.as_deref()), (None, None));
    }

    /// Trimmed from a recorded answer kept by github.com/minniexp/guesssong
    /// (`src/data/ShazamTracksEdited.js`): `url` but no `share`, `images` with `coverart` and
    /// `coverarthq`, and a subtitle that credits three names with a comma and an ampersand.
    #[test]
    fn parses_a_recorded_answer_with_a_three_name_subtitle() {
        let tracks = parse_json(
            r#"{"tracks":{"hits":[{"track":{"key":"104382921","title":"Ginseng Strip 2002","subtitle":"Yung Lean",
            "images":{"background":"https://is4-ssl.mzstatic.com/image/thumb/Features125/v4/45/87/f9/4587f9b0-8bfd-91f2-f920-a665073f1607/pr_source.png/800x800cc.jpg",
              "coverart":"https://is3-ssl.mzstatic.com/image/thumb/Music124/v4/e9/c4/bd/e9c4bd59-080d-329b-c763-7a7baabb9377/7071245098315_1.jpg/400x400cc.jpg",
              "coverarthq":"https://is3-ssl.mzstatic.com/image/thumb/Music124/v4/e9/c4/bd/e9c4bd59-080d-329b-c763-7a7baabb9377/7071245098315_1.jpg/400x400cc.jpg",
              "joecolor":"b:1e1f24p:fffdffs:9ccb5et:d1d0d3q:83a852"},
            "actions":[{"name":"apple","type":"applemusicplay","id":"1090125770"}],
            "url":"https://www.shazam.com/track/104382921/ginseng-strip-2002"}},
            {"track":{"key":"589545994","title":"Enemy (From the series Arcane League of Legends)",
            "subtitle":"Imagine Dragons, Arcane & League of Legends",
            "images":{"coverart":"https://is5-ssl.mzstatic.com/image/thumb/Music126/v4/5d/d8/fc/5dd8fc36-85ad-e7c9-8288-e7d12d332934/21UM1IM39402.rgb.jpg/400x400cc.jpg"}}}]}}"#,
        );
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0].provider_id, "104382921");
        assert_eq!(tracks[0].title, "Ginseng Strip 2002");
        assert_eq!(tracks[0].artists, vec!["Yung Lean"]);
        assert_eq!(
            tracks[0].url,
            "https://www.shazam.com/track/104382921/ginseng-strip-2002"
        );
        assert_eq!(
            tracks[0].image_url.as_deref(),
            Some("https://is3-ssl.mzstatic.com/image/thumb/Music124/v4/e9/c4/bd/e9c4bd59-080d-329b-c763-7a7baabb9377/7071245098315_1.jpg/400x400cc.jpg")
        );
        let enemy = &tracks[1];
        assert_eq!(enemy.title, "Enemy (From the series Arcane League of Legends)");
        assert_eq!(
            enemy.artists,
            vec!["Imagine Dragons", "Arcane", "League of Legends"]
        );
        assert_eq!(enemy.url, "https://www.shazam.com/track/589545994");
        assert_eq!((enemy.duration_ms, enemy.isrc.as_deref()), (None, None));
    }

    #[test]
    fn tolerates_missing_optional_fields() {
        let tracks = parse_json(
            r#"{"tracks":{"hits":[
              {"track":{"key":"111","title":"좋은 날","subtitle":"IU","share":{"href":"https://www.shazam.com/track/111/good-day"}}},
              {"track":{"key":"222","title":"Hype Boy","subtitle":"NewJeans","unknown":{"x":[1]}}},
              {"track":{"title":"no key"}},
              {"artists":[]},
              null]}}"#,
        );
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0].title, "좋은 날");
        assert_eq!(tracks[0].url, "https://www.shazam.com/track/111/good-day");
        assert_eq!(tracks[0].image_url, None);
        assert_eq!(tracks[1].url, "https://www.shazam.com/track/222");
    }

    #[test]
    fn no_tracks_key_is_an_empty_answer() {
        assert!(parse_json("{}").is_empty());
        assert!(parse_json(r#"{"tracks":{"hits":[]}}"#).is_empty());
        assert!(parse_json(r#"{"artists":{"hits":[]}}"#).is_empty());
    }

    #[test]
    fn splits_the_subtitle_into_artists() {
        assert_eq!(
            split_artists("Future & Juice WRLD"),
            ["Future", "Juice WRLD"]
        );
        assert_eq!(
            split_artists("Mark Ronson feat. Bruno Mars"),
            ["Mark Ronson", "Bruno Mars"]
        );
        assert_eq!(split_artists("A, B & C ft. D"), ["A", "B", "C", "D"]);
        assert_eq!(split_artists("아이유"), ["아이유"]);
        // Only the listed separators: these names stay whole.
        assert_eq!(split_artists("Lil Nas X"), ["Lil Nas X"]);
        assert_eq!(
            split_artists("Chase Atlantic x Nobody"),
            ["Chase Atlantic x Nobody"]
        );
        assert!(split_artists("").is_empty());
    }

    #[test]
    fn classifies_rapidapi_errors_by_status_first() {
        let classify = |status: u16, headers: &HeaderMap, body: &str| {
            classify_error(
                StatusCode::from_u16(status).expect("status"),
                headers,
                body.as_bytes(),
            )
        };
        let mut retry = HeaderMap::new();
        retry.insert(RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(
            classify(429, &retry, r#"{"message":"Too many requests"}"#),
            ProviderError::RateLimited {
                retry_after: Some(std::time::Duration::from_secs(12))
            }
        );
        assert_eq!(
            classify(429, &HeaderMap::new(), ""),
            ProviderError::RateLimited { retry_after: None }
        );
        // RapidAPI's per-second burst limit says "exceeded" too, but it is not the quota (the
        // message as quoted in RapidAPI clients' handling code).
        assert_eq!(
            classify(
                429,
                &HeaderMap::new(),
                r#"{"message":"You have exceeded the rate limit per second for your plan, BASIC, by the API provider"}"#
            ),
            ProviderError::RateLimited { retry_after: None }
        );
        let monthly = r#"{"message":"You have exceeded the MONTHLY quota for Requests on your current plan, BASIC. Upgrade your plan at https://rapidapi.com/apidojo/api/shazam"}"#;
        assert_eq!(
            classify(429, &HeaderMap::new(), monthly),
            ProviderError::QuotaExhausted { until: None }
        );
        assert_eq!(
            classify(403, &HeaderMap::new(), monthly),
            ProviderError::QuotaExhausted { until: None }
        );
        assert!(matches!(
            classify(
                401,
                &HeaderMap::new(),
                r#"{"message":"Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."}"#
            ),
            ProviderError::Permanent(_)
        ));
        assert!(matches!(
            classify(
                403,
                &HeaderMap::new(),
                r#"{"message":"You are not subscribed to this API."}"#
            ),
            ProviderError::Permanent(_)
        ));
        assert!(matches!(
            classify(
                503,
                &HeaderMap::new(),
                r#"{"message":"Service Unavailable"}"#
            ),
            ProviderError::Transient(_)
        ));
        assert!(matches!(
            classify(
                400,
                &HeaderMap::new(),
                r#"{"message":"Missing required parameters: term"}"#
            ),
            ProviderError::Permanent(_)
        ));
    }

    fn settings(env: &[(&str, &str)]) -> muze_shared::Settings {
        muze_shared::Settings::load_from(
            None,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .expect("settings load")
    }

    #[test]
    fn needs_a_key_and_sends_rapidapi_headers() {
        assert!(Shazam::new(settings(&[]).providers.get(ProviderName::Shazam)).is_none());
        let s = settings(&[("MUZE__PROVIDERS__SHAZAM__API_KEY", "rk")]);
        let shazam = Shazam::new(s.providers.get(ProviderName::Shazam)).expect("configured");
        let request = shazam.request("fine china", 50).expect("request");
        assert_eq!(
            request.url().as_str(),
            "https://shazam.p.rapidapi.com/search?term=fine+china&locale=en-US&offset=0&limit=10"
        );
        assert_eq!(request.headers()["x-rapidapi-key"], "rk");
        assert_eq!(
            request.headers()["x-rapidapi-host"],
            "shazam.p.rapidapi.com"
        );
    }

    #[test]
    fn derives_the_rapidapi_host_from_the_base_url() {
        let url = |s: &str| Url::parse(s).expect("url");
        assert_eq!(
            rapidapi_host(&url("https://shazam-core.p.rapidapi.com/v1")),
            "shazam-core.p.rapidapi.com"
        );
        assert_eq!(
            rapidapi_host(&url("http://127.0.0.1:9100/shazam")),
            "shazam.p.rapidapi.com"
        );
    }
}
