//! YouTube Data API v3: `GET /search?part=snippet&type=video&videoCategoryId=10`.
//!
//! Every call spends one unit of the project's search.list bucket (about 100 a day), which
//! resets at midnight Pacific time, so a quota error means "exhausted until the next Los Angeles
//! midnight", not "retry in a few seconds". Results are videos, not songs: no artist, album,
//! duration or ISRC, only an HTML-escaped free-text title and the uploading channel, from which
//! [`split_title`] recovers artist and title. The request URL carries the API key in its query
//! string, so it is never logged (and `ProviderError::from_reqwest` strips it from errors).

use async_trait::async_trait;
use chrono::{DateTime, Duration as TimeDelta, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use muze_shared::{
    config::ProviderSettings,
    domain::{ProviderName, ProviderTrack},
};
use reqwest::{header::HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{http, spotify::join, Provider, ProviderError};

/// search.list's `maxResults` range is 0–50.
const MAX_LIMIT: u8 = 50;
/// `videoCategoryId` of the Music category (requires `type=video`).
const MUSIC_CATEGORY: &str = "10";
/// Error reasons meaning the daily quota is spent: nothing works until the Pacific midnight.
const DAILY_QUOTA_REASONS: &[&str] = &["quotaExceeded", "dailyLimitExceeded"];
/// Error reasons meaning "too fast": a short-term limit that passes by itself.
const RATE_REASONS: &[&str] = &["rateLimitExceeded", "userRateLimitExceeded"];

/// The YouTube client.
#[derive(Debug)]
pub struct Youtube {
    client: reqwest::Client,
    search_url: Url,
    api_key: SecretString,
    page_size: u8,
}

impl Youtube {
    /// Builds the client; `None` when no API key is configured.
    pub fn new(settings: &ProviderSettings) -> Option<Youtube> {
        let api_key = http::api_key(settings)?;
        Some(Youtube {
            client: http::client(settings.timeout()),
            search_url: join(&settings.base_url, "search"),
            api_key,
            page_size: settings.page_size.min(MAX_LIMIT),
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
            return Err(classify_error(status, &headers, &body, Utc::now()));
        }
        let body: SearchListResponse = http::json(response).await?;
        Ok(parse(body))
    }
}

/// When the daily search quota comes back: the first midnight in America/Los_Angeles strictly
/// after `now` (23 or 25 hours away on DST change days).
pub fn next_quota_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&Los_Angeles).date_naive();
    today
        .succ_opt()
        .map(|tomorrow| tomorrow.and_time(NaiveTime::MIN))
        // DST changes at 02:00 there, so midnight always exists exactly once.
        .and_then(|midnight| Los_Angeles.from_local_datetime(&midnight).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| now + TimeDelta::hours(24))
}

/// Classifies a non-success answer from its status and Google's error body.
fn classify_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> ProviderError {
    let reasons: Vec<String> = serde_json::from_slice::<ErrorResponse>(body)
        .map(|b| {
            b.error
                .errors
                .into_iter()
                .filter_map(|e| e.reason)
                .collect()
        })
        .unwrap_or_default();
    let has = |set: &[&str]| reasons.iter().any(|r| set.contains(&r.as_str()));
    if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
        if has(DAILY_QUOTA_REASONS) {
            return ProviderError::QuotaExhausted {
                until: Some(next_quota_reset(now)),
            };
        }
        if has(RATE_REASONS) {
            return ProviderError::RateLimited {
                retry_after: http::retry_after(headers),
            };
        }
    }
    match (http::classify_status(status, headers), reasons.first()) {
        (ProviderError::Permanent(_), Some(reason)) => {
            ProviderError::Permanent(format!("HTTP {} ({reason})", status.as_u16()))
        }
        (error, _) => error,
    }
}

#[derive(Debug, Deserialize)]
struct ErrorResponse {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    reason: Option<String>,
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
            let split = split_title(
                snippet.title.as_deref().unwrap_or_default(),
                snippet.channel_title.as_deref().unwrap_or_default(),
            );
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

/// Artist and title recovered from a video title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitTitle {
    /// The credited artists, main names only; empty when neither title nor channel names one.
    pub artists: Vec<String>,
    /// The song title without upload decorations.
    pub title: String,
}

