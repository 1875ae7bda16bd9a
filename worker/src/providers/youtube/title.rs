//! Artist and title out of a video's free-text title and its channel name.
//!
//! YouTube knows no songs, only uploads; what an upload is called follows a handful of habits
//! (`Artist - Title (Official Video)`, `[MV] Artist(별명) _ Title(제목)`, `Artist 'Title' M/V`,
//! `Title` on an `Artist - Topic` channel) that this module reads. The table of real titles in
//! `title_table.rs` is its specification.

use crate::providers::artists;

/// Artist and title recovered from a video title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitTitle {
    /// The credited artists, main names only; empty when neither title nor channel names one.
    pub artists: Vec<String>,
    /// The song title without upload decorations.
    pub title: String,
}

/// Recovers artist and title from a video's `title` and `channelTitle`, both as the API sends
/// them (HTML-escaped); `None` when the video is not a song (a reaction, a teaser, a fancam, a
/// playlist: see [`NOT_A_SONG`]).
///
/// Decorations are dropped first: leading tags like `[MV]`, `| Official Audio` suffixes and
/// trailing `(Official Video)`, `[4K]`, `[가사/Lyrics]`, `Official MV`, `M/V`. Then, in order:
/// `Artist - Title` (also `–` and `—`), `Artist 'Title'` / `Artist "Title"` / `Artist「Title」`,
/// a title that is only a quote (`'Title' Live Clip`), and 1theK's `Artist _ Title` (with or
/// without spaces); with none of those the whole text is the title and the channel (minus
/// ` - Topic`, `VEVO`, `Official`, or the name in `이지금 [IU Official]`) the artist. An artist's
/// trailing parenthesis is an alias in another script (`IU(아이유)`, `BTS (방탄소년단)`) and is
/// dropped, as is a name repeated in another script (`aespa 에스파`). Featured artists named
/// after the title (`Despacito ft. Daddy Yankee`, `(feat. X)`) join the artists.
///
/// `Title - Artist` cannot be told from `Artist - Title` in general, so `Artist - Title` is
/// assumed; the one exception is when the channel names the right-hand side and not the left
/// (`Title - Artist | Official Audio` on `Artist - Topic`).
pub fn split_title(title: &str, channel: &str) -> Option<SplitTitle> {
    let text = collapse_whitespace(&html_escape::decode_html_entities(title));
    if is_not_a_song(&text) {
        return None;
    }
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
        (strip_decorations(left, true), quoted.to_string())
    } else if let Some(quoted) = leading_quote(&text) {
        (String::new(), quoted.to_string())
    } else if let Some((left, right)) = split_on_underscore(&text) {
        (left.to_string(), strip_decorations(right, true))
    } else {
        (String::new(), strip_decorations(&text, true))
    };
    let (song, featured) = take_features(&song);
    let song = strip_decorations(&song, true);
    let mut artists = artist_names(&artist);
    if artists.is_empty() {
        artists = artist_names(&channel);
    }
    for name in featured.iter().flat_map(|f| artist_names(f)) {
        if !artists.contains(&name) {
            artists.push(name);
        }
    }
    let song = trim_separators(&song);
    Some(SplitTitle {
        artists,
        title: if song.is_empty() {
            text
        } else {
            song.to_string()
        },
    })
}

/// Phrases that make a video something other than a song: about one (a reaction, an
/// interview, a teaser, a making-of), a filmed performance of one person (a fancam), or many
/// songs (a playlist, a full album). Matched as whole words, ignoring case.
const NOT_A_SONG: &[&str] = &[
    "reaction",
    "reacts",
    "reacting",
    "interview",
    "teaser",
    "trailer",
    "making film",
    "behind the scenes",
    "behind film",
    "fancam",
    "fan cam",
    "focus cam",
    "직캠",
    "dance practice",
    "안무 영상",
    "playlist",
    "full album",
    "노래모음",
    "compilation",
    "1 hour loop",
    "1시간",
];

