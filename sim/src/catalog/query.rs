//! What a search asks for, parsed once from the providers' query languages: plain text,
//! Spotify's field filters (`track:"..." artist:... isrc:... year:... tag:new`), Deezer's
//! advanced search (`artist:"..." track:"..."`) and MusicBrainz's Lucene syntax
//! (`recording:"..." AND artist:"..."`).
//!
//! Everything is normalized (NFKC, lowercase) and split into tokens the same way the catalog
//! index is, so matching is a question of token containment.

use unicode_normalization::UnicodeNormalization;

/// NFKC-normalizes and lowercases `s`.
pub fn normalize(s: &str) -> String {
    s.nfkc().flat_map(char::to_lowercase).collect()
}

/// Normalizes `s` and splits it into tokens at every character that is not alphanumeric
/// (whitespace and punctuation), e.g. `"좋은 날 (IU)"` → `["좋은", "날", "iu"]`.
pub fn tokenize(s: &str) -> Vec<String> {
    normalize(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A parsed search: every non-empty part must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Free tokens: each must occur in the title or the artists.
    pub text: Vec<String>,
    /// Tokens that must occur in the title (`track:`, `recording:`).
    pub title: Vec<String>,
    /// Tokens that must occur in the artists (`artist:`, `artistname:`).
    pub artist: Vec<String>,
    /// Tokens that must occur in the album name (`album:`, `release:`).
    pub album: Vec<String>,
    /// Exact ISRC (`isrc:`), uppercase without separators.
    pub isrc: Option<String>,
    /// Release year range, inclusive (`year:2010`, `year:2001-2005`, `date:2010-12-09`).
    pub years: Option<(u16, u16)>,
    /// Only new releases (`tag:new`).
    pub new_only: bool,
    /// Whether a token also matches a word one edit away (see [`Self::forgiving_typos`]).
    pub forgive_typos: bool,
}

impl SearchQuery {
    /// Plain text: every token is free.
    pub fn text(q: &str) -> Self {
        SearchQuery {
            text: tokenize(q),
            ..SearchQuery::default()
        }
    }

    /// Text with field filters, in any of the supported dialects (Spotify, Deezer, Lucene):
    /// `field:value` or `field:"a phrase"`; bare `AND`/`OR`/`&&`/`||`, parentheses and `+`
    /// are ignored, negated terms (`-x`, `NOT x`) are dropped, unknown fields ignored.
    pub fn parse(q: &str) -> Self {
        let mut query = SearchQuery::default();
        let mut negate_next = false;
        for term in lex(q) {
            if term.field.is_none() && matches!(term.value.as_str(), "AND" | "OR" | "&&" | "||") {
                continue;
            }
            if term.field.is_none() && term.value == "NOT" {
                negate_next = true;
                continue;
            }
            if std::mem::take(&mut negate_next) || term.negated {
                continue;
            }
            query.add(term.field.as_deref(), &term.value);
        }
        query
    }

    fn add(&mut self, field: Option<&str>, value: &str) {
        let field = field.map(str::to_ascii_lowercase);
        match field.as_deref() {
            None => self.text.extend(tokenize(value)),
            Some("track" | "recording" | "title" | "recordingaccent") => {
                self.title.extend(tokenize(value))
            }
            Some("artist" | "artistname" | "creditname") => self.artist.extend(tokenize(value)),
            Some("album" | "release") => self.album.extend(tokenize(value)),
            Some("isrc") => {
                self.isrc = Some(
                    value
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_ascii_uppercase(),
                )
            }
            Some("year" | "date" | "firstreleasedate") => self.years = parse_years(value),
            Some("tag") => {
                if value.eq_ignore_ascii_case("new") {
                    self.new_only = true;
                }
            }
            // genre, upc, label, dur_min, bpm_max, arid, ... are not modelled.
            Some(_) => {}
        }
    }

    /// The same query, forgiving one typo in each token of four letters or more, as Spotify,
    /// YouTube, Shazam and Deezer (unless `strict=on`) search do; MusicBrainz's Lucene search
    /// matches words as typed.
    pub fn forgiving_typos(mut self) -> Self {
        self.forgive_typos = true;
        self
    }

    /// Whether the query constrains nothing (such a query matches nothing).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
            && self.title.is_empty()
            && self.artist.is_empty()
            && self.album.is_empty()
            && self.isrc.is_none()
            && self.years.is_none()
            && !self.new_only
    }

    /// Tokens that speak about the title (free text and title filters), used for ranking.
    pub(crate) fn title_like(&self) -> impl Iterator<Item = &String> {
        self.text.iter().chain(self.title.iter())
    }
}

