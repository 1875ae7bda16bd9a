//! How a simulator is set up: where it listens, which catalog it serves, each provider's
//! limits and arrival delay, and the credentials it accepts. Built by the CLI ([`crate::cli`]) or directly by
//! tests and benchmarks (`SimConfig { .., ..SimConfig::default() }`).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use crate::arrival::{ArrivalDelay, ArrivalDelayError};
use crate::limits::LimitConfig;
use crate::provider::{Provider, ProviderMap};

/// Default catalog seed.
pub const DEFAULT_SEED: u64 = 42;
/// Default catalog size, in songs.
pub const DEFAULT_SONGS: usize = 3_000;
/// Default Spotify client id accepted by the token endpoint.
pub const DEFAULT_SPOTIFY_CLIENT_ID: &str = "muze-sim-client";
/// Default Spotify client secret accepted by the token endpoint.
pub const DEFAULT_SPOTIFY_CLIENT_SECRET: &str = "muze-sim-secret";
/// Default access-token lifetime: Spotify's real one hour.
pub const DEFAULT_SPOTIFY_TOKEN_TTL_SECS: u64 = 3_600;
/// The `X-RapidAPI-Host` value Shazam callers send.
pub const SHAZAM_RAPIDAPI_HOST: &str = "shazam.p.rapidapi.com";

/// The limits of one provider: a rolling window and/or a daily quota (either may be off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderLimitConfig {
    /// At most `calls` admitted calls in any rolling `window_ms` (`None`: no window limit).
    pub limit: Option<LimitConfig>,
    /// At most this many calls per calendar day, reset at 00:00 America/Los_Angeles
    /// (YouTube's quota; `None`: no quota).
    pub daily_quota: Option<u32>,
}

impl ProviderLimitConfig {
    /// A rolling window of `calls` per `window_ms` milliseconds, no daily quota.
    pub const fn rolling(calls: u32, window_ms: u64) -> Self {
        ProviderLimitConfig {
            limit: Some(LimitConfig::new(calls, window_ms)),
            daily_quota: None,
        }
    }

    /// A daily quota only.
    pub const fn daily(quota: u32) -> Self {
        ProviderLimitConfig {
            limit: None,
            daily_quota: Some(quota),
        }
    }

    /// No limits at all (benchmarks that measure the system, not the limiter).
    pub const fn unlimited() -> Self {
        ProviderLimitConfig {
            limit: None,
            daily_quota: None,
        }
    }
}

/// Everything a [`crate::Sim`] needs. `Default` gives the real-ish setup: port 0 on
/// 127.0.0.1, seed 42, 3000 songs, no latency, calls arriving at once, each provider's real
/// kind of limit.
#[derive(Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub bind: SocketAddr,
    /// Catalog seed: the same seed and size always give the same songs.
    pub seed: u64,
    /// Catalog size.
    pub songs: usize,
    /// Baseline latency added to every provider call (each provider's starting latency).
    pub latency_ms: u64,
    /// How late calls to each provider arrive, waited before a call is counted and admitted
    /// (each provider's starting arrival delay; all off by default).
    pub arrival: ProviderMap<ArrivalDelay>,
    /// Each provider's limits (by default its real kind, from its sim module's `SIM`).
    pub limits: ProviderMap<ProviderLimitConfig>,
    /// Client id the Spotify token endpoint accepts.
    pub spotify_client_id: String,
    /// Client secret the Spotify token endpoint accepts.
    pub spotify_client_secret: String,
    /// Lifetime of issued Spotify access tokens, in seconds.
    pub spotify_token_ttl_secs: u64,
    /// The YouTube API key accepted (`None`: any non-empty key).
    pub youtube_api_key: Option<String>,
    /// The RapidAPI key accepted for Shazam (`None`: any non-empty key).
    pub shazam_api_key: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: DEFAULT_SEED,
            songs: DEFAULT_SONGS,
            latency_ms: 0,
            arrival: ProviderMap::filled(ArrivalDelay::OFF),
            limits: ProviderMap::from_fn(|p| p.sim().limits),
            spotify_client_id: DEFAULT_SPOTIFY_CLIENT_ID.to_owned(),
            spotify_client_secret: DEFAULT_SPOTIFY_CLIENT_SECRET.to_owned(),
            spotify_token_ttl_secs: DEFAULT_SPOTIFY_TOKEN_TTL_SECS,
            youtube_api_key: None,
            shazam_api_key: None,
        }
    }
}

impl SimConfig {
    /// The limits configured for `provider`.
    pub fn limits(&self, provider: Provider) -> ProviderLimitConfig {
        self.limits[provider]
    }

    /// Sets the limits of `provider`.
    pub fn set_limits(&mut self, provider: Provider, limits: ProviderLimitConfig) {
        self.limits[provider] = limits;
    }

    /// The arrival delay configured for `provider`.
    pub fn arrival(&self, provider: Provider) -> ArrivalDelay {
        self.arrival[provider]
    }

    /// Sets the arrival delay of `provider` (checked by [`SimConfig::validate`] when the
    /// simulator is built).
    pub fn set_arrival(&mut self, provider: Provider, arrival: ArrivalDelay) {
        self.arrival[provider] = arrival;
    }

    /// Refuses settings the simulator cannot apply: an invalid arrival delay.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        for provider in Provider::ALL {
            self.arrival(provider)
                .validate()
                .map_err(|source| InvalidConfig::Arrival { provider, source })?;
        }
        Ok(())
    }

    /// This configuration with every limit and quota off.
    pub fn unlimited(mut self) -> Self {
        for p in Provider::ALL {
            self.set_limits(p, ProviderLimitConfig::unlimited());
        }
        self
    }
}

/// Why a [`SimConfig`] cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidConfig {
    /// The arrival delay of `provider` is invalid.
    #[error("{provider}: {source}")]
    Arrival {
        /// The provider whose arrival delay is invalid.
        provider: Provider,
        /// What is wrong with it.
        source: ArrivalDelayError,
    },
}

impl fmt::Debug for SimConfig {
    /// Credentials are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("bind", &self.bind)
            .field("seed", &self.seed)
            .field("songs", &self.songs)
            .field("latency_ms", &self.latency_ms)
            .field("arrival", &self.arrival)
            .field("limits", &self.limits)
            .field("spotify_client_id", &self.spotify_client_id)
            .field("spotify_client_secret", &"<redacted>")
            .field("spotify_token_ttl_secs", &self.spotify_token_ttl_secs)
            .field(
                "youtube_api_key",
                &self.youtube_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "shazam_api_key",
                &self.shazam_api_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