fn is_not_a_song(text: &str) -> bool {
    let lower = text.to_lowercase();
    NOT_A_SONG.iter().any(|phrase| {
        lower.match_indices(phrase).any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + phrase.len()..].chars().next();
            before.is_none_or(|c| !c.is_alphanumeric())
                && after.is_none_or(|c| !c.is_alphanumeric())
        })
    })
}

/// `Title ft. X`, `Title (feat. X)` → (`Title`, [`X`]): the featured artists named after the
/// title, wherever they stand among its decorations.
fn take_features(song: &str) -> (String, Vec<String>) {
    const MARKS: &[&str] = &["feat. ", "ft. ", "featuring ", "feat ", "ft "];
    let lower = song.to_lowercase();
    let found = MARKS
        .iter()
        .filter_map(|mark| {
            lower.match_indices(mark).find_map(|(at, _)| {
                let before = lower[..at].chars().next_back()?;
                matches!(before, ' ' | '(' | '[').then_some((at, mark.len(), before))
            })
        })
        .min_by_key(|(at, _, _)| *at);
    let Some((at, len, before)) = found else {
        return (song.to_string(), Vec::new());
    };
    let names_start = at + len;
    if before == ' ' {
        // Bare: the names run to the end, or to the next bracket.
        let end = song[names_start..]
            .find(['(', '['])
            .map_or(song.len(), |i| names_start + i);
        let rest = format!("{} {}", song[..at].trim(), song[end..].trim());
        return (
            collapse_whitespace(&rest),
            vec![song[names_start..end].trim().to_string()],
        );
    }
    let close = if before == '(' { ')' } else { ']' };
    let open = at - 1;
    let Some(end) = song[names_start..].find(close).map(|i| names_start + i) else {
        return (song.to_string(), Vec::new());
    };
    let rest = format!(
        "{} {}",
        song[..open].trim(),
        song[end + close.len_utf8()..].trim()
    );
    (
        collapse_whitespace(&rest),
        vec![song[names_start..end].trim().to_string()],
    )
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
    "special",
    "oficial",
    "vídeo",
    "videoclip",
    "letra",
    "han",
    "rom",
    "eng",
    "kor",
    "jpn",
    "sub",
    "subs",
    "color",
    "coded",
    "뮤직비디오",
    "가사",
    "공식",
    "歌詞",
];

fn is_decoration_word(word: &str) -> bool {
    let word = word.trim_matches(|c: char| matches!(c, '.' | ',' | '!' | ':' | '-'));
    let lower = word.to_lowercase();
    !lower.is_empty() && DECORATION_WORDS.contains(&lower.as_str())
}

