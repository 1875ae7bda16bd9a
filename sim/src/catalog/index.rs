//! The catalog's search index: per field (title, artists, album), an inverted index from
//! normalized word to the songs containing it.
//!
//! A query token matches a song when it is a substring of one of the song's words in that
//! field (tokens never contain separators, so this is the same as being a substring of the
//! field's text). Matching scans the vocabulary — a few hundred distinct words — instead of
//! every song, and combines posting lists as bitsets, so a search costs microseconds however
//! large the catalog is.
//!
//! A query that forgives typos ([`SearchQuery::forgiving_typos`]) also matches a word one edit
//! away from a token of [`MIN_TYPO_LETTERS`] or more (an insertion, a deletion, a substitution
//! or two neighbours swapped, counted on the word spelled out in NFD, so one jamo of a Hangul
//! syllable is one letter), as the real providers' search corrects a slip of the keyboard.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

use super::query::{tokenize, SearchQuery};

/// Which part of a song a token is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Title,
    Artist,
    Album,
}

/// A set of song positions (0-based) as a bitset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SongSet {
    words: Vec<u64>,
}

impl SongSet {
    pub(crate) fn empty(len: usize) -> Self {
        SongSet {
            words: vec![0; len.div_ceil(64)],
        }
    }

    pub(crate) fn full(len: usize) -> Self {
        let mut set = SongSet::empty(len);
        for i in 0..len {
            set.insert(i as u32);
        }
        set
    }

    pub(crate) fn insert(&mut self, pos: u32) {
        self.words[pos as usize / 64] |= 1 << (pos % 64);
    }

    pub(crate) fn intersect(&mut self, other: &SongSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros();
                w &= w - 1;
                Some(i as u32 * 64 + bit)
            })
        })
    }
}

/// The shortest token, in letters spelled out in NFD, that a forgiving search matches one edit
/// away: a typo in a shorter one is as likely another word.
pub const MIN_TYPO_LETTERS: usize = 4;

/// A word or token spelled out letter by letter (NFD: a Hangul syllable becomes its jamo).
#[derive(Debug, Clone)]
struct Spelled(Vec<char>);

impl Spelled {
    fn of(word: &str) -> Self {
        Spelled(word.nfd().collect())
    }

    /// One edit (insertion, deletion, substitution, swap of neighbours) apart, exactly. One
    /// pass without allocating: it runs against every word of similar length in a field.
    fn one_edit_from(&self, other: &Spelled) -> bool {
        let (a, b) = (&self.0, &other.0);
        if a.len().abs_diff(b.len()) > 1 || a == b {
            return false;
        }
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let (a, b) = (&a[prefix..], &b[prefix..]);
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Less => a == &b[1..],
            std::cmp::Ordering::Greater => &a[1..] == b,
            std::cmp::Ordering::Equal => {
                a[1..] == b[1..]
                    || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
            }
        }
    }
}

/// A query token as a forgiving search matches it: the token, and its spelling when it is
/// long enough to forgive a typo in.
pub(crate) struct Token<'a> {
    text: &'a str,
    typo_forgiven: Option<Spelled>,
}

impl<'a> Token<'a> {
    pub(crate) fn new(text: &'a str, forgive_typos: bool) -> Self {
        Token {
            text,
            typo_forgiven: forgive_typos
                .then(|| Spelled::of(text))
                .filter(|spelled| spelled.0.len() >= MIN_TYPO_LETTERS),
        }
    }

    /// Whether `word` (with its spelling) holds this token, or is one edit from it.
    fn hits(&self, word: &str, spelled: &Spelled) -> bool {
        word.contains(self.text)
            || self
                .typo_forgiven
                .as_ref()
                .is_some_and(|t| t.one_edit_from(spelled))
    }
}

/// Inverted index of one field.
#[derive(Debug, Clone, Default)]
struct FieldIndex {
    words: Vec<String>,
    spellings: Vec<Spelled>,
    word_ids: HashMap<String, usize>,
    postings: Vec<Vec<u32>>,
}

