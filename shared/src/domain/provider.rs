//! The closed set of upstream music providers.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// An upstream music API. Adding one is adding a variant here (the compiler then asks for its
/// name and defaults below), its module in the worker with its registry line, and its sim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    Spotify,
    Youtube,
    Shazam,
    Deezer,
    Musicbrainz,
}

/// A provider name that is not one of ours.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown provider {0:?} (expected spotify, youtube, shazam, deezer or musicbrainz)")]
pub struct UnknownProvider(pub String);

impl ProviderName {
    /// Every provider, in the default fallback order.
    pub const ALL: [ProviderName; 5] = [
        ProviderName::Spotify,
        ProviderName::Youtube,
        ProviderName::Shazam,
        ProviderName::Deezer,
        ProviderName::Musicbrainz,
    ];

    /// The lowercase name used in JSON, config and Redis keys.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Spotify => "spotify",
            ProviderName::Youtube => "youtube",
            ProviderName::Shazam => "shazam",
            ProviderName::Deezer => "deezer",
            ProviderName::Musicbrainz => "musicbrainz",
        }
    }

    /// The provider's own configuration defaults (`providers.<name>.<key>`), over the ones
    /// every provider shares: its real API root, its published (or measured) limit, its page
    /// size, and what else it needs.
    pub fn defaults(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ProviderName::Spotify => &[
                ("base_url", "https://api.spotify.com/v1"),
                ("token_url", "https://accounts.spotify.com/api/token"),
                // Spotify publishes no number; ~300-400 per rolling 30 s was measured. Stay
                // under the low end, and adapt to its 429s below that ceiling.
                ("rate_limit", "250/30s"),
                ("adaptive", "true"),
                ("timeout_ms", "5000"),
                // Spotify's search maximum since Feb 2026.
                ("page_size", "10"),
            ],
            ProviderName::Youtube => &[
                ("base_url", "https://www.googleapis.com/youtube/v3"),
                // search.list has its own bucket of 100 calls a day, reset at Pacific midnight.
                ("rate_limit", "100/1d"),
                ("daily_quota", "100"),
                ("quota_timezone", "America/Los_Angeles"),
                ("timeout_ms", "5000"),
                ("page_size", "10"),
            ],
            ProviderName::Shazam => &[
                ("base_url", "https://shazam.p.rapidapi.com"),
                // The Basic RapidAPI plan: 60 a minute.
                ("rate_limit", "60/1m"),
                ("timeout_ms", "5000"),
                ("page_size", "10"),
            ],
            ProviderName::Deezer => &[
                ("base_url", "https://api.deezer.com"),
                // Deezer allows 50 per 5 s per IP; leave room for other clients on the address.
                ("rate_limit", "45/5s"),
                ("timeout_ms", "5000"),
                ("page_size", "10"),
            ],
            ProviderName::Musicbrainz => &[
                ("base_url", "https://musicbrainz.org/ws/2"),
                // One request a second per IP, on average.
                ("rate_limit", "1/1s"),
                ("timeout_ms", "5000"),
                ("page_size", "10"),
            ],
        }
    }

    /// The upper-case name used in `MUZE__PROVIDERS__<P>__*` variables.
    pub fn env_name(self) -> &'static str {
        match self {
            ProviderName::Spotify => "SPOTIFY",
            ProviderName::Youtube => "YOUTUBE",
            ProviderName::Shazam => "SHAZAM",
            ProviderName::Deezer => "DEEZER",
            ProviderName::Musicbrainz => "MUSICBRAINZ",
        }
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderName {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        ProviderName::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProvider(s.to_string()))
    }
}

impl<'de> Deserialize<'de> for ProviderName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!(
            "Spotify".parse::<ProviderName>().ok(),
            Some(ProviderName::Spotify)
        );
        assert_eq!(
            " musicbrainz ".parse::<ProviderName>().ok(),
            Some(ProviderName::Musicbrainz)
        );
        assert!("napster".parse::<ProviderName>().is_err());
    }

    #[test]
    fn round_trips_through_json() {
        let json = serde_json::to_string(&ProviderName::Youtube).expect("serialize");
        assert_eq!(json, "\"youtube\"");
        let back: ProviderName = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, ProviderName::Youtube);
    }
}
