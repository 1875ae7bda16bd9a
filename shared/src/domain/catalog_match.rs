//! Which catalog tracks a query names, decided from the keys of the tracks the index found
//! (see [`song_identity`]); pure, so every rule is unit-tested without a database.
//!
//! In order, the first rule that finds anything decides:
//! 1. **Named**: the query is a title and artist of the track, in any order or spacing (an
//!    identity key).
//! 2. **Title**: the query is a whole title of the track and nothing else (a title key), and
//!    the catalog's own record says which song that title means: every track of that title
//!    we hold is offered, most searched first, and at least one of them has been in
//!    [`MIN_TITLE_DEMAND`] answers.
//! 3. **Near named** / 4. **Near title**: the same, one edit away (a typo, counted in letters
//!    and Hangul jamo, [`song_identity::spelled`]), for keys long enough
//!    ([`MIN_NEAR_IDENTITY_LETTERS`], [`MIN_NEAR_TITLE_LETTERS`]) and only when exactly one key
//!    is that near: two different songs one edit from the query mean the typo could be either,
//!    and the search goes upstream.
//!
//! Anything else — a partial title, an extra word, two edits — goes upstream, because a wrong
//! answer from the catalog is worse than an upstream call.

use super::song_identity;

/// Identity keys spelled with this many letters or more ([`song_identity::key_letters`]) are
/// matched one edit away (see `docs/DESIGN-NOTES.md`, "Typos").
pub const MIN_NEAR_IDENTITY_LETTERS: usize = 8;
/// The same for a title alone, which carries less evidence than a title with its artist.
pub const MIN_NEAR_TITLE_LETTERS: usize = 8;

/// How many earlier answers must have included a track before a query naming its title alone
/// is answered with it: the evidence that this title means the songs we hold, not another
/// song of the same name we have never seen (see `docs/DESIGN-NOTES.md`, "Title-only").
pub const MIN_TITLE_DEMAND: i64 = 2;

/// A track the index found for a query, with what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub identity_keys: Vec<String>,
    pub title_keys: Vec<String>,
    /// Earlier answers that included this track (capped: only "enough" matters).
    pub demand: i64,
}

/// How a query named the tracks chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Named,
    Title,
    NearNamed,
    NearTitle,
}

impl MatchKind {
    /// The `kind` of catalog answer in metrics and logs (`confident` is the name a query
    /// naming title and artist has always had there).
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Named => "confident",
            MatchKind::Title => "title",
            MatchKind::NearNamed => "typo",
            MatchKind::NearTitle => "title_typo",
        }
    }
}

/// The candidates (by index) `query_key` names and how, best first; `None` when the catalog
/// cannot answer with confidence.
pub fn choose(query_key: &str, candidates: &[Candidate]) -> Option<(MatchKind, Vec<usize>)> {
    if query_key.is_empty() {
        return None;
    }
    let exact = |keys: fn(&Candidate) -> &[String]| -> Vec<usize> {
        indices(candidates, |c| keys(c).iter().any(|k| k == query_key))
    };
    let named = exact(|c| &c.identity_keys);
    if !named.is_empty() {
        return Some((MatchKind::Named, named));
    }
    if let Some(chosen) = by_title(candidates, exact(|c| &c.title_keys)) {
        return Some((MatchKind::Title, chosen));
    }
    if let Some(near) = near(
        query_key,
        candidates,
        |c| &c.identity_keys,
        MIN_NEAR_IDENTITY_LETTERS,
    ) {
        return Some((MatchKind::NearNamed, near));
    }
    let near_titles = near(
        query_key,
        candidates,
        |c| &c.title_keys,
        MIN_NEAR_TITLE_LETTERS,
    )?;
    by_title(candidates, near_titles).map(|chosen| (MatchKind::NearTitle, chosen))
}

fn indices(candidates: &[Candidate], keep: impl Fn(&Candidate) -> bool) -> Vec<usize> {
    (0..candidates.len())
        .filter(|&i| keep(&candidates[i]))
        .collect()
}

/// Tracks of one title, most searched first, if the title's demand is evidence enough.
fn by_title(candidates: &[Candidate], mut chosen: Vec<usize>) -> Option<Vec<usize>> {
    if !chosen
        .iter()
        .any(|&i| candidates[i].demand >= MIN_TITLE_DEMAND)
    {
        return None;
    }
    // Stable: equal demand keeps the index's order.
    chosen.sort_by_key(|&i| std::cmp::Reverse(candidates[i].demand));
    Some(chosen)
}

