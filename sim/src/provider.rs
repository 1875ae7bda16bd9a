//! The five providers the simulator stands in for, and where each one lives under the
//! simulator's single port.
//!
//! Every piece of per-provider state (limits, faults, latency, arrival delay, stats) is keyed
//! by [`Provider`] (settings through a [`ProviderMap`]); the HTTP stand-ins themselves live in
//! [`crate::providers`].

use std::fmt;
use std::ops::{Index, IndexMut};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the simulated upstream music APIs. Serialized in lowercase (`"spotify"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Spotify Web API (client-credentials token, search, albums, tracks).
    Spotify,
    /// YouTube Data API v3 (`search.list`).
    Youtube,
    /// Shazam through RapidAPI (apidojo `search`).
    Shazam,
    /// Deezer public API (search, track, album, editorial releases).
    Deezer,
    /// MusicBrainz web service v2 (recording search and lookups).
    Musicbrainz,
}

impl Provider {
    /// Every provider, in a fixed order (also the order of `/_stats`).
    pub const ALL: [Provider; 5] = [
        Provider::Spotify,
        Provider::Youtube,
        Provider::Shazam,
        Provider::Deezer,
        Provider::Musicbrainz,
    ];

    /// The lowercase name used in URLs, JSON and stats (`"spotify"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Spotify => "spotify",
            Provider::Youtube => "youtube",
            Provider::Shazam => "shazam",
            Provider::Deezer => "deezer",
            Provider::Musicbrainz => "musicbrainz",
        }
    }

    /// The path prefix every route of this provider lives under (`"/spotify"`).
    pub const fn prefix(self) -> &'static str {
        match self {
            Provider::Spotify => "/spotify",
            Provider::Youtube => "/youtube",
            Provider::Shazam => "/shazam",
            Provider::Deezer => "/deezer",
            Provider::Musicbrainz => "/musicbrainz",
        }
    }

    /// The path a client's `BASE_URL` should end with, so that appending the real API's own
    /// paths (`/search`, `/recording`, ...) reaches the simulator: e.g. `"/spotify/v1"`.
    pub const fn base_path(self) -> &'static str {
        match self {
            Provider::Spotify => "/spotify/v1",
            Provider::Youtube => "/youtube/youtube/v3",
            Provider::Shazam => "/shazam",
            Provider::Deezer => "/deezer",
            Provider::Musicbrainz => "/musicbrainz/ws/2",
        }
    }

    /// Position of the provider in [`Provider::ALL`], used to index per-provider state.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per provider, looked up by [`Provider`] (`map[Provider::Deezer]`): per-provider
/// settings without a named field for each provider.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderMap<T>([T; 5]);

impl<T> ProviderMap<T> {
    /// The map holding `f(provider)` for every provider.
    pub fn from_fn(f: impl FnMut(Provider) -> T) -> Self {
        ProviderMap(Provider::ALL.map(f))
    }

    /// The value of `provider`.
    pub fn get(&self, provider: Provider) -> &T {
        &self.0[provider.index()]
    }

    /// The value of `provider`, to change it.
    pub fn get_mut(&mut self, provider: Provider) -> &mut T {
        &mut self.0[provider.index()]
    }
}

impl<T: Clone> ProviderMap<T> {
    /// The same `value` for every provider.
    pub fn filled(value: T) -> Self {
        ProviderMap::from_fn(|_| value.clone())
    }
}

impl<T> Index<Provider> for ProviderMap<T> {
    type Output = T;

    fn index(&self, provider: Provider) -> &T {
        self.get(provider)
    }
}

impl<T> IndexMut<Provider> for ProviderMap<T> {
    fn index_mut(&mut self, provider: Provider) -> &mut T {
        self.get_mut(provider)
    }
}

impl<T: fmt::Debug> fmt::Debug for ProviderMap<T> {
    /// Keyed by provider name, like a map.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(Provider::ALL.iter().map(|p| (p.as_str(), self.get(*p))))
            .finish()
    }
}

/// A provider name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider '{0}' (expected spotify, youtube, shazam, deezer or musicbrainz)")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_and_serde() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert!("itunes".parse::<Provider>().is_err());
    }

    #[test]
    fn a_provider_map_keeps_one_value_per_provider() {
        let mut map = ProviderMap::filled(0);
        map[Provider::Deezer] = 5;
        *map.get_mut(Provider::Spotify) += 1;
        assert_eq!(
            Provider::ALL.map(|p| map[p]),
            [1, 0, 0, 5, 0],
            "spotify, youtube, shazam, deezer, musicbrainz"
        );
        assert_eq!(
            format!("{map:?}"),
            r#"{"spotify": 1, "youtube": 0, "shazam": 0, "deezer": 5, "musicbrainz": 0}"#
        );
    }
}
