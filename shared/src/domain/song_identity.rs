//! How a song is recognised: by its title variants and artists, normalized.
//!
//! Providers name one song differently: Spotify "좋은 날", YouTube "Good Day(좋은 날)". A
//! title's variants are the whole title, the part outside brackets, and each bracketed part
//! that is another name of the song: a translation or transliteration, written in another
//! script than the rest ("좋은 날" beside "Good Day"). Anything else in brackets (a version
//! "feat. X", "Remastered 2011"; a performance tag "Live Clip", "PIPELINE"; a concert "2019 IU
//! Tour Concert"; a lyric marker "가사/Lyrics"; a place "at Olympic Hall") is not a name: two
//! different songs by one artist often share one, and taking it for a title would merge them.
//! Match keys pair each variant with the primary artist; identity keys are what a query naming
//! exactly that title and artist normalizes to once spaces are removed ("iu 좋은 날", "좋은날 IU",
//! "IU - 좋은 날" all give one of them). A query equal to an identity key names the song with
//! nothing left over: that is what "confident" means for a catalog answer.

use super::normalize_text;

/// Bracketed parts starting with one of these words describe a version, not a title.
const DECORATIONS: &[&str] = &[
    "feat",
    "ft",
    "featuring",
    "with",
    "prod",
    "remaster",
    "remastered",
    "live",
    "ver",
    "version",
    "edit",
    "mix",
    "remix",
    "official",
    "mv",
    "m v",
    "lyric",
    "lyrics",
    "audio",
    "video",
    "inst",
    "instrumental",
    "acoustic",
    "from",
    "op",
    "ost",
    "explicit",
    "clean",
    "radio",
    "extended",
    "demo",
    "english",
    "japanese",
    "korean",
    "sped up",
    "slowed",
    "at",
    "in",
    "on",
    "@",
    "가사",
];

/// Words that mark a bracketed part as a version wherever they stand ("Performance ver.1").
const VERSION_WORDS: &[&str] = &[
    "ver",
    "version",
    "remix",
    "mix",
    "edit",
    "remaster",
    "remastered",
    "live",
    "feat",
    "ft",
    "inst",
    "instrumental",
    "acoustic",
    "lyrics",
    "lyric",
    "concert",
    "tour",
    "clip",
    "stage",
    "session",
    "showcase",
    "festival",
    "가사",
    "라이브",
    "콘서트",
];

/// The writing systems a text's letters belong to, coarsely: what tells a translation from a
/// tag. Kana and kanji count as one (Japanese titles mix them).
fn scripts(text: &str) -> std::collections::BTreeSet<u8> {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .map(|c| match c as u32 {
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => 1, // Hangul
            0x3040..=0x30FF | 0x4E00..=0x9FFF | 0x3400..=0x4DBF => 2, // kana, CJK ideographs
            0x0400..=0x04FF => 3,                                     // Cyrillic
            _ if c.is_ascii() || (c as u32) < 0x0250 => 0,            // Latin
            _ => 4,
        })
        .collect()
}

/// Whether a bracketed `part` is another name of the song titled `outside`: not a decoration,
/// and written in scripts the rest of the title does not use (`Good Day(좋은 날)`,
/// `뚜두뚜두 (DDU-DU DDU-DU)`), as translations and transliterations are. A same-script bracket
/// (`Love poem (PIPELINE)`) is a tag, not a name.
fn is_other_name(part: &str, outside: &str) -> bool {
    let (inner, rest) = (scripts(part), scripts(outside));
    !is_decoration(part) && !inner.is_empty() && !rest.is_empty() && inner.is_disjoint(&rest)
}

fn is_decoration(part: &str) -> bool {
    let part = normalize_text(part);
    let words: Vec<&str> = part.split(' ').collect();
    part.is_empty()
        || part.chars().all(|c| c.is_ascii_digit() || c == ' ')
        || DECORATIONS
            .iter()
            .any(|d| part == *d || part.starts_with(&format!("{d} ")))
        || words.iter().any(|w| VERSION_WORDS.contains(w))
}

/// Normalized title variants, the whole title first, without duplicates or empties.
pub fn title_variants(title: &str) -> Vec<String> {
    let mut variants = vec![normalize_text(title)];
    let mut outside = String::new();
    let mut inside: Vec<String> = Vec::new();
    let mut depth = 0usize;
    for c in title.chars() {
        match c {
            '(' | '[' | '（' | '【' => {
                depth += 1;
                if depth == 1 {
                    inside.push(String::new());
                }
            }
            ')' | ']' | '）' | '】' if depth > 0 => depth -= 1,
            _ if depth > 0 => {
                if let Some(last) = inside.last_mut() {
                    last.push(c);
                }
            }
            _ => outside.push(c),
        }
    }
    if !inside.is_empty() {
        variants.push(normalize_text(&outside));
        variants.extend(
            inside
                .iter()
                .filter(|p| is_other_name(p, &outside))
                .map(|p| normalize_text(p)),
        );
    }
    let mut seen = std::collections::HashSet::new();
    variants.retain(|v| !v.is_empty() && seen.insert(v.clone()));
    variants
}

