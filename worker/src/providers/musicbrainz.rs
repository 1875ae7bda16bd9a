//! MusicBrainz web service v2 (keyless): `GET /recording?query=<lucene>&fmt=json&limit`.
//!
//! MusicBrainz allows one request a second per IP and answers 503 beyond that; it refuses
//! clients without a real User-Agent with 403 (ours is set by `http::client`). The query is
//! Lucene syntax, so the user's text is escaped and sent as a plain query. Search answers
//! include fuzzy matches with a `score` of 0–100; only confident ones are kept, because a wrong
//! song is worse than none. Recordings carry ISRCs and lengths in milliseconds.

/// Its name, credential and defaults (`musicbrainz/spec.rs`, which `muze-shared` compiles for every
/// binary).
pub use muze_shared::domain::specs::musicbrainz as spec;

use std::time::Duration;

use async_trait::async_trait;
use muze_shared::{
    config::ProviderSettings,
    domain::{ProviderName, ProviderTrack},
};
use reqwest::{header::HeaderMap, StatusCode};
use serde::Deserialize;
use url::Url;

use super::{http, Provider, ProviderError};

/// The search API's largest page.
const MAX_LIMIT: u8 = 100;
/// Recordings scoring below this are other songs that merely share words with the query.
const MIN_SCORE: i64 = 80;
/// Wait after a 503 without `Retry-After`: the limit is one request a second.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);

/// The MusicBrainz client.
#[derive(Debug)]
pub struct MusicBrainz {
    client: reqwest::Client,
    search_url: Url,
    page_size: u8,
}

impl MusicBrainz {
    /// Builds the client; MusicBrainz needs no credentials, so this always succeeds.
    pub fn new(settings: &ProviderSettings) -> Option<MusicBrainz> {
        Some(MusicBrainz {
            client: http::client(settings.timeout()),
            search_url: http::join(&settings.base_url, "recording"),
            page_size: settings.page_size.min(MAX_LIMIT),
        })
    }

    /// The search request, built but not sent.
    fn request(&self, query: &str, limit: u8) -> Result<reqwest::Request, ProviderError> {
        let limit = limit.clamp(1, self.page_size).to_string();
        self.client
            .get(self.search_url.clone())
            .query(&[
                ("query", lucene_query(query).as_str()),
                ("fmt", "json"),
                ("limit", limit.as_str()),
            ])
            .build()
            .map_err(|_| ProviderError::Permanent("could not build the search request".into()))
    }
}

#[async_trait]
impl Provider for MusicBrainz {
    fn name(&self) -> ProviderName {
        ProviderName::Musicbrainz
    }

    async fn search(&self, query: &str, limit: u8) -> Result<Vec<ProviderTrack>, ProviderError> {
        let request = self.request(query, limit)?;
        let response = http::execute(&self.client, request).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(classify_status(status, response.headers()));
        }
        let body: SearchResponse = http::json(response).await?;
        Ok(parse(body))
    }
}

/// The user's text as a Lucene query matching it literally: every special character escaped,
/// and the operators `AND`/`OR`/`NOT` lowercased into plain words (the search is
/// case-insensitive, so nothing is lost).
pub fn lucene_query(text: &str) -> String {
    const SPECIAL: &[char] = &[
        '+', '-', '&', '|', '!', '(', ')', '{', '}', '[', ']', '^', '"', '~', '*', '?', ':', '\\',
        '/',
    ];
    let mut out = String::with_capacity(text.len() + 8);
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if matches!(word, "AND" | "OR" | "NOT") {
            out.push_str(&word.to_ascii_lowercase());
            continue;
        }
        for c in word.chars() {
            if SPECIAL.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// 503 is MusicBrainz's rate limiting; 403 means it refused our User-Agent.
fn classify_status(status: StatusCode, headers: &HeaderMap) -> ProviderError {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => ProviderError::RateLimited {
            retry_after: Some(http::retry_after(headers).unwrap_or(DEFAULT_BACKOFF)),
        },
        StatusCode::FORBIDDEN => {
            ProviderError::Permanent("HTTP 403: MusicBrainz refused our User-Agent".into())
        }
        _ => http::classify_status(status, headers),
    }
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    recordings: Option<Vec<Option<Recording>>>,
}

#[derive(Debug, Deserialize)]
struct Recording {
    id: Option<String>,
    score: Option<Score>,
    title: Option<String>,
    /// Milliseconds.
    length: Option<i64>,
    #[serde(rename = "artist-credit")]
    artist_credit: Option<Vec<ArtistCredit>>,
    #[serde(rename = "first-release-date")]
    first_release_date: Option<String>,
    isrcs: Option<Vec<String>>,
    releases: Option<Vec<Release>>,
}

/// The score is a number in JSON answers; older serializers sent a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Score {
    Number(i64),
    Text(String),
}