impl FieldIndex {
    fn add(&mut self, pos: u32, tokens: &[String]) {
        for token in tokens {
            let id = match self.word_ids.get(token) {
                Some(&id) => id,
                None => {
                    self.words.push(token.clone());
                    self.spellings.push(Spelled::of(token));
                    self.postings.push(Vec::new());
                    self.word_ids.insert(token.clone(), self.words.len() - 1);
                    self.words.len() - 1
                }
            };
            let list = &mut self.postings[id];
            if list.last() != Some(&pos) {
                list.push(pos);
            }
        }
    }

    /// Adds to `set` every song with a word `token` hits.
    fn collect(&self, token: &Token<'_>, set: &mut SongSet) {
        for ((word, spelled), list) in self.words.iter().zip(&self.spellings).zip(&self.postings) {
            if token.hits(word, spelled) {
                for &pos in list {
                    set.insert(pos);
                }
            }
        }
    }
}

/// What ranking needs to know about one song.
#[derive(Debug, Clone)]
struct SongKey {
    /// Token lists of the title and of its alternative title, if any, with their spellings.
    titles: Vec<Vec<(String, Spelled)>>,
}

/// How well a song matches, compared lexicographically (greater is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    /// Every word of the title is one of the query's tokens.
    exact_title: bool,
    /// Query tokens found in the title.
    title_hits: u32,
    /// Share of the title's characters the query covers, in permille.
    coverage: u32,
}

/// The index over all songs of a catalog, in catalog order (position = id - 1).
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchIndex {
    title: FieldIndex,
    artist: FieldIndex,
    album: FieldIndex,
    keys: Vec<SongKey>,
}

/// The searchable text of one song.
#[derive(Debug)]
pub(crate) struct SongText<'a> {
    pub titles: [Option<&'a str>; 2],
    pub artists: Vec<&'a str>,
    pub album: &'a str,
}