/// Recovers artist and title from a video's `title` and `channelTitle`, both as the API sends
/// them (HTML-escaped).
///
/// Decorations are dropped first: leading tags like `[MV]`, `| Official Audio` suffixes and
/// trailing `(Official Video)`, `[4K]`, `(Lyrics)`, `Official MV`, `M/V`. Then, in order:
/// `Artist - Title` (also `–` and `—`), `Artist 'Title'` / `Artist "Title"`, and 1theK's
/// `Artist _ Title`; with none of those the whole text is the title and the channel (minus
/// ` - Topic`, `VEVO`, `Official`) the artist. An artist's trailing parenthesis is an alias in
/// another script (`IU(아이유)`, `BTS (방탄소년단)`) and is dropped.
///
/// `Title - Artist` cannot be told from `Artist - Title` in general, so `Artist - Title` is
/// assumed; the one exception is when the channel names the right-hand side and not the left
/// (`Title - Artist | Official Audio` on `Artist - Topic`).
pub fn split_title(title: &str, channel: &str) -> SplitTitle {
    let text = collapse_whitespace(&html_escape::decode_html_entities(title));
    let channel = clean_channel(&collapse_whitespace(&html_escape::decode_html_entities(
        channel,
    )));
    // Bare trailing words (`Official MV`) are only dropped once the title is isolated:
    // in `Charli xcx - Official` the last word is the song.
    let text = strip_decorations(first_pipe_segment(strip_leading_tags(&text)), false);
    let (artist, song) = if let Some((left, right)) = split_on_dash(&text) {
        let right = strip_decorations(right, true);
        let right = unquote(&right).unwrap_or(&right).to_string();
        if names_match(&right, &channel) && !names_match(left, &channel) {
            (right, left.to_string())
        } else {
            (left.to_string(), right)
        }
    } else if let Some((left, quoted)) = split_on_quotes(&text) {
        (left.to_string(), quoted.to_string())
    } else if let Some((left, right)) = text.split_once(" _ ") {
        (left.to_string(), strip_decorations(right, true))
    } else {
        (String::new(), strip_decorations(&text, true))
    };
    let mut artists = artist_names(&artist);
    if artists.is_empty() {
        artists = artist_names(&channel);
    }
    let song = trim_separators(&song);
    SplitTitle {
        artists,
        title: if song.is_empty() {
            text
        } else {
            song.to_string()
        },
    }
}

/// Words that, on their own, only describe the upload: `(Official Music Video)`, `[HD]`.
const DECORATION_WORDS: &[&str] = &[
    "official",
    "video",
    "music",
    "audio",
    "mv",
    "m/v",
    "lyric",
    "lyrics",
    "visualizer",
    "visualiser",
    "hd",
    "hq",
    "4k",
    "8k",
    "1080p",
    "remastered",
    "remaster",
    "clip",
    "full",
    "with",
    "and",
    "&",
    "+",
    "/",
    "뮤직비디오",
    "가사",
    "공식",
];

fn is_decoration_word(word: &str) -> bool {
    let word = word.trim_matches(|c: char| matches!(c, '.' | ',' | '!' | ':' | '-'));
    let lower = word.to_lowercase();
    !lower.is_empty() && DECORATION_WORDS.contains(&lower.as_str())
}

