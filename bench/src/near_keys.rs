//! How often one edit turns a song's name into another song's: the measurement behind the
//! shortest keys the catalog matches one typo away (`catalog_match::MIN_NEAR_*_LETTERS`).
//!
//! For every song of the sim's catalog (`Catalog::generate(42, --songs)`), its identity keys
//! (title and artist, spaces removed, both orders) and its title keys; then, by key length in
//! letters (`song_identity::key_letters`: Hangul counted in jamo), the share of keys that have another song's key exactly one edit away. A query
//! one typo from such a key could mean either song: the shorter the keys, the more often that
//! happens, and the catalog leaves those lengths to the provider.

use std::collections::{BTreeMap, HashMap, HashSet};

use muze_shared::domain::song_identity;
use muze_sim::config::{DEFAULT_SEED, DEFAULT_SONGS};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Songs of the sim's catalog to measure.
    #[arg(long, default_value_t = DEFAULT_SONGS)]
    songs: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let catalog = muze_sim::catalog::Catalog::generate(DEFAULT_SEED, args.songs);
    let mut identity: Vec<(String, u32)> = Vec::new();
    let mut titles: Vec<(String, u32)> = Vec::new();
    for song in catalog.songs() {
        let mut keys = song_identity::identity_keys(&song.title, &song.artists);
        if let Some(alias) = &song.title_alias {
            keys.extend(song_identity::identity_keys(alias, &song.artists));
        }
        identity.extend(keys.into_iter().map(|k| (k, song.id)));
        let mut keys = song_identity::title_keys(&song.title);
        if let Some(alias) = &song.title_alias {
            keys.extend(song_identity::title_keys(alias));
        }
        titles.extend(keys.into_iter().map(|k| (k, song.id)));
    }
    println!(
        "near keys: {} songs of the sim's catalog (seed 42); reproduce: target/release/muze-bench near-keys --songs {}",
        catalog.songs().len(),
        args.songs
    );
    for (label, keys) in [
        ("identity keys (title + artist)", &identity),
        ("title keys (title alone)", &titles),
    ] {
        let (wide, latin): (Vec<_>, Vec<_>) =
            keys.iter().cloned().partition(|(k, _)| has_wide_letters(k));
        report(&format!("{label}, Latin letters only"), &latin, keys);
        report(&format!("{label}, with Hangul or CJK"), &wide, keys);
    }
    Ok(())
}

/// Whether `key` holds a Hangul syllable or a CJK character: one of them carries about as
/// much as two or three Latin letters.
fn has_wide_letters(key: &str) -> bool {
    key.chars().any(|c| {
        matches!(c as u32, 0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F
            | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
    })
}

/// By length: `measured` keys, and those with another song's key (among `all`) one edit away.
fn report(label: &str, measured: &[(String, u32)], all: &[(String, u32)]) {
    // Songs per distinct key, and each key's one-deletion neighbourhood, indexed.
    let mut songs_of: HashMap<&str, HashSet<u32>> = HashMap::new();
    for (k, id) in all {
        songs_of.entry(k.as_str()).or_default().insert(*id);
    }
    let measured: HashSet<&str> = measured.iter().map(|(k, _)| k.as_str()).collect();
    let mut by_probe: HashMap<String, Vec<&str>> = HashMap::new();
    for k in songs_of.keys() {
        for p in song_identity::probe(k) {
            by_probe.entry(p).or_default().push(k);
        }
    }
    let mut rows: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for (k, ids) in songs_of.iter().filter(|(k, _)| measured.contains(*k)) {
        let mut near_other = false;
        for p in song_identity::probe(k) {
            for other in by_probe.get(&p).into_iter().flatten() {
                if other != k
                    && song_identity::one_edit_apart(k, other)
                    && songs_of[other].iter().any(|id| !ids.contains(id))
                {
                    near_other = true;
                }
            }
        }
        let row = rows
            .entry(song_identity::key_letters(k).min(16))
            .or_default();
        row.0 += 1;
        row.1 += u64::from(near_other);
    }
    println!();
    println!("{label}:");
    println!("  letters   keys  one edit from another song's");
    for (len, (n, near)) in rows {
        let chars = if len == 16 {
            "16+".to_string()
        } else {
            len.to_string()
        };
        println!(
            "  {chars:>7} {n:>6} {near:>6} ({:.1} %)",
            100.0 * near as f64 / n.max(1) as f64
        );
    }
}
