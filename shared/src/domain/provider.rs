//! The upstream music providers, as the one provider list names them.
//!
//! The list is `worker/src/providers/list.rs`, a line per provider, and each provider's spec
//! (name, environment name, credential, defaults) is the `spec.rs` of its worker module. This
//! crate compiles both, so every binary (API, scheduler, worker) knows the providers, their
//! settings and their limits from the same lines the worker builds its clients from; nothing
//! here names a provider.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What a provider needs to be called at all, beyond its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// Nothing: a public API (Deezer, MusicBrainz).
    None,
    /// One key, `providers.<name>.api_key` (YouTube, RapidAPI).
    ApiKey,
    /// An OAuth client, `providers.<name>.client_id` and `client_secret` (Spotify).
    ClientCredentials,
}

/// A provider as its module declares it.
#[derive(Debug, Clone, Copy)]
pub struct ProviderSpec {
    /// The lowercase name used in JSON, config and Redis keys.
    pub name: &'static str,
    /// The upper-case name used in `MUZE__PROVIDERS__<P>__*` variables.
    pub env_name: &'static str,
    /// What it needs to be called.
    pub credential: Credential,
    /// Its own configuration defaults (`providers.<name>.<key>`), over the ones every
    /// provider shares: its real API root (every `*_url`), its published (or measured) limit,
    /// its page size, and what else it needs.
    pub defaults: &'static [(&'static str, &'static str)],
}

/// Expands the provider list (`worker/src/providers/list.rs`) into [`ProviderName`] and the
/// specs; the list's client builders are the worker's business and are dropped here.
macro_rules! providers {
    ($($module:ident : $variant:ident $(, pages: $pages:ident)? => $build:expr),* $(,)?) => {
        /// The providers' specs, compiled from their modules' `spec.rs` (each worker module
        /// re-exports its own as `spec`).
        pub mod specs {
            $(
                pub mod $module {
                    include!(concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/../worker/src/providers/",
                        stringify!($module),
                        "/spec.rs"
                    ));
                }
            )*
        }

        /// An upstream music API, one variant per line of the provider list.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum ProviderName {
            $(
                #[doc = concat!("`", stringify!($module), "`")]
                $variant,
            )*
        }

        impl ProviderName {
            /// Every provider, in the default fallback order (the list's).
            pub const ALL: [ProviderName; [$(stringify!($variant)),*].len()] =
                [$(ProviderName::$variant),*];

            /// What the provider's module declares of it.
            pub fn spec(self) -> &'static ProviderSpec {
                match self {
                    $(ProviderName::$variant => &specs::$module::SPEC,)*
                }
            }
        }
    };
}

include!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../worker/src/providers/list.rs"
));

/// A provider name that is not one of ours.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown provider {0:?} (expected {expected})", expected = expected())]
pub struct UnknownProvider(pub String);