fn is_decoration(text: &str) -> bool {
    let mut words = text.split_whitespace().peekable();
    words.peek().is_some() && words.all(is_decoration_word)
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn trim_separators(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—' | ':' | '|' | '_'))
}

/// Drops leading tags like `[MV]`, `[STATION]`, `【MV】` (short, and not the whole title).
fn strip_leading_tags(s: &str) -> &str {
    let mut s = s.trim_start();
    loop {
        let close = match s.chars().next() {
            Some('[') => ']',
            Some('【') => '】',
            _ => return s,
        };
        let Some(end) = s.find(close) else {
            return s;
        };
        let rest = s[end + close.len_utf8()..].trim_start();
        if s[..end].chars().count() > 30 || rest.is_empty() {
            return s;
        }
        s = rest;
    }
}

/// Keeps what comes before the first `|`: after it come `Official Audio`, channel names,
/// hashtags.
fn first_pipe_segment(s: &str) -> &str {
    s.split(['|', '｜'])
        .map(str::trim)
        .find(|segment| !segment.is_empty())
        .unwrap_or(s)
}

/// The index of the bracket opening the group that closes `s`, if `s` ends with one.
fn trailing_group_start(s: &str) -> Option<usize> {
    let last = s.chars().next_back()?;
    let open = match last {
        ')' => '(',
        ']' => '[',
        '】' => '【',
        '）' => '（',
        _ => return None,
    };
    let mut depth = 0usize;
    for (i, c) in s.char_indices().rev() {
        if c == last {
            depth += 1;
        } else if c == open {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Drops trailing decorations, bracketed (`(Official Video)`, `[4K]`) and, if `bare`, not
/// (`Official MV`, `M/V`), as long as something is left.
fn strip_decorations(s: &str, bare: bool) -> String {
    let mut s = trim_separators(s).to_string();
    loop {
        let before = s.len();
        if let Some(start) = trailing_group_start(&s) {
            let close_len = s.chars().next_back().map_or(1, char::len_utf8);
            let open_len = s[start..].chars().next().map_or(1, char::len_utf8);
            let inner = &s[start + open_len..s.len() - close_len];
            let rest = trim_separators(&s[..start]);
            if is_decoration(inner) && !rest.is_empty() {
                s = rest.to_string();
            }
        }
        let words: Vec<&str> = s.split(' ').collect();
        let kept = words.len()
            - words
                .iter()
                .rev()
                .take_while(|w| is_decoration_word(w))
                .count();
        let tail = &words[kept..];
        let starts_officially = tail
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("official"));
        let only_mv = !tail.is_empty()
            && tail
                .iter()
                .all(|w| w.eq_ignore_ascii_case("mv") || w.eq_ignore_ascii_case("m/v"));
        if bare && kept > 0 && (starts_officially || only_mv) {
            s = trim_separators(&words[..kept].join(" ")).to_string();
        }
        if s.len() == before {
            return s;
        }
    }
}

/// Splits on the first ` - `, ` – ` or ` — ` with text on both sides.
fn split_on_dash(s: &str) -> Option<(&str, &str)> {
    let (at, sep) = [" - ", " – ", " — "]
        .iter()
        .filter_map(|sep| s.find(sep).map(|at| (at, *sep)))
        .min_by_key(|(at, _)| *at)?;
    let (left, right) = (s[..at].trim(), s[at + sep.len()..].trim());
    (!left.is_empty() && !right.is_empty()).then_some((left, right))
}

const QUOTES: &[(char, char)] = &[
    ('\'', '\''),
    ('"', '"'),
    ('‘', '’'),
    ('“', '”'),
    ('「', '」'),
    ('『', '』'),
];

/// If a quote opens at byte `at` of `s`: the quoted text and what follows the closing quote.
/// An apostrophe inside a word (`Don't`) neither opens nor closes a quote.
fn quoted_at(s: &str, at: usize) -> Option<(&str, &str)> {
    let open = s[at..].chars().next()?;
    let close = QUOTES.iter().find(|(o, _)| *o == open)?.1;
    let body_start = at + open.len_utf8();
    if s[body_start..]
        .chars()
        .next()
        .is_none_or(char::is_whitespace)
    {
        return None;
    }
    s[body_start..]
        .char_indices()
        .filter(|&(_, c)| c == close)
        .map(|(i, _)| body_start + i)
        .find(|&end| {
            let after = &s[end + close.len_utf8()..];
            end > body_start && after.chars().next().is_none_or(|c| !c.is_alphanumeric())
        })
        .map(|end| (s[body_start..end].trim(), &s[end + close.len_utf8()..]))
}

/// `'Title'` at the start of `s` (anything after the closing quote is dropped).
fn unquote(s: &str) -> Option<&str> {
    quoted_at(s, 0)
        .map(|(quoted, _)| quoted)
        .filter(|q| !q.is_empty())
}

/// `Artist 'Title' Official MV (Performance ver.1)` → (`Artist`, `Title`). The quote must follow
/// a space and be followed by nothing, a bracket or a decoration, so `Rock 'n' Roll` is no quote.
fn split_on_quotes(s: &str) -> Option<(&str, &str)> {
    s.char_indices()
        .filter(|&(i, c)| i > 0 && QUOTES.iter().any(|(o, _)| *o == c) && s[..i].ends_with(' '))
        .find_map(|(i, _)| {
            let (quoted, after) = quoted_at(s, i)?;
            let after = after.trim();
            let tail_ok = after.is_empty()
                || after.starts_with(['(', '[', '【', '（'])
                || after.split(' ').next().is_some_and(is_decoration_word);
            let artist = trim_separators(&s[..i]);
            (tail_ok && !quoted.is_empty() && !artist.is_empty()).then_some((artist, quoted))
        })
}

/// `IU(아이유)` → `IU`, `(여자)아이들 ((G)I-DLE)` → `(여자)아이들`: the trailing parenthesis is an
/// alias in another script.
fn drop_alias(name: &str) -> &str {
    let name = name.trim();
    match trailing_group_start(name) {
        Some(start)
            if name[start..].starts_with(['(', '（']) && !name[..start].trim().is_empty() =>
        {
            name[..start].trim()
        }
        _ => name,
    }
}

/// The artists named in `s`: collaborations (`A & B`, `A, B`) and features split like Shazam's
/// subtitles, so the first is the primary artist the catalog matches on (a band named
/// `X & Y` is split too), aliases dropped.
fn artist_names(s: &str) -> Vec<String> {
    let mut parts = vec![trim_separators(s).to_string()];
    for sep in [
        " & ",
        ", ",
        " feat. ",
        " ft. ",
        " featuring ",
        " Feat. ",
        " Ft. ",
        " FEAT. ",
        " FT. ",
    ] {
        parts = parts
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    parts
        .iter()
        .map(|p| drop_alias(trim_separators(p)).to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The artist a channel name stands for: `Queen - Topic`, `DaftPunkVEVO`, `Queen Official`.
fn clean_channel(channel: &str) -> String {
    const SUFFIXES: &[&str] = &[
        " - Topic",
        "VEVO",
        "Official YouTube Channel",
        "Official Channel",
        "Official",
    ];
    let mut s = channel.trim();
    while let Some(suffix) = SUFFIXES.iter().find(|suffix| {
        s.len() > suffix.len()
            && s.is_char_boundary(s.len() - suffix.len())
            && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    }) {
        s = trim_separators(&s[..s.len() - suffix.len()]);
    }
    s.to_string()
}

/// Whether `text` (or its first artist) names the channel's artist, ignoring case and spacing
/// (`DaftPunkVEVO` names `Daft Punk`).
fn names_match(text: &str, channel: &str) -> bool {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let channel = squash(drop_alias(channel));
    if channel.is_empty() {
        return false;
    }
    let first = text.split([',', '&']).next().unwrap_or(text);
    let first = first.split(" x ").next().unwrap_or(first);
    squash(drop_alias(text)) == channel || squash(drop_alias(first)) == channel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(title: &str, channel: &str) -> (Vec<String>, String) {
        let s = split_title(title, channel);
        (s.artists, s.title)
    }

    fn expect(title: &str, channel: &str, artists: &[&str], song: &str) {
        assert_eq!(
            split(title, channel),
            (
                artists.iter().map(|a| a.to_string()).collect(),
                song.to_string()
            ),
            "splitting {title:?} (channel {channel:?})"
        );
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("valid instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn splits_artist_dash_title_with_trailing_decorations() {
        expect(
            "Daft Punk - One More Time (Official Video)",
            "Daft Punk",
            &["Daft Punk"],
            "One More Time",
        );
        expect(
            "Queen – Bohemian Rhapsody (Official Video Remastered)",
            "Queen Official",
            &["Queen"],
            "Bohemian Rhapsody",
        );
        expect(
            "Artist - Title | Official Audio",
            "Some Uploader",
            &["Artist"],
            "Title",
        );
        expect(
            "ROSÉ &amp; Bruno Mars — APT. (Official Music Video) [HD]",
            "ROSÉ",
            &["ROSÉ", "Bruno Mars"],
            "APT.",
        );
        expect(
            "Guns N&#39; Roses - Sweet Child O&#39; Mine (Official Music Video)",
            "GunsNRosesVEVO",
            &["Guns N' Roses"],
            "Sweet Child O' Mine",
        );
    }

    #[test]
    fn keeps_version_notes_that_are_not_decorations() {
        expect(
            "Madonna - Music (Live)",
            "Madonna",
            &["Madonna"],
            "Music (Live)",
        );
        expect(
            "Charli xcx - Official",
            "Charli xcx",
            &["Charli xcx"],
            "Official",
        );
    }

    #[test]
    fn splits_korean_quoted_titles_and_drops_the_alias() {
        expect(
            "BTS (방탄소년단) &#39;Dynamite&#39; Official MV",
            "HYBE LABELS",
            &["BTS"],
            "Dynamite",
        );
        expect(
            "NewJeans (뉴진스) &#39;Hype Boy&#39; Official MV (Performance ver.1)",
            "HYBE LABELS",
            &["NewJeans"],
            "Hype Boy",
        );
        expect(
            "IU &quot;Blueming&quot; M/V",
            "이지금 [IU Official]",
            &["IU"],
            "Blueming",
        );
        expect(
            "아이유 &#39;좋은 날&#39;",
            "1theK (원더케이)",
            &["아이유"],
            "좋은 날",
        );
        expect(
            "Artist - &#39;Title&#39; Official MV",
            "x",
            &["Artist"],
            "Title",
        );
    }

    #[test]
    fn splits_1thek_underscore_titles() {
        expect(
            "[MV] IU(아이유) _ Good Day(좋은 날)",
            "1theK (원더케이)",
            &["IU"],
            "Good Day(좋은 날)",
        );
        expect(
            "[MV] 아이유(IU) _ 좋은 날(Good Day)",
            "1theK (원더케이)",
            &["아이유"],
            "좋은 날(Good Day)",
        );
        expect(
            "[MV] (여자)아이들((G)I-DLE) _ TOMBOY",
            "1theK (원더케이)",
            &["(여자)아이들"],
            "TOMBOY",
        );
    }

    #[test]
    fn falls_back_to_the_channel_for_the_artist() {
        expect(
            "Bohemian Rhapsody",
            "Queen Official",
            &["Queen"],
            "Bohemian Rhapsody",
        );
        expect(
            "Song Title (Lyrics)",
            "Artist - Topic",
            &["Artist"],
            "Song Title",
        );
        expect(
            "Rock &#39;n&#39; Roll Star",
            "Oasis",
            &["Oasis"],
            "Rock 'n' Roll Star",
        );
        expect("Hype Boy", "", &[], "Hype Boy");
    }

    #[test]
    fn assumes_artist_first_unless_the_channel_names_the_right_side() {
        // Ambiguous: the documented assumption is "Artist - Title".
        expect("Title - Artist", "Uploader", &["Title"], "Artist");
        // The channel says who the artist is.
        expect(
            "Ditto - NewJeans | Official Audio",
            "NewJeans - Topic",
            &["NewJeans"],
            "Ditto",
        );
        expect(
            "Daft Punk - Daft Punk",
            "Daft Punk",
            &["Daft Punk"],
            "Daft Punk",
        );
    }

    #[test]
    fn splits_featured_artists() {
        expect(
            "Mark Ronson feat. Bruno Mars - Uptown Funk (Official Video)",
            "Mark Ronson",
            &["Mark Ronson", "Bruno Mars"],
            "Uptown Funk",
        );
    }

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

    #[test]
    fn quota_exceeded_lasts_until_the_next_los_angeles_midnight() {
        let body = br#"{"error":{"code":403,"message":"The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
            "errors":[{"message":"The request cannot be completed because you have exceeded your quota.",
            "domain":"youtube.quota","reason":"quotaExceeded"}]}}"#;
        let error = classify_error(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            body,
            at("2026-01-15T12:00:00Z"),
        );
        // 04:00 PST on the 15th → midnight PST starting the 16th.
        assert_eq!(
            error,
            ProviderError::QuotaExhausted {
                until: Some(at("2026-01-16T08:00:00Z"))
            }
        );
    }

    #[test]
    fn next_quota_reset_follows_pacific_time_across_dst() {
        // Summer: PDT is UTC-7; 23:30 PDT on June 30 is already July 1 in UTC.
        assert_eq!(
            next_quota_reset(at("2026-07-01T06:30:00Z")),
            at("2026-07-01T07:00:00Z")
        );
        // Spring forward (8 March 2026): 01:00 PST, the day has 23 hours; midnight after it is PDT.
        assert_eq!(
            next_quota_reset(at("2026-03-08T09:00:00Z")),
            at("2026-03-09T07:00:00Z")
        );
        // Fall back (1 November 2026): 01:00 PDT, the day has 25 hours; midnight after it is PST.
        assert_eq!(
            next_quota_reset(at("2026-11-01T08:00:00Z")),
            at("2026-11-02T08:00:00Z")
        );
        // Exactly at midnight: the next one, a day later.
        assert_eq!(
            next_quota_reset(at("2026-01-16T08:00:00Z")),
            at("2026-01-17T08:00:00Z")
        );
    }

    #[test]
    fn classifies_google_errors() {
        let now = at("2026-01-15T12:00:00Z");
        let body = |status: u16, domain: &str, reason: &str| {
            format!(
                r#"{{"error":{{"code":{status},"message":"m","errors":[{{"message":"m","domain":"{domain}","reason":"{reason}"}}],"status":"X"}}}}"#
            )
        };
        let classify = |status: u16, body: &str| {
            classify_error(
                StatusCode::from_u16(status).expect("status"),
                &HeaderMap::new(),
                body.as_bytes(),
                now,
            )
        };
        assert!(matches!(
            classify(403, &body(403, "usageLimits", "dailyLimitExceeded")),
            ProviderError::QuotaExhausted { until: Some(_) }
        ));
        assert_eq!(
            classify(403, &body(403, "usageLimits", "rateLimitExceeded")),
            ProviderError::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(403, &body(403, "usageLimits", "userRateLimitExceeded")),
            ProviderError::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(403, &body(403, "global", "forbidden")),
            ProviderError::Permanent("HTTP 403 (forbidden)".into())
        );
        assert_eq!(
            classify(400, &body(400, "global", "badRequest")),
            ProviderError::Permanent("HTTP 400 (badRequest)".into())
        );
        assert!(matches!(
            classify(503, &body(503, "global", "backendError")),
            ProviderError::Transient(_)
        ));
        assert!(matches!(
            classify(500, "<html>"),
            ProviderError::Transient(_)
        ));
        assert_eq!(
            classify(403, "not json"),
            ProviderError::Permanent("HTTP 403".into())
        );
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
        assert!(Youtube::new(&settings(&[]).providers.youtube).is_none());
        let s = settings(&[
            ("MUZE__PROVIDERS__YOUTUBE__API_KEY", "k3y"),
            (
                "MUZE__PROVIDERS__YOUTUBE__BASE_URL",
                "http://127.0.0.1:9/youtube/youtube/v3",
            ),
            ("MUZE__PROVIDERS__YOUTUBE__PAGE_SIZE", "7"),
        ]);
        let youtube = Youtube::new(&s.providers.youtube).expect("configured");
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