impl SearchIndex {
    /// Indexes the next song (its position is the number of songs indexed so far).
    pub(crate) fn push(&mut self, text: SongText<'_>) {
        let pos = self.keys.len() as u32;
        let titles: Vec<Vec<String>> = text.titles.iter().flatten().map(|t| tokenize(t)).collect();
        for tokens in &titles {
            self.title.add(pos, tokens);
        }
        let titles = titles
            .into_iter()
            .map(|words| {
                words
                    .into_iter()
                    .map(|w| {
                        let spelled = Spelled::of(&w);
                        (w, spelled)
                    })
                    .collect()
            })
            .collect();
        for artist in &text.artists {
            self.artist.add(pos, &tokenize(artist));
        }
        self.album.add(pos, &tokenize(text.album));
        self.keys.push(SongKey { titles });
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    fn matching(&self, token: &Token<'_>, fields: &[Field]) -> SongSet {
        let mut set = SongSet::empty(self.len());
        for field in fields {
            let index = match field {
                Field::Title => &self.title,
                Field::Artist => &self.artist,
                Field::Album => &self.album,
            };
            index.collect(token, &mut set);
        }
        set
    }

    /// Positions of the songs matching every token of `query` (the ISRC, year and new-only
    /// parts are the caller's), or `None` when the query has no tokens at all.
    pub(crate) fn candidates(&self, query: &SearchQuery) -> Option<SongSet> {
        let groups: [(&[String], &[Field]); 4] = [
            (&query.text, &[Field::Title, Field::Artist]),
            (&query.title, &[Field::Title]),
            (&query.artist, &[Field::Artist]),
            (&query.album, &[Field::Album]),
        ];
        let mut acc: Option<SongSet> = None;
        for (tokens, fields) in groups {
            for token in tokens {
                let set = self.matching(&Token::new(token, query.forgive_typos), fields);
                match acc.as_mut() {
                    Some(acc) => acc.intersect(&set),
                    None => acc = Some(set),
                }
                if acc.as_ref().is_some_and(SongSet::is_empty) {
                    return acc;
                }
            }
        }
        acc
    }

    /// Ranks the song at `pos` for `query`.
    /// `q` are the query's title-like tokens ([`SearchQuery::title_like`]).
    pub(crate) fn rank(&self, pos: u32, q: &[Token<'_>]) -> Rank {
        self.keys[pos as usize]
            .titles
            .iter()
            .map(|title| rank_title(title, q))
            .max()
            .unwrap_or(Rank {
                exact_title: false,
                title_hits: 0,
                coverage: 0,
            })
    }
}

/// A typo'd token counts as a hit but covers nothing, and a title with a typo is never exact:
/// the title typed right ranks first.
fn rank_title(title: &[(String, Spelled)], query: &[Token<'_>]) -> Rank {
    let exact_title =
        !title.is_empty() && title.iter().all(|(w, _)| query.iter().any(|t| t.text == w));
    let mut title_hits = 0;
    let mut covered = 0;
    for token in query {
        if title.iter().any(|(w, _)| w.contains(token.text)) {
            title_hits += 1;
            covered += token.text.chars().count();
        } else if title.iter().any(|(w, spelled)| token.hits(w, spelled)) {
            title_hits += 1;
        }
    }
    let title_len: usize = title.iter().map(|(w, _)| w.chars().count()).sum();
    let coverage = (covered.min(title_len) * 1000)
        .checked_div(title_len)
        .unwrap_or(0) as u32;
    Rank {
        exact_title,
        title_hits,
        coverage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn song_set_iterates_inserted_positions() {
        let mut s = SongSet::empty(200);
        for p in [0, 63, 64, 130, 199] {
            s.insert(p);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 63, 64, 130, 199]);
        let mut all = SongSet::full(200);
        all.intersect(&s);
        assert_eq!(all, s);
    }

    fn title(words: &[&str]) -> Vec<(String, Spelled)> {
        words
            .iter()
            .map(|w| (w.to_string(), Spelled::of(w)))
            .collect()
    }

    #[test]
    fn exact_title_outranks_partial() {
        let q = [Token::new("love", false)];
        let love = rank_title(&title(&["love"]), &q);
        let love_night = rank_title(&title(&["love", "night"]), &q);
        assert!(love > love_night);
    }

    #[test]
    fn one_edit_is_one_insertion_deletion_substitution_or_swap() {
        let one = |a: &str, b: &str| Spelled::of(a).one_edit_from(&Spelled::of(b));
        for (a, b) in [
            ("dynamite", "dynamte"),
            ("dynamite", "dynamitee"),
            ("dynamite", "dynamitz"),
            ("dynamite", "dyanmite"),
            ("dynamite", "ynamite"),
            ("dynamite", "dynamit"),
            // One jamo of a syllable: 날 (ㄴㅏㄹ) and 낟 (ㄴㅏㄷ).
            ("좋은날", "좋은낟"),
            // A final consonant added: 나 → 날.
            ("좋은나", "좋은날"),
        ] {
            assert!(one(a, b), "{a} / {b}");
            assert!(one(b, a), "{b} / {a}");
        }
        for (a, b) in [
            ("dynamite", "dynamite"),
            ("dynamite", "dnyamtie"),
            ("dynamite", "dynam"),
            ("dynamite", "xynamitz"),
            ("좋은날", "좋은밤"),
        ] {
            assert!(!one(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn a_forgiving_token_hits_a_word_one_typo_away_and_ranks_below_the_word_typed_right() {
        let strict = Token::new("dynamte", false);
        let forgiving = Token::new("dynamte", true);
        let word = Spelled::of("dynamite");
        assert!(!strict.hits("dynamite", &word));
        assert!(forgiving.hits("dynamite", &word));
        // Too short to tell a typo from another word.
        assert!(!Token::new("lve", true).hits("love", &Spelled::of("love")));
        let typo = rank_title(&title(&["dynamite"]), &[forgiving]);
        let typed = rank_title(&title(&["dynamite"]), &[Token::new("dynamite", true)]);
        assert!(typo.title_hits == 1 && !typo.exact_title);
        assert!(typed > typo);
    }
}