/// `title \x1f artist` for each variant and the primary artist.
pub fn match_keys(title: &str, artists: &[String]) -> Vec<String> {
    let artist = normalize_text(artists.first().map(String::as_str).unwrap_or(""));
    title_variants(title)
        .into_iter()
        .map(|t| format!("{t}\u{1f}{artist}"))
        .collect()
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Title + artist and artist + title, spaces removed, for every title variant and for the
/// primary artist and all artists together.
pub fn identity_keys(title: &str, artists: &[String]) -> Vec<String> {
    let mut who: Vec<String> = Vec::new();
    if let Some(first) = artists.first() {
        who.push(compact(&normalize_text(first)));
    }
    if artists.len() > 1 {
        who.push(compact(&normalize_text(&artists.join(" "))));
    }
    let mut keys = Vec::new();
    for t in title_variants(title) {
        let t = compact(&t);
        for a in &who {
            if a.is_empty() {
                continue;
            }
            keys.push(format!("{t}{a}"));
            keys.push(format!("{a}{t}"));
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The identity key a query would match: normalized, spaces removed.
pub fn query_identity(normalized_query: &str) -> String {
    compact(normalized_query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artists(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bracketed_other_names_are_variants_and_decorations_are_not() {
        assert_eq!(
            title_variants("Good Day(좋은 날)"),
            vec!["good day 좋은 날", "good day", "좋은 날"]
        );
        assert_eq!(title_variants("좋은 날"), vec!["좋은 날"]);
        assert_eq!(
            title_variants("Dynamite (feat. Someone)"),
            vec!["dynamite feat someone", "dynamite"]
        );
        assert_eq!(
            title_variants("Bohemian Rhapsody (Remastered 2011)"),
            vec!["bohemian rhapsody remastered 2011", "bohemian rhapsody"]
        );
        assert_eq!(
            title_variants("Hype Boy (Performance ver.1)"),
            vec!["hype boy performance ver 1", "hype boy"]
        );
    }

    #[test]
    fn tags_concerts_lyric_markers_and_places_in_brackets_are_not_names() {
        for (title, outside) in [
            ("Love poem (PIPELINE)", "love poem"),
            ("Blueming (2019 IU Tour Concert Love, poem)", "blueming"),
            ("Love wins all [가사/Lyrics]", "love wins all"),
            ("밤편지 (Live Clip)", "밤편지"),
            ("밤편지 (at Olympic Hall)", "밤편지"),
            ("좋은 날 (IU Concert in Seoul)", "좋은 날"),
            ("Palette [Special Clip]", "palette"),
        ] {
            let variants = title_variants(title);
            assert_eq!(variants.len(), 2, "{title:?} → {variants:?}");
            assert_eq!(variants[1], outside, "{title:?}");
        }
    }

    #[test]
    fn translations_in_another_script_are_names() {
        assert!(title_variants("뚜두뚜두 (DDU-DU DDU-DU)").contains(&"ddu du ddu du".to_string()));
        assert!(title_variants("紅蓮華 (Gurenge)").contains(&"gurenge".to_string()));
        assert!(title_variants("LILAC(라일락)").contains(&"라일락".to_string()));
    }

    #[test]
    fn any_order_and_spacing_of_title_and_artist_is_an_identity_key() {
        let keys = identity_keys("좋은 날", &artists(&["IU"]));
        for query in ["iu 좋은 날", "좋은 날 IU", "IU - 좋은날", "좋은날iu"] {
            let q = query_identity(&normalize_text(query));
            assert!(keys.contains(&q), "{query:?} → {q:?} not in {keys:?}");
        }
        // Partial or extra words are not confident.
        for query in ["iu", "좋은 날", "iu 좋은", "iu 좋은 날 live", "좋은 날 bts"] {
            let q = query_identity(&normalize_text(query));
            assert!(!keys.contains(&q), "{query:?} should not be confident");
        }
    }

    #[test]
    fn a_youtube_style_title_knows_both_names() {
        let keys = identity_keys("Good Day(좋은 날)", &artists(&["IU"]));
        for query in ["IU - Good Day", "good day iu", "iu 좋은 날"] {
            assert!(
                keys.contains(&query_identity(&normalize_text(query))),
                "{query}"
            );
        }
        assert!(match_keys("Good Day(좋은 날)", &artists(&["IU"]))
            .contains(&"좋은 날\u{1f}iu".to_string()));
    }

    #[test]
    fn several_artists_count_together_and_the_first_alone() {
        let keys = identity_keys("Fine China", &artists(&["Future", "Juice WRLD"]));
        for query in ["future fine china", "Future & Juice WRLD - Fine China"] {
            assert!(
                keys.contains(&query_identity(&normalize_text(query))),
                "{query}"
            );
        }
    }
}