/// Whether every word of `text` is a decoration; `가사/Lyrics` and `Han/Rom/Eng` are read as
/// the words they join.
fn is_decoration(text: &str) -> bool {
    let mut words = text.split_whitespace().peekable();
    words.peek().is_some()
        && words.all(|w| {
            is_decoration_word(w)
                || w.split('/')
                    .all(|part| part.is_empty() || is_decoration_word(part))
        })
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
        '］' => '［',
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

/// What may follow a quoted title and still leave it the whole title: nothing, a bracket, a
/// decoration (`Official MV`) or a performance note (`Live Clip`, `Special Video`).
fn quote_tail_ok(after: &str) -> bool {
    const PERFORMANCE: &[&str] = &["live", "performance", "band", "acoustic", "dance"];
    let after = after.trim();
    after.is_empty()
        || after.starts_with(['(', '[', '【', '（', '［'])
        || after.split(' ').next().is_some_and(|w| {
            is_decoration_word(w) || PERFORMANCE.contains(&w.to_lowercase().as_str())
        })
}

/// `Artist 'Title' Official MV (Performance ver.1)` → (`Artist`, `Title`). The quote must follow
/// a space (corner brackets `「」『』` need none) and be followed by what [`quote_tail_ok`] allows,
/// so `Rock 'n' Roll` is no quote.
fn split_on_quotes(s: &str) -> Option<(&str, &str)> {
    s.char_indices()
        .filter(|&(i, c)| {
            i > 0
                && QUOTES.iter().any(|(o, _)| *o == c)
                && (s[..i].ends_with(' ') || matches!(c, '「' | '『'))
        })
        .find_map(|(i, _)| {
            let (quoted, after) = quoted_at(s, i)?;
            let artist = trim_separators(&s[..i]);
            (quote_tail_ok(after) && !quoted.is_empty() && !artist.is_empty())
                .then_some((artist, quoted))
        })
}

/// `'Love poem' Live Clip` → `Love poem`: a title that is only a quote and its tail.
fn leading_quote(s: &str) -> Option<&str> {
    let (quoted, after) = quoted_at(s, 0)?;
    (quote_tail_ok(after) && !quoted.is_empty()).then_some(quoted)
}

/// 1theK's `IU(아이유) _ Good Day(좋은 날)`, also written without the spaces
/// (`IU(아이유)_LILAC(라일락)`).
fn split_on_underscore(s: &str) -> Option<(&str, &str)> {
    let (left, right) = s.split_once(" _ ").or_else(|| s.split_once('_'))?;
    let (left, right) = (left.trim(), right.trim());
    (!left.is_empty() && !right.is_empty()).then_some((left, right))
}

/// `IU(아이유)` → `IU`, `(여자)아이들 ((G)I-DLE)` → `(여자)아이들`: the trailing parenthesis is an
/// alias in another script. `aespa 에스파` → `aespa`: Latin words followed by the same name in
/// Hangul, kana or kanji.
fn drop_alias(name: &str) -> &str {
    let name = name.trim();
    let name = match trailing_group_start(name) {
        Some(start)
            if name[start..].starts_with(['(', '（']) && !name[..start].trim().is_empty() =>
        {
            name[..start].trim()
        }
        _ => name,
    };
    let latin = |w: &str| w.chars().all(|c| c.is_ascii() || !c.is_alphabetic());
    let words: Vec<&str> = name.split(' ').collect();
    let latin_words = words.iter().take_while(|w| latin(w)).count();
    if latin_words > 0
        && latin_words < words.len()
        && words[latin_words..].iter().all(|w| !latin(w))
        && words[..latin_words]
            .iter()
            .any(|w| w.chars().any(char::is_alphabetic))
    {
        let end = words[..latin_words]
            .iter()
            .map(|w| w.len() + 1)
            .sum::<usize>()
            - 1;
        return name[..end].trim();
    }
    name
}

/// The artists named in `s`: collaborations and features split as every provider splits them
/// ([`artists::split`]), aliases dropped.
fn artist_names(s: &str) -> Vec<String> {
    artists::split(trim_separators(s))
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
    // `이지금 [IU Official]`: the bracket names the artist the channel is the official one of.
    if let Some(start) = trailing_group_start(s).filter(|_| s.ends_with(']')) {
        let inner = clean_channel(&s[start + 1..s.len() - 1]);
        if !inner.is_empty() && !is_decoration(&inner) {
            return inner;
        }
    }
    // `(G)I-DLE (여자)아이들 (Official YouTube Channel)`.
    if let Some(start) = trailing_group_start(s) {
        let open_len = s[start..].chars().next().map_or(1, char::len_utf8);
        let close_len = s.chars().next_back().map_or(1, char::len_utf8);
        let inner = &s[start + open_len..s.len() - close_len];
        if is_channel_decoration(inner) && !s[..start].trim().is_empty() {
            s = s[..start].trim();
        }
    }
    while let Some(suffix) = SUFFIXES.iter().find(|suffix| {
        s.len() > suffix.len()
            && s.is_char_boundary(s.len() - suffix.len())
            && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    }) {
        s = trim_separators(&s[..s.len() - suffix.len()]);
    }
    s.to_string()
}

/// `Official YouTube Channel` and the like.
fn is_channel_decoration(text: &str) -> bool {
    text.split_whitespace().all(|w| {
        is_decoration_word(w) || ["youtube", "channel"].contains(&w.to_lowercase().as_str())
    })
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
        let s = split_title(title, channel).expect("a song");
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
}
