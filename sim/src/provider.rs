//! The providers the simulator stands in for (listed in [`crate::providers`]), and where each
//! one lives under the simulator's single port.
//!
//! Every piece of per-provider state (limits, faults, latency, arrival delay, stats) is keyed
//! by [`Provider`] (settings through a [`ProviderMap`]); the HTTP stand-ins themselves live in
//! [`crate::providers`].

use std::fmt;
use std::ops::{Index, IndexMut};
use std::str::FromStr;

use crate::config::ProviderLimitConfig;

pub use crate::providers::Provider;

/// What a sim module declares of the provider it stands in for (its `SIM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimProvider {
    /// The lowercase name used in URLs, JSON and stats.
    pub name: &'static str,
    /// The path a client's `BASE_URL` should end with: the provider's prefix (`/<name>`), then
    /// the real API's own root path.
    pub base_path: &'static str,
    /// Its real kind of limit, the default of [`crate::SimConfig`].
    pub limits: ProviderLimitConfig,
}

impl Provider {
    /// The lowercase name used in URLs, JSON and stats (`"spotify"`).
    pub const fn as_str(self) -> &'static str {
        self.sim().name
    }

    /// The path prefix every route of this provider lives under (`"/spotify"`).
    pub fn prefix(self) -> String {
        format!("/{}", self.as_str())
    }

    /// The path a client's `BASE_URL` should end with, so that appending the real API's own
    /// paths (`/search`, `/recording`, ...) reaches the simulator: e.g. `"/spotify/v1"`.
    pub const fn base_path(self) -> &'static str {
        self.sim().base_path
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
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProviderMap<T>([T; Provider::ALL.len()]);

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

impl<T: Default> Default for ProviderMap<T> {
    fn default() -> Self {
        ProviderMap::from_fn(|_| T::default())
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

/// A provider name that is not one of the simulator's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider '{0}' (expected {expected})", expected = expected())]
pub struct UnknownProvider(pub String);

/// `spotify, youtube, ... or musicbrainz`.
fn expected() -> String {
    let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

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
        for p in Provider::ALL {
            let expected = match p {
                Provider::Spotify => 1,
                Provider::Deezer => 5,
                _ => 0,
            };
            assert_eq!(map[p], expected, "{p}");
        }
        let debug = format!("{map:?}");
        assert!(
            debug.starts_with(r#"{"spotify": 1, "youtube": 0, "shazam": 0, "deezer": 5, "#),
            "keyed by name, in the list's order: {debug}"
        );
    }
}
