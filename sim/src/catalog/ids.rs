//! Provider identifiers in each provider's real format: 22-character base62 Spotify ids,
//! 11-character YouTube video ids, numeric Shazam keys and Deezer ids, MusicBrainz UUIDs and
//! 12-character ISRCs.
//!
//! Song and album ids are drawn from the catalog's seeded RNG; artist ids are derived from a
//! stable hash of the artist's name so they are the same whichever song mentions the artist.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const YOUTUBE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ISRC_REGISTRANT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn draw(rng: &mut impl Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A Spotify id: 22 base62 characters.
pub(crate) fn spotify_id(rng: &mut impl Rng) -> String {
    draw(rng, BASE62, 22)
}

/// A YouTube video id: 11 characters of the URL-safe base64 alphabet.
pub(crate) fn youtube_id(rng: &mut impl Rng) -> String {
    draw(rng, YOUTUBE_ALPHABET, 11)
}

/// A YouTube channel id: `UC` + 22 characters.
pub(crate) fn youtube_channel_id(rng: &mut impl Rng) -> String {
    format!("UC{}", draw(rng, YOUTUBE_ALPHABET, 22))
}

/// A MusicBrainz id: a random (v4) UUID.
pub(crate) fn musicbrainz_id(rng: &mut impl Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// An ISRC `CC-XXX-YY-NNNNN` without separators: country, registrant, two-digit year and a
/// five-digit designation code (12 characters).
pub(crate) fn isrc(rng: &mut impl Rng, country: &str, year: u16) -> String {
    format!(
        "{country}{}{:02}{:05}",
        draw(rng, ISRC_REGISTRANT, 3),
        year % 100,
        rng.random_range(0..100_000u32)
    )
}

/// Whether `s` is a well-formed ISRC (12 chars: 2 letters, 3 alphanumerics, 7 digits).
pub fn is_isrc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..5]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// Whether `s` looks like a Spotify id (22 base62 characters).
pub fn is_spotify_id(s: &str) -> bool {
    s.len() == 22 && s.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// FNV-1a over the parts (separated), finished with a splitmix64 mix: stable across runs,
/// platforms and Rust versions (unlike `std`'s `DefaultHasher`).
pub(crate) fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    splitmix(h)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic RNG for everything derived from one name (an artist's ids).
pub(crate) fn rng_for(parts: &[&str]) -> StdRng {
    StdRng::seed_from_u64(stable_hash(parts))
}

/// A 32-hex-digit image hash (Deezer `md5_image`, cover paths) derived from `parts`.
pub(crate) fn image_hash(parts: &[&str]) -> String {
    let a = stable_hash(parts);
    let b = splitmix(a ^ 0x5555_5555_5555_5555);
    format!("{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_providers_formats() {
        let mut rng = StdRng::seed_from_u64(1);
        assert!(is_spotify_id(&spotify_id(&mut rng)));
        assert_eq!(youtube_id(&mut rng).len(), 11);
        assert!(uuid::Uuid::parse_str(&musicbrainz_id(&mut rng)).is_ok());
        let code = isrc(&mut rng, "KR", 2010);
        assert!(is_isrc(&code), "{code}");
        assert_eq!(&code[5..7], "10");
        assert!(is_isrc("GBDUW0000053"));
        assert!(!is_isrc("GB-DUW-00-00053"));
    }

    #[test]
    fn stable_hash_is_stable() {
        assert_eq!(stable_hash(&["IU"]), stable_hash(&["IU"]));
        assert_ne!(
            stable_hash(&["IU", "spotify"]),
            stable_hash(&["IU", "deezer"])
        );
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
    }
}