/// `spotify, youtube, ... or musicbrainz`.
fn expected() -> String {
    let names: Vec<&str> = ProviderName::ALL.iter().map(|p| p.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl ProviderName {
    /// The lowercase name used in JSON, config and Redis keys.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The provider's own configuration defaults (see [`ProviderSpec::defaults`]).
    pub fn defaults(self) -> &'static [(&'static str, &'static str)] {
        self.spec().defaults
    }

    /// The upper-case name used in `MUZE__PROVIDERS__<P>__*` variables.
    pub fn env_name(self) -> &'static str {
        self.spec().env_name
    }

    /// What the provider needs to be called.
    pub fn credential(self) -> Credential {
        self.spec().credential
    }

    /// The `MUZE__PROVIDERS__<P>__*` variables that point this provider at a `muze-sim` at
    /// `sim_url`, with `rate_limit` as its limit (tests and benchmarks measure the system, not
    /// the provider's allowance). The sim serves each provider under `/<name>`, followed by
    /// the real API's own path, so every `*_url` default moves there
    /// (`https://api.spotify.com/v1` → `<sim>/spotify/v1`), and it accepts its default
    /// credentials (any key; its own OAuth client).
    pub fn sim_env(self, sim_url: &str, rate_limit: &str) -> Vec<(String, String)> {
        let sim_url = sim_url.trim_end_matches('/');
        let var = |key: &str| {
            format!(
                "MUZE__PROVIDERS__{}__{}",
                self.env_name(),
                key.to_ascii_uppercase()
            )
        };
        let mut env: Vec<(String, String)> = self
            .defaults()
            .iter()
            .filter(|(key, _)| key.ends_with("_url"))
            .filter_map(|(key, real)| {
                let path = url::Url::parse(real)
                    .ok()?
                    .path()
                    .trim_end_matches('/')
                    .to_string();
                Some((var(key), format!("{sim_url}/{}{path}", self.as_str())))
            })
            .collect();
        let credentials: &[(&str, &str)] = match self.credential() {
            Credential::None => &[],
            Credential::ApiKey => &[("api_key", "muze-sim-key")],
            Credential::ClientCredentials => &[
                ("client_id", "muze-sim-client"),
                ("client_secret", "muze-sim-secret"),
            ],
        };
        env.extend(credentials.iter().map(|(k, v)| (var(k), v.to_string())));
        env.push((var("rate_limit"), rate_limit.to_string()));
        if self.defaults().iter().any(|(key, _)| *key == "daily_quota") {
            // A quota at least as large as the limit: a day of calls at that rate would do.
            let calls = rate_limit.split('/').next().unwrap_or(rate_limit);
            env.push((var("daily_quota"), calls.to_string()));
        }
        env
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
    fn every_spec_is_named_as_its_module_and_upper_cased_for_the_environment() {
        for p in ProviderName::ALL {
            let json = serde_json::to_string(&p).expect("serialize");
            assert_eq!(
                json,
                format!("\"{}\"", p.as_str()),
                "serde and the spec agree"
            );
            assert_eq!(p.env_name(), p.as_str().to_ascii_uppercase());
            assert_eq!(format!("{p:?}").to_lowercase(), p.as_str());
            assert!(p.defaults().iter().any(|(k, _)| *k == "base_url"), "{p}");
        }
        let unknown = "napster".parse::<ProviderName>().unwrap_err().to_string();
        assert!(
            unknown.contains("(expected spotify, youtube, "),
            "{unknown}"
        );
        for p in ProviderName::ALL {
            assert!(unknown.contains(p.as_str()), "{unknown} names {p}");
        }
    }

    #[test]
    fn the_sim_serves_each_provider_under_its_name_and_the_real_path() {
        let env: std::collections::BTreeMap<String, String> = ProviderName::ALL
            .into_iter()
            .flat_map(|p| p.sim_env("http://127.0.0.1:9/", "100000/30s"))
            .collect();
        let url = |p: &str, k: &str| env[&format!("MUZE__PROVIDERS__{p}__{k}")].as_str();
        assert_eq!(url("SPOTIFY", "BASE_URL"), "http://127.0.0.1:9/spotify/v1");
        assert_eq!(
            url("SPOTIFY", "TOKEN_URL"),
            "http://127.0.0.1:9/spotify/api/token"
        );
        assert_eq!(
            url("YOUTUBE", "BASE_URL"),
            "http://127.0.0.1:9/youtube/youtube/v3"
        );
        assert_eq!(url("SHAZAM", "BASE_URL"), "http://127.0.0.1:9/shazam");
        assert_eq!(url("DEEZER", "BASE_URL"), "http://127.0.0.1:9/deezer");
        assert_eq!(
            url("MUSICBRAINZ", "BASE_URL"),
            "http://127.0.0.1:9/musicbrainz/ws/2"
        );
        assert_eq!(url("YOUTUBE", "API_KEY"), "muze-sim-key");
        assert_eq!(url("SPOTIFY", "CLIENT_SECRET"), "muze-sim-secret");
        assert_eq!(url("YOUTUBE", "DAILY_QUOTA"), "100000");
        assert!(!env.contains_key("MUZE__PROVIDERS__DEEZER__API_KEY"));
    }

    #[test]
    fn round_trips_through_json() {
        let json = serde_json::to_string(&ProviderName::Youtube).expect("serialize");
        assert_eq!(json, "\"youtube\"");
        let back: ProviderName = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, ProviderName::Youtube);
    }
}