/// The candidates holding the one key (of at least `min_letters`) that is one edit from
/// `query_key`; `None` when no key or more than one key is.
fn near(
    query_key: &str,
    candidates: &[Candidate],
    keys: fn(&Candidate) -> &[String],
    min_letters: usize,
) -> Option<Vec<usize>> {
    let mut the_key: Option<&str> = None;
    let mut chosen = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let mut hit = false;
        for k in keys(c) {
            if song_identity::key_letters(k) < min_letters
                || !song_identity::one_edit_apart(k, query_key)
            {
                continue;
            }
            match the_key {
                Some(other) if other != k => return None,
                _ => the_key = Some(k),
            }
            hit = true;
        }
        if hit {
            chosen.push(i);
        }
    }
    (!chosen.is_empty()).then_some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{normalize_text, song_identity::query_identity};

    fn track(title: &str, artist: &str, demand: i64) -> Candidate {
        let artists = vec![artist.to_string()];
        Candidate {
            identity_keys: song_identity::identity_keys(title, &artists),
            title_keys: song_identity::title_keys(title),
            demand,
        }
    }

    fn key(query: &str) -> String {
        query_identity(&normalize_text(query))
    }

    #[test]
    fn a_title_and_artist_are_named_in_any_order_and_spacing() {
        let tracks = [track("좋은 날", "IU", 0), track("밤편지", "IU", 5)];
        for q in ["IU 좋은 날", "좋은날 IU", "iu - 좋은날"] {
            assert_eq!(
                choose(&key(q), &tracks),
                Some((MatchKind::Named, vec![0])),
                "{q}"
            );
        }
    }

    #[test]
    fn a_title_alone_needs_demand_and_offers_every_track_of_it_most_searched_first() {
        let tracks = [
            track("Blinding Lights", "Someone Else", 1),
            track("Blinding Lights", "The Weeknd", 7),
            track("Save Your Tears", "The Weeknd", 9),
        ];
        assert_eq!(
            choose(&key("blinding lights"), &tracks),
            Some((MatchKind::Title, vec![1, 0]))
        );
        assert_eq!(
            choose(&key("BlindingLights"), &tracks),
            Some((MatchKind::Title, vec![1, 0]))
        );
        // Known to the catalog but never asked for: no evidence which song the title means.
        let unasked = [track("Blinding Lights", "The Weeknd", 1)];
        assert_eq!(choose(&key("blinding lights"), &unasked), None);
    }

    #[test]
    fn one_typo_in_a_long_key_is_forgiven() {
        let tracks = [track("Blinding Lights", "The Weeknd", 0)];
        for q in [
            "Blindng Lights The Weeknd",
            "The Weeknd Blinding Lihgts",
            "Blinding Lights The Weekend",
        ] {
            assert_eq!(
                choose(&key(q), &tracks),
                Some((MatchKind::NearNamed, vec![0])),
                "{q}"
            );
        }
        let asked = [track("Blinding Lights", "The Weeknd", 3)];
        assert_eq!(
            choose(&key("Blindin Lights"), &asked),
            Some((MatchKind::NearTitle, vec![0]))
        );
    }

    #[test]
    fn two_edits_a_short_key_or_two_near_songs_go_upstream() {
        let tracks = [track("Blinding Lights", "The Weeknd", 3)];
        assert_eq!(choose(&key("Blindng Lihgts The Weeknd"), &tracks), None);
        // "밤 IU" is 5 letters (ㅂㅏㅁ i u): one edit away is another real song too often.
        let short = [track("밤", "IU", 9)];
        assert_eq!(choose(&key("반 IU"), &short), None);
        // One jamo off in a long enough key is a typo; a whole other syllable is not.
        let hana = [track("눈물", "HANA", 0)];
        assert_eq!(
            choose(&key("HANA 눈뭍"), &hana),
            Some((MatchKind::NearNamed, vec![0]))
        );
        assert_eq!(choose(&key("HANA 선물"), &hana), None);
        // One edit from two different songs: the typo could be either.
        let two = [
            track("Hold Me Tight", "Some Band", 0),
            track("Hold Me Tighter", "Some Band", 0),
        ];
        assert_eq!(choose(&key("Hold Me Tighte Some Band"), &two), None);
    }

    #[test]
    fn every_track_holding_the_one_near_key_is_offered() {
        // A live version shares the song's name: both are what the typo means.
        let tracks = [
            track("Blinding Lights", "The Weeknd", 0),
            track("Blinding Lights (Live)", "The Weeknd", 0),
        ];
        assert_eq!(
            choose(&key("Blindng Lights The Weeknd"), &tracks),
            Some((MatchKind::NearNamed, vec![0, 1]))
        );
    }
}