/// `2010` → (2010, 2010); `2001-2005` → (2001, 2005); `2010-12-09` → (2010, 2010).
fn parse_years(value: &str) -> Option<(u16, u16)> {
    let value = value.trim();
    if let Some((a, b)) = value.split_once('-') {
        if a.len() == 4 && b.len() == 4 {
            if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                return Some((a, b));
            }
        }
    }
    let year: u16 = value.get(..4)?.parse().ok()?;
    Some((year, year))
}

#[derive(Debug)]
struct Term {
    field: Option<String>,
    value: String,
    negated: bool,
}

/// Splits a query into terms: `field:"a b"`, `field:word`, `"a b"`, `word`.
fn lex(q: &str) -> Vec<Term> {
    let chars: Vec<char> = q.chars().collect();
    let mut terms = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || matches!(c, '(' | ')' | '+') {
            i += 1;
            continue;
        }
        let mut negated = false;
        if matches!(c, '-' | '!') {
            negated = true;
            i += 1;
        }
        if chars.get(i) == Some(&'"') {
            let (value, next) = read_quoted(&chars, i + 1);
            terms.push(Term {
                field: None,
                value,
                negated,
            });
            i = next;
            continue;
        }
        // A bare word, possibly `field:` followed by a word or a quoted phrase.
        let start = i;
        while i < chars.len()
            && !chars[i].is_whitespace()
            && chars[i] != ':'
            && chars[i] != '"'
            && chars[i] != ')'
        {
            if chars[i] == '\\' {
                i += 1;
            }
            i += 1;
        }
        let word: String = unescape(&chars[start..i.min(chars.len())]);
        let is_field = chars.get(i) == Some(&':')
            && !word.is_empty()
            && word.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
        if !is_field {
            if chars.get(i) == Some(&':') {
                i += 1; // a stray colon: keep scanning after it
            }
            if !word.is_empty() {
                terms.push(Term {
                    field: None,
                    value: word,
                    negated,
                });
            }
            continue;
        }
        i += 1; // the colon
        let (value, next) = if chars.get(i) == Some(&'"') {
            read_quoted(&chars, i + 1)
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ')' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            (unescape(&chars[start..i.min(chars.len())]), i)
        };
        terms.push(Term {
            field: Some(word),
            value,
            negated,
        });
        i = next;
    }
    terms
}

/// Reads up to the closing quote (or the end); returns the phrase and the index after it.
fn read_quoted(chars: &[char], mut i: usize) -> (String, usize) {
    let mut value = String::new();
    while i < chars.len() && chars[i] != '"' {
        if chars[i] == '\\' && i + 1 < chars.len() {
            i += 1;
        }
        value.push(chars[i]);
        i += 1;
    }
    (value, i + 1)
}

fn unescape(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len());
    let mut escaped = false;
    for &c in chars {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_with_nfkc_and_case_folding() {
        assert_eq!(tokenize("좋은 날 (IU)"), ["좋은", "날", "iu"]);
        assert_eq!(tokenize("ＩＵ　Ｒｅａｌ"), ["iu", "real"]); // full-width forms
        assert_eq!(tokenize("APT."), ["apt"]);
        assert!(tokenize("  !!! ").is_empty());
    }

    #[test]
    fn parses_spotify_filters() {
        let q =
            SearchQuery::parse(r#"remaster track:"One More Time" artist:Daft year:2001 tag:new"#);
        assert_eq!(q.text, ["remaster"]);
        assert_eq!(q.title, ["one", "more", "time"]);
        assert_eq!(q.artist, ["daft"]);
        assert_eq!(q.years, Some((2001, 2001)));
        assert!(q.new_only);
        assert_eq!(
            SearchQuery::parse("isrc:gbduw0000053").isrc.as_deref(),
            Some("GBDUW0000053")
        );
        assert_eq!(
            SearchQuery::parse("year:2001-2005").years,
            Some((2001, 2005))
        );
    }

    #[test]
    fn parses_lucene_queries() {
        let q = SearchQuery::parse(r#"recording:"One More Time" AND artist:"Daft Punk""#);
        assert_eq!(q.title, ["one", "more", "time"]);
        assert_eq!(q.artist, ["daft", "punk"]);
        assert!(q.text.is_empty());
        let q = SearchQuery::parse(r#"(recording:좋은\ 날) AND NOT artist:foo"#);
        assert_eq!(q.title, ["좋은", "날"]);
        assert!(q.artist.is_empty());
    }

    #[test]
    fn plain_text_with_colons_and_quotes_stays_text() {
        let q = SearchQuery::parse(r#""hype boy" newjeans 12:30"#);
        assert_eq!(q.text, ["hype", "boy", "newjeans", "12", "30"]);
    }
}