impl Score {
    fn value(&self) -> Option<i64> {
        match self {
            Score::Number(n) => Some(*n),
            Score::Text(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ArtistCredit {
    name: Option<String>,
    artist: Option<Artist>,
}

#[derive(Debug, Deserialize)]
struct Artist {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Release {
    title: Option<String>,
}

fn parse(body: SearchResponse) -> Vec<ProviderTrack> {
    body.recordings
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter(|r| {
            // Every search hit has a score; one without cannot be judged and is kept.
            r.score
                .as_ref()
                .is_none_or(|s| s.value().is_some_and(|v| v >= MIN_SCORE))
        })
        .filter_map(|r| {
            let id = r.id.filter(|id| !id.is_empty())?;
            let title = r.title.filter(|t| !t.trim().is_empty())?;
            Some(ProviderTrack {
                provider: ProviderName::Musicbrainz,
                url: format!("https://musicbrainz.org/recording/{id}"),
                provider_id: id,
                title,
                artists: r
                    .artist_credit
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.name.or(c.artist.and_then(|a| a.name)))
                    .filter(|n| !n.trim().is_empty())
                    .collect(),
                album: r
                    .releases
                    .and_then(|rs| rs.into_iter().next())
                    .and_then(|r| r.title),
                duration_ms: r
                    .length
                    .filter(|&l| l > 0)
                    .and_then(|l| i32::try_from(l).ok()),
                isrc: r
                    .isrcs
                    .and_then(|i| i.into_iter().next())
                    .map(|i| i.trim().to_ascii_uppercase())
                    .filter(|i| !i.is_empty()),
                release_date: r.first_release_date.filter(|d| !d.is_empty()),
                image_url: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    use super::*;

    fn parse_json(json: &str) -> Vec<ProviderTrack> {
        parse(serde_json::from_str(json).expect("valid payload"))
    }

    #[test]
    fn parses_a_recording_search_answer() {
        let tracks = parse_json(
            r#"{"created":"2026-06-01T10:00:00.000Z","count":312,"offset":0,"recordings":[
            {"id":"8b7fd1ba-7d7f-4b43-9a0a-3e2d1e8b7c11","score":100,"title":"One More Time",
             "length":320357,"video":false,
             "artist-credit":[{"name":"Daft Punk","artist":{"id":"056e4f3e-d505-4dad-8ec1-d04f521cbb56",
               "name":"Daft Punk","sort-name":"Daft Punk"}}],
             "first-release-date":"2000-11-13","isrcs":["gbduw0000053"],
             "releases":[{"id":"48117b90-a16e-34ca-a514-19c702df1158","title":"Discovery","date":"2001-03-12"}],
             "tags":[{"count":1,"name":"house"}]}]}"#,
        );
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!(t.provider, ProviderName::Musicbrainz);
        assert_eq!(t.provider_id, "8b7fd1ba-7d7f-4b43-9a0a-3e2d1e8b7c11");
        assert_eq!(
            t.url,
            "https://musicbrainz.org/recording/8b7fd1ba-7d7f-4b43-9a0a-3e2d1e8b7c11"
        );
        assert_eq!(t.title, "One More Time");
        assert_eq!(t.artists, vec!["Daft Punk"]);
        assert_eq!(t.duration_ms, Some(320_357));
        assert_eq!(t.isrc.as_deref(), Some("GBDUW0000053"));
        assert_eq!(t.album.as_deref(), Some("Discovery"));
        assert_eq!(t.release_date.as_deref(), Some("2000-11-13"));
        assert_eq!(t.image_url, None);
    }

    /// Trimmed from a recorded `GET /ws/2/recording?query=...&fmt=json` answer (created
    /// 2023-04-11, kept by github.com/fuwa-syugyo/credits_spot in
    /// `src/__tests__/data/recordingSearchResponse.ts`): `video` null, a credit without
    /// `joinphrase`, artist aliases, releases with media; then the shapes MusicBrainz documents
    /// for the fields that one lacks: a two-artist credit joined by `" feat. "`, `length` null
    /// and a year-only date (its ids left out, the recording's replaced by a label).
    #[test]
    fn parses_a_recorded_answer_and_the_documented_credit_and_length_shapes() {
        let tracks = parse_json(
            r#"{"created":"2023-04-11T05:27:36.921Z","count":22706,"offset":0,"recordings":[
            {"id":"0e16076b-4c48-420d-a684-c3e213368782","score":100,"title":"残酷な天使のテーゼ","length":331026,"video":null,
             "artist-credit":[{"name":"河井英里","artist":{"id":"69a5f935-8175-4f80-bbfa-744f017ef27c","name":"河井英里","sort-name":"Kawai, Eri",
               "aliases":[{"sort-name":"Erie","name":"Erie","locale":null,"type":null,"primary":null,"begin-date":null,"end-date":null}]}}],
             "first-release-date":"2001-11-22",
             "releases":[{"id":"59230d81-5210-458b-80da-f6c403aa82e2","status-id":"4e304316-386d-3409-af2e-78857eec5cfe","count":1,
               "title":"アニメヒーリングシリーズ animage ~NEW ANIMATION SONGS~","status":"Official",
               "release-group":{"id":"bdd12a18-c286-403d-a7a5-6f9fa2d713d1","primary-type":"Album"},
               "date":"2001-11-22","country":"JP","track-count":15,
               "media":[{"position":1,"format":"CD","track":[{"id":"f3a5c95f-cbf0-3f4c-b0f8-971ef5534e51","number":"1","title":"残酷な天使のテーゼ","length":331026}],"track-count":15,"track-offset":0}]}],
             "isrcs":["JPPI00152140"]},
            {"id":"credit-and-null-length","score":98,"title":"勇者","length":null,"video":null,
             "artist-credit":[{"name":"YOASOBI","joinphrase":" feat. ","artist":{"name":"YOASOBI","sort-name":"YOASOBI"}},
               {"name":"幾田りら","artist":{"name":"幾田りら","sort-name":"Ikuta, Lilas"}}],
             "first-release-date":"2023"}]}"#,
        );
        assert_eq!(tracks.len(), 2);
        let t = &tracks[0];
        assert_eq!(t.provider_id, "0e16076b-4c48-420d-a684-c3e213368782");
        assert_eq!(t.title, "残酷な天使のテーゼ");
        assert_eq!(t.artists, vec!["河井英里"]);
        assert_eq!(t.duration_ms, Some(331_026));
        assert_eq!(t.isrc.as_deref(), Some("JPPI00152140"));
        assert_eq!(
            t.album.as_deref(),
            Some("アニメヒーリングシリーズ animage ~NEW ANIMATION SONGS~")
        );
        assert_eq!(t.release_date.as_deref(), Some("2001-11-22"));
        let credited = &tracks[1];
        assert_eq!(credited.artists, vec!["YOASOBI", "幾田りら"], "join phrases are not names");
        assert_eq!(credited.duration_ms, None, "length null is an unknown duration");
        assert_eq!(credited.release_date.as_deref(), Some("2023"));
        assert_eq!((credited.isrc.as_deref(), credited.album.as_deref()), (None, None));
    }

    #[test]
    fn drops_low_scoring_fuzzy_matches() {
        let tracks = parse_json(
            r#"{"recordings":[
              {"id":"a","score":100,"title":"좋은 날","artist-credit":[{"name":"아이유","joinphrase":""}]},
              {"id":"b","score":80,"title":"좋은 날 (Live)","artist-credit":[{"artist":{"name":"IU"}}]},
              {"id":"c","score":79,"title":"좋은 밤","artist-credit":[{"name":"Someone Else"}]},
              {"id":"d","score":"35","title":"Good Night"}]}"#,
        );
        let ids: Vec<&str> = tracks.iter().map(|t| t.provider_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(tracks[0].artists, vec!["아이유"]);
        assert_eq!(tracks[1].artists, vec!["IU"], "falls back to artist.name");
    }

    #[test]
    fn tolerates_missing_optional_fields() {
        let tracks = parse_json(
            r#"{"recordings":[{"id":"e","score":95,"title":"Hype Boy","isrcs":[],"releases":[]},
              {"score":100,"title":"no id"}, null]}"#,
        );
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert!(t.artists.is_empty());
        assert_eq!((t.isrc.as_deref(), t.album.as_deref()), (None, None));
        assert_eq!((t.duration_ms, t.release_date.as_deref()), (None, None));
    }

    #[test]
    fn no_recordings_is_an_empty_answer() {
        assert!(parse_json(r#"{"created":"x","count":0,"offset":0,"recordings":[]}"#).is_empty());
        assert!(parse_json("{}").is_empty());
    }

    #[test]
    fn escapes_lucene_syntax_in_the_users_text() {
        assert_eq!(lucene_query("one more time"), "one more time");
        assert_eq!(
            lucene_query(
                r#"AC/DC: "Back In Black" (Live) [HD] +1 -2 a&&b c||d !e {f} ^g ~h *i ?j \k"#
            ),
            r#"AC\/DC\: \"Back In Black\" \(Live\) \[HD\] \+1 \-2 a\&\&b c\|\|d \!e \{f\} \^g \~h \*i \?j \\k"#
        );
        assert_eq!(
            lucene_query("Rock AND Roll NOT  Dead"),
            "Rock and Roll not Dead"
        );
        assert_eq!(lucene_query("아이유 좋은 날"), "아이유 좋은 날");
    }

    #[test]
    fn classifies_musicbrainz_statuses() {
        let mut retry = HeaderMap::new();
        retry.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            classify_status(StatusCode::SERVICE_UNAVAILABLE, &retry),
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            classify_status(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new()),
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert!(matches!(
            classify_status(StatusCode::FORBIDDEN, &HeaderMap::new()),
            ProviderError::Permanent(_)
        ));
        assert!(matches!(
            classify_status(StatusCode::BAD_GATEWAY, &HeaderMap::new()),
            ProviderError::Transient(_)
        ));
        assert!(matches!(
            classify_status(StatusCode::BAD_REQUEST, &HeaderMap::new()),
            ProviderError::Permanent(_)
        ));
    }

    #[test]
    fn builds_without_credentials_and_asks_for_json() {
        let s = muze_shared::Settings::load_from(None, Vec::<(String, String)>::new())
            .expect("defaults");
        let mb = MusicBrainz::new(s.providers.get(ProviderName::Musicbrainz)).expect("keyless");
        let request = mb
            .request("Daft Punk: One More Time", 200)
            .expect("request");
        assert_eq!(request.url().path(), "/ws/2/recording");
        let params: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
        assert_eq!(
            params,
            [
                (
                    "query".to_string(),
                    r"Daft Punk\: One More Time".to_string()
                ),
                ("fmt".into(), "json".into()),
                ("limit".into(), "10".into()),
            ]
        );
    }
}
