//! Catalog search: plain text ([`Catalog::search`]), field-filtered song search
//! ([`Catalog::search_page`]) and album search ([`Catalog::search_albums`]), with ranking:
//! exact title first, then more of the title matched, then by id.

use std::cmp::Reverse;

use super::index::{SongSet, Token};
use super::model::{Album, Song};
use super::query::SearchQuery;
use super::store::Catalog;

/// One page of song search results.
#[derive(Debug, Clone)]
pub struct SongPage<'a> {
    /// Matching songs in total.
    pub total: usize,
    /// The requested page, best match first.
    pub items: Vec<&'a Song>,
}

/// One page of album search results.
#[derive(Debug, Clone)]
pub struct AlbumPage<'a> {
    /// Matching albums in total.
    pub total: usize,
    /// The requested page.
    pub items: Vec<&'a Album>,
}

impl Catalog {
    /// Plain-text search: case-insensitive and NFKC-normalized; a song matches when every
    /// token of `query` occurs in its title or artists (or their alternative names). Best
    /// first: exact title, then more of the title matched, then by id.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Song> {
        self.search_page(&SearchQuery::text(query), 0, limit).items
    }

    /// Search with field filters (see [`SearchQuery::parse`]), one page of it.
    pub fn search_page(&self, query: &SearchQuery, offset: usize, limit: usize) -> SongPage<'_> {
        if query.is_empty() {
            return SongPage {
                total: 0,
                items: Vec::new(),
            };
        }
        let mut set = match self.index.candidates(query) {
            Some(set) => set,
            None => SongSet::full(self.songs.len()),
        };
        if let Some(isrc) = &query.isrc {
            let mut only = SongSet::empty(self.songs.len());
            if let Some(&id) = self.by_isrc.get(isrc) {
                only.insert(id - 1);
            }
            set.intersect(&only);
        }
        let q: Vec<Token<'_>> = query
            .title_like()
            .map(|t| Token::new(t, query.forgive_typos))
            .collect();
        // Rank keys: best rank first, then lowest id (a `Reverse` on the id keeps one
        // ascending comparison).
        let mut ranked: Vec<(super::index::Rank, Reverse<u32>)> = set
            .iter()
            .filter(|&pos| {
                let s = &self.songs[pos as usize];
                (!query.new_only || s.is_new)
                    && query
                        .years
                        .is_none_or(|(lo, hi)| (lo..=hi).contains(&s.year()))
            })
            .map(|pos| (self.index.rank(pos, &q), Reverse(pos)))
            .collect();
        let total = ranked.len();
        let wanted = offset.saturating_add(limit).min(total);
        if wanted == 0 {
            return SongPage {
                total,
                items: Vec::new(),
            };
        }
        // Only the first `offset + limit` need ordering.
        if wanted < total {
            ranked.select_nth_unstable_by(wanted - 1, |a, b| b.cmp(a));
            ranked.truncate(wanted);
        }
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        SongPage {
            total,
            items: ranked[offset.min(wanted)..]
                .iter()
                .map(|(_, Reverse(pos))| &self.songs[*pos as usize])
                .collect(),
        }
    }

    /// Album search: tokens of free text must occur in the album name or artists, `album:`
    /// tokens in the name, `artist:` tokens in the artists; `tag:new` keeps new releases
    /// (newest first). Otherwise exact names first, then by id.
    pub fn search_albums(&self, query: &SearchQuery, offset: usize, limit: usize) -> AlbumPage<'_> {
        if query.is_empty() {
            return AlbumPage {
                total: 0,
                items: Vec::new(),
            };
        }
        let contains =
            |words: &[String], token: &String| words.iter().any(|w| w.contains(token.as_str()));
        let mut matches: Vec<(bool, &Album)> = self
            .albums
            .iter()
            .zip(&self.album_text)
            .filter(|(a, _)| !query.new_only || a.is_new)
            .filter(|(a, _)| {
                query.years.is_none_or(|(lo, hi)| {
                    a.release_date
                        .get(..4)
                        .and_then(|y| y.parse::<u16>().ok())
                        .is_some_and(|y| (lo..=hi).contains(&y))
                })
            })
            .filter(|(_, (name, artists))| {
                query
                    .text
                    .iter()
                    .all(|t| contains(name, t) || contains(artists, t))
                    && query
                        .album
                        .iter()
                        .chain(&query.title)
                        .all(|t| contains(name, t))
                    && query.artist.iter().all(|t| contains(artists, t))
            })
            .filter(|(a, _)| {
                query.isrc.as_ref().is_none_or(|isrc| {
                    self.by_isrc
                        .get(isrc)
                        .is_some_and(|id| a.track_ids.contains(id))
                })
            })
            .map(|(a, (name, _))| {
                let exact = !name.is_empty()
                    && name
                        .iter()
                        .all(|w| query.text.contains(w) || query.album.contains(w));
                (exact, a)
            })
            .collect();
        if query.new_only {
            matches.sort_by(|(_, a), (_, b)| {
                b.release_date.cmp(&a.release_date).then(b.id.cmp(&a.id))
            });
        } else {
            matches.sort_by(|(ea, a), (eb, b)| eb.cmp(ea).then(a.id.cmp(&b.id)));
        }
        AlbumPage {
            total: matches.len(),
            items: matches
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|(_, a)| a)
                .collect(),
        }
    }
}
