//! The catalog's search index: per field (title, artists, album), an inverted index from
//! normalized word to the songs containing it.
//!
//! A query token matches a song when it is a substring of one of the song's words in that
//! field (tokens never contain separators, so this is the same as being a substring of the
//! field's text). Matching scans the vocabulary — a few hundred distinct words — instead of
//! every song, and combines posting lists as bitsets, so a search costs microseconds however
//! large the catalog is.

use std::collections::HashMap;

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

/// Inverted index of one field.
#[derive(Debug, Clone, Default)]
struct FieldIndex {
    words: Vec<String>,
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

    /// Adds to `set` every song with a word containing `token`.
    fn collect(&self, token: &str, set: &mut SongSet) {
        for (word, list) in self.words.iter().zip(&self.postings) {
            if word.contains(token) {
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
    /// Token lists of the title and of its alternative title, if any.
    titles: Vec<Vec<String>>,
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
        for artist in &text.artists {
            self.artist.add(pos, &tokenize(artist));
        }
        self.album.add(pos, &tokenize(text.album));
        self.keys.push(SongKey { titles });
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    fn matching(&self, token: &str, fields: &[Field]) -> SongSet {
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
                let set = self.matching(token, fields);
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
    pub(crate) fn rank(&self, pos: u32, q: &[&String]) -> Rank {
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

fn rank_title(title: &[String], query: &[&String]) -> Rank {
    let exact_title = !title.is_empty() && title.iter().all(|w| query.contains(&w));
    let mut title_hits = 0;
    let mut covered = 0;
    for token in query {
        if title.iter().any(|w| w.contains(token.as_str())) {
            title_hits += 1;
            covered += token.chars().count();
        }
    }
    let title_len: usize = title.iter().map(|w| w.chars().count()).sum();
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

    #[test]
    fn exact_title_outranks_partial() {
        let q: Vec<String> = vec!["love".into()];
        let q: Vec<&String> = q.iter().collect();
        let love = rank_title(&["love".into()], &q);
        let love_night = rank_title(&["love".into(), "night".into()], &q);
        assert!(love > love_night);
    }
}
