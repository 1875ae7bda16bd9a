//! The closed set of upstream music providers.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// An upstream music API. Adding one is adding a variant, a client file and a config section.
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
