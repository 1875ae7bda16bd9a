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

use unicode_normalization::UnicodeNormalization;

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

/// Every title variant with spaces removed: what a query naming the title alone (in any
/// spacing) equals.
pub fn title_keys(title: &str) -> Vec<String> {
    let mut keys: Vec<String> = title_variants(title).iter().map(|t| compact(t)).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Every key a track is found by, from one title and its artists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// [`identity_keys`].
    pub identity: Vec<String>,
    /// [`title_keys`].
    pub titles: Vec<String>,
    /// [`near_keys`] of both.
    pub near: Vec<String>,
}

impl Keys {
    pub fn of(title: &str, artists: &[String]) -> Keys {
        let identity = identity_keys(title, artists);
        let titles = title_keys(title);
        let near = near_keys(&identity, &titles);
        Keys {
            identity,
            titles,
            near,
        }
    }
}

/// Keys spelled shorter than this ([`spelled`]) get no neighbourhood: one edit from two or
/// three letters is almost any name.
pub const NEAR_KEY_FLOOR_LETTERS: usize = 4;

/// A key as it is typed, letter by letter: canonically decomposed (NFD), so a Hangul syllable
/// is its two or three jamo and "é" is "e" and its accent. A typo changes one jamo ("눈물" →
/// "눈뭍"), not a whole syllable, and one edit in this spelling is one slip of the finger:
/// "눈물" and "선물" are two edits apart, as different songs should be.
pub fn spelled(key: &str) -> String {
    key.nfd().collect()
}

/// How many letters a key is spelled with ([`spelled`]): what decides whether one edit from
/// it is still that name.
pub fn key_letters(key: &str) -> usize {
    key.nfd().count()
}

/// `key` with each one of its characters left out in turn.
fn deletions(key: &str) -> impl Iterator<Item = String> + '_ {
    key.char_indices()
        .map(move |(at, c)| format!("{}{}", &key[..at], &key[at + c.len_utf8()..]))
}

/// Every key of [`NEAR_KEY_FLOOR_LETTERS`] or more, [`spelled`], with its one-deletion
/// neighbourhood. A query one edit (an insertion, deletion, substitution or swap of
/// neighbours) from a key shares an entry of its [`probe`] with these: the index finds near
/// matches without a scan, and [`one_edit_apart`] then confirms each.
pub fn near_keys(identity_keys: &[String], title_keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = identity_keys
        .iter()
        .chain(title_keys)
        .map(|k| spelled(k))
        .filter(|k| k.chars().count() >= NEAR_KEY_FLOOR_LETTERS)
        .flat_map(|k| {
            deletions(&k)
                .chain(std::iter::once(k.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What a query key is looked up by among [`near_keys`]: itself [`spelled`] and its
/// one-deletion neighbourhood.
pub fn probe(query_key: &str) -> Vec<String> {
    let spelled = spelled(query_key);
    let mut out: Vec<String> = deletions(&spelled)
        .chain(std::iter::once(spelled.clone()))
        .filter(|k| !k.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `a` and `b`, [`spelled`], differ by exactly one edit: a letter inserted, deleted
/// or replaced, or two neighbours swapped.
pub fn one_edit_apart(a: &str, b: &str) -> bool {
    strsim::osa_distance(&spelled(a), &spelled(b)) == 1
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
    fn a_title_alone_in_any_spacing_is_a_title_key() {
        let keys = title_keys("Good Day(좋은 날)");
        for query in ["좋은 날", "좋은날", "Good Day", "goodday"] {
            assert!(
                keys.contains(&query_identity(&normalize_text(query))),
                "{query:?} not in {keys:?}"
            );
        }
        assert!(!keys.contains(&query_identity(&normalize_text("good day iu"))));
    }

    #[test]
    fn one_edit_is_found_through_the_neighbourhoods_and_confirmed() {
        let identity = identity_keys("Blinding Lights", &artists(&["The Weeknd"]));
        let titles = title_keys("Blinding Lights");
        let near = near_keys(&identity, &titles);
        let found = |query: &str| {
            let q = query_identity(&normalize_text(query));
            let p = probe(&q);
            let indexed = p.iter().any(|k| near.contains(k));
            let confirmed = identity
                .iter()
                .chain(&titles)
                .any(|k| k == &q || one_edit_apart(k, &q));
            indexed && confirmed
        };
        for typo in [
            "Blindng Lights The Weeknd",   // a letter left out
            "Blindingg Lights The Weeknd", // one typed twice
            "Blinding Lighst The Weeknd",  // neighbours swapped
            "Blinding Lights The Weekend", // one added
            "Blinding Lights The Waeknd",  // one replaced
            "The Weeknd Blindin Lights",
            "blindinglight",
        ] {
            assert!(found(typo), "{typo:?} should be found");
        }
        for other in [
            "Blinding Light Weeknd",
            "Lights The Weeknd",
            "Blonding Lights Xx",
        ] {
            assert!(!found(other), "{other:?} is more than one edit away");
        }
    }

    #[test]
    fn keys_are_compared_letter_by_letter_jamo_for_hangul() {
        assert!(near_keys(&["abc".into()], &[]).is_empty());
        assert_eq!(near_keys(&["abcd".into()], &[]).len(), 5);
        assert_eq!(key_letters("좋은날iu"), 11); // ㅈㅗㅎ ㅇㅡㄴ ㄴㅏㄹ i u
                                                 // A slip of one jamo is one edit; another syllable is more.
        assert!(one_edit_apart("hana눈물", "hana눈뭍"));
        assert!(one_edit_apart("좋은날iu", "조은날iu"));
        assert!(!one_edit_apart("hana눈물", "hana선물"));
        // An accent left out is one edit.
        assert!(one_edit_apart("rosé", "rose"));
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
