//! What a user searched for, parsed once: the raw query, its normalized form, type and limit.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Longest query accepted, in characters (not bytes: Hangul is three bytes a syllable).
pub const MAX_QUERY_CHARS: usize = 200;

/// Why a search request's fields are not acceptable. Each maps to one API error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is empty")]
    Empty,
    #[error("the query is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("type must be one of: track")]
    BadType,
    #[error("limit must be a whole number from 1 to 50")]
    BadLimit,
}

/// A user's query as typed, trimmed, 1..=200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Query(String);

impl Query {
    pub fn parse(raw: &str) -> Result<Query, QueryError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(QueryError::Empty);
        }
        if trimmed.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        Ok(Query(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to recognise the same search typed differently.
    pub fn normalize(&self) -> NormalizedQuery {
        NormalizedQuery::from_text(&self.0)
    }
}

impl TryFrom<String> for Query {
    type Error = QueryError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Query::parse(&s)
    }
}

impl From<Query> for String {
    fn from(q: Query) -> String {
        q.0
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A query folded so that spelling variants of one search compare equal: Unicode NFKC
/// (full-width Latin, compatibility Hangul jamo), lower case, apostrophes dropped
/// ("don't" = "dont"), other punctuation and symbols turned into spaces, whitespace collapsed.
/// Letters keep their accents and scripts: "café" and "cafe" stay different searches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NormalizedQuery(String);

impl NormalizedQuery {
    /// Normalizes any text (queries, titles, artist names) the same way.
    pub fn from_text(text: &str) -> NormalizedQuery {
        NormalizedQuery(normalize_text(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whitespace-separated words of the normalized form.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|w| !w.is_empty())
    }
}

impl fmt::Display for NormalizedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{00B4}')
}

/// See [`NormalizedQuery`].
pub fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if is_apostrophe(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// What kind of thing is searched for. Only tracks today; the API rejects anything else.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SearchType {
    #[default]
    Track,
}

impl SearchType {
    pub fn parse(raw: &str) -> Result<SearchType, QueryError> {
        match raw {
            "track" => Ok(SearchType::Track),
            _ => Err(QueryError::BadType),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SearchType::Track => "track",
        }
    }
}

/// How many results the user wants, 1..=50 (default 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ResultLimit(u8);

impl ResultLimit {
    pub const DEFAULT: ResultLimit = ResultLimit(10);
    pub const MAX: u8 = 50;

    pub fn parse(n: i64) -> Result<ResultLimit, QueryError> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(ResultLimit)
            .ok_or(QueryError::BadLimit)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for ResultLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<i64> for ResultLimit {
    type Error = QueryError;
    fn try_from(n: i64) -> Result<Self, Self::Error> {
        ResultLimit::parse(n)
    }
}

impl From<ResultLimit> for i64 {
    fn from(l: ResultLimit) -> i64 {
        i64::from(l.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize_text(s)
    }

    #[test]
    fn query_is_trimmed_and_bounded() {
        assert_eq!(Query::parse("  좋은 날 ").expect("ok").as_str(), "좋은 날");
        assert_eq!(Query::parse(" \t\n "), Err(QueryError::Empty));
        assert!(Query::parse(&"가".repeat(200)).is_ok());
        assert_eq!(Query::parse(&"가".repeat(201)), Err(QueryError::TooLong));
        assert_eq!(Query::parse(&"a".repeat(201)), Err(QueryError::TooLong));
    }

    #[test]
    fn normalizes_hangul_case_and_spacing() {
        assert_eq!(norm("아이유  좋은 날"), "아이유 좋은 날");
        assert_eq!(norm("IU - Good Day"), "iu good day");
        assert_eq!(norm("  iu   good\tday  "), "iu good day");
        // Compatibility jamo and full-width Latin fold under NFKC.
        assert_eq!(norm("ＩＵ　좋은 날"), "iu 좋은 날");
        // Decomposed Hangul (NFD) composes to the same syllables.
        let decomposed: String = "좋은 날".nfd().collect();
        assert_eq!(norm(&decomposed), "좋은 날");
    }

    #[test]
    fn normalizes_punctuation_sensibly() {
        assert_eq!(norm("Don't Stop Me Now!"), "dont stop me now");
        assert_eq!(norm("Don’t stop me now"), "dont stop me now");
        assert_eq!(norm("AC/DC — Back in Black"), "ac dc back in black");
        assert_eq!(norm("「夜に駆ける」YOASOBI"), "夜に駆ける yoasobi");
        assert_eq!(norm("???"), "");
    }

    #[test]
    fn keeps_accents_and_scripts() {
        assert_eq!(norm("Beyoncé – Halo"), "beyoncé halo");
        assert_ne!(norm("café"), norm("cafe"));
        // Decomposed é composes under NFKC.
        assert_eq!(norm("cafe\u{0301}"), "café");
        assert_eq!(norm("ＹＯＡＳＯＢＩ アイドル"), "yoasobi アイドル");
        assert_eq!(norm("ÉCOLE"), "école");
    }

    #[test]
    fn type_and_limit_parse() {
        assert_eq!(SearchType::parse("track"), Ok(SearchType::Track));
        assert_eq!(SearchType::parse("Track"), Err(QueryError::BadType));
        assert_eq!(SearchType::parse("album"), Err(QueryError::BadType));
        assert_eq!(ResultLimit::parse(1).map(ResultLimit::get), Ok(1));
        assert_eq!(ResultLimit::parse(50).map(ResultLimit::get), Ok(50));
        assert_eq!(ResultLimit::parse(0), Err(QueryError::BadLimit));
        assert_eq!(ResultLimit::parse(51), Err(QueryError::BadLimit));
        assert_eq!(ResultLimit::parse(-3), Err(QueryError::BadLimit));
    }
}
