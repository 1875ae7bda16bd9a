//! The `muze-sim` command line: every flag also reads a `MUZE_SIM_*` environment variable.
//! Limits are written `<calls>/<duration>` with units ms, s, m, h, d (`300/30s`), or `off`;
//! the arrival delay (`--arrival-*`, the same for every provider) spreads when calls reach
//! the providers, and so when their limits count them.

use std::net::SocketAddr;
use std::str::FromStr;

use clap::Parser;

use crate::arrival::ArrivalDelay;
use crate::config::{
    ProviderLimitConfig, SimConfig, DEFAULT_SEED, DEFAULT_SONGS, DEFAULT_SPOTIFY_CLIENT_ID,
    DEFAULT_SPOTIFY_CLIENT_SECRET,
};
use crate::limits::{LimitConfig, LimitParseError};
use crate::provider::{Provider, ProviderMap};
use crate::telemetry::LogFormat;

/// A rolling limit or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitArg(pub Option<LimitConfig>);

impl FromStr for LimitArg {
    type Err = LimitParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LimitConfig::parse_optional(s).map(LimitArg)
    }
}

/// A daily quota (calls per day) or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaArg(pub Option<u32>);

impl FromStr for QuotaArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("none") {
            return Ok(QuotaArg(None));
        }
        s.parse::<u32>()
            .map(|q| QuotaArg(Some(q)))
            .map_err(|_| format!("expected a number of calls per day or off, got '{s}'"))
    }
}

/// A range of milliseconds, `MIN-MAX` (`800-1500`) or a single value (`1000`, min = max).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MillisRangeArg {
    /// Least value, in milliseconds.
    pub min_ms: u64,
    /// Greatest value, in milliseconds (at least `min_ms`).
    pub max_ms: u64,
}

impl FromStr for MillisRangeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected =
            || format!("expected MIN-MAX milliseconds (e.g. 800-1500) or one value, got '{s}'");
        let (min, max) = s.trim().split_once('-').unwrap_or((s, s));
        let min_ms: u64 = min.trim().parse().map_err(|_| expected())?;
        let max_ms: u64 = max.trim().parse().map_err(|_| expected())?;
        if min_ms > max_ms {
            return Err(format!(
                "the range {min_ms}-{max_ms} is upside down (MIN must not exceed MAX)"
            ));
        }
        Ok(MillisRangeArg { min_ms, max_ms })
    }
}

/// Local stand-in for the Spotify, YouTube, Shazam, Deezer and MusicBrainz APIs.
///
/// Serves each provider at its real paths below a prefix (/spotify/v1/search,
/// /spotify/api/token, /youtube/youtube/v3/search, /shazam/search, /deezer/search,
/// /musicbrainz/ws/2/recording), enforces their limits and reports calls at /_stats.
#[derive(Debug, Parser)]
#[command(name = "muze-sim", version)]
pub struct Cli {
    /// Listen address.
    #[arg(long, env = "MUZE_SIM_BIND", default_value = "127.0.0.1:9100")]
    pub bind: SocketAddr,
    /// Catalog seed (same seed and size: same songs and ids).
    #[arg(long, env = "MUZE_SIM_SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Catalog size.
    #[arg(long, env = "MUZE_SIM_SONGS", default_value_t = DEFAULT_SONGS)]
    pub songs: usize,
    /// Latency added to every provider call, in milliseconds.
    #[arg(long, env = "MUZE_SIM_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Every provider call arrives up to this many milliseconds late (uniformly spread) and is
    /// counted against the limit when it arrives. The Spotify token endpoint is not delayed.
    #[arg(long, env = "MUZE_SIM_ARRIVAL_JITTER_MS", default_value_t = 0)]
    pub arrival_jitter_ms: u64,
    /// Percentage (0-100) of provider calls that arrive slow, a further --arrival-slow-ms late.
    #[arg(long, env = "MUZE_SIM_ARRIVAL_SLOW_PERCENT", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub arrival_slow_percent: u8,
    /// Extra arrival delay of a slow call, uniformly within MIN-MAX milliseconds (`800-1500`,
    /// or `1000` for exactly one second).
    #[arg(
        long,
        env = "MUZE_SIM_ARRIVAL_SLOW_MS",
        value_name = "MIN-MAX",
        default_value = "0"
    )]
    pub arrival_slow_ms: MillisRangeArg,
    /// Spotify client id accepted by /spotify/api/token.
    #[arg(long, env = "MUZE_SIM_SPOTIFY_CLIENT_ID", default_value = DEFAULT_SPOTIFY_CLIENT_ID)]
    pub spotify_client_id: String,
    /// Spotify client secret accepted by /spotify/api/token.
    #[arg(long, env = "MUZE_SIM_SPOTIFY_CLIENT_SECRET", default_value = DEFAULT_SPOTIFY_CLIENT_SECRET, hide_env_values = true, hide_default_value = true)]
    pub spotify_client_secret: String,
    /// Lifetime of issued Spotify tokens, in seconds.
    #[arg(long, env = "MUZE_SIM_SPOTIFY_TOKEN_TTL_SECS", default_value_t = 3_600)]
    pub spotify_token_ttl_secs: u64,
    /// Spotify rolling limit.
    #[arg(long, env = "MUZE_SIM_SPOTIFY_LIMIT", default_value = "300/30s")]
    pub spotify_limit: LimitArg,
    /// YouTube rolling limit (in addition to the daily quota).
    #[arg(long, env = "MUZE_SIM_YOUTUBE_LIMIT", default_value = "off")]
    pub youtube_limit: LimitArg,
    /// YouTube search calls per day, reset at 00:00 America/Los_Angeles.
    #[arg(long, env = "MUZE_SIM_YOUTUBE_DAILY_QUOTA", default_value = "100")]
    pub youtube_daily_quota: QuotaArg,
    /// The YouTube API key accepted (default: any non-empty key).
    #[arg(long, env = "MUZE_SIM_YOUTUBE_API_KEY", hide_env_values = true)]
    pub youtube_api_key: Option<String>,
    /// Shazam (RapidAPI) rolling limit.
    #[arg(long, env = "MUZE_SIM_SHAZAM_LIMIT", default_value = "60/1m")]
    pub shazam_limit: LimitArg,
    /// The RapidAPI key accepted for Shazam (default: any non-empty key).
    #[arg(long, env = "MUZE_SIM_SHAZAM_API_KEY", hide_env_values = true)]
    pub shazam_api_key: Option<String>,
    /// Deezer rolling limit.
    #[arg(long, env = "MUZE_SIM_DEEZER_LIMIT", default_value = "50/5s")]
    pub deezer_limit: LimitArg,
    /// MusicBrainz rolling limit.
    #[arg(long, env = "MUZE_SIM_MUSICBRAINZ_LIMIT", default_value = "1/1s")]
    pub musicbrainz_limit: LimitArg,
    /// Log format (default: json unless stdout is a terminal).
    #[arg(long, env = "MUZE_SIM_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

impl Cli {
    /// The simulator configuration these flags describe.
    pub fn config(&self) -> SimConfig {
        let rolling = |arg: LimitArg| ProviderLimitConfig {
            limit: arg.0,
            daily_quota: None,
        };
        // Providers without a flag of their own keep their sim module's limits.
        let mut limits = SimConfig::default().limits;
        limits[Provider::Spotify] = rolling(self.spotify_limit);
        limits[Provider::Youtube] = ProviderLimitConfig {
            limit: self.youtube_limit.0,
            daily_quota: self.youtube_daily_quota.0,
        };
        limits[Provider::Shazam] = rolling(self.shazam_limit);
        limits[Provider::Deezer] = rolling(self.deezer_limit);
        limits[Provider::Musicbrainz] = rolling(self.musicbrainz_limit);
        SimConfig {
            bind: self.bind,
            seed: self.seed,
            songs: self.songs,
            latency_ms: self.latency_ms,
            arrival: ProviderMap::filled(ArrivalDelay {
                jitter_ms: self.arrival_jitter_ms,
                slow_percent: self.arrival_slow_percent,
                slow_min_ms: self.arrival_slow_ms.min_ms,
                slow_max_ms: self.arrival_slow_ms.max_ms,
            }),
            limits,
            spotify_client_id: self.spotify_client_id.clone(),
            spotify_client_secret: self.spotify_client_secret.clone(),
            spotify_token_ttl_secs: self.spotify_token_ttl_secs,
            youtube_api_key: self.youtube_api_key.clone(),
            shazam_api_key: self.shazam_api_key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_library_defaults_except_the_port() {
        let cli = Cli::try_parse_from(["muze-sim"]).unwrap();
        let config = cli.config();
        assert_eq!(config.bind.port(), 9100);
        let lib = SimConfig {
            bind: config.bind,
            ..SimConfig::default()
        };
        assert_eq!(config, lib);
    }

    #[test]
    fn parses_limit_flags() {
        let cli = Cli::try_parse_from([
            "muze-sim",
            "--spotify-limit",
            "3/1s",
            "--youtube-limit",
            "100/10s",
            "--youtube-daily-quota",
            "off",
            "--musicbrainz-limit",
            "off",
        ])
        .unwrap();
        let c = cli.config();
        assert_eq!(
            c.limits(Provider::Spotify).limit,
            Some(LimitConfig::new(3, 1_000))
        );
        assert_eq!(
            c.limits(Provider::Youtube),
            ProviderLimitConfig::rolling(100, 10_000)
        );
        assert_eq!(c.limits(Provider::Musicbrainz).limit, None);
        assert!(Cli::try_parse_from(["muze-sim", "--deezer-limit", "fast"]).is_err());
    }

    #[test]
    fn arrival_flags_set_the_same_arrival_delay_for_every_provider() {
        let cli = Cli::try_parse_from([
            "muze-sim",
            "--arrival-jitter-ms",
            "30",
            "--arrival-slow-percent",
            "5",
            "--arrival-slow-ms",
            "800-1500",
        ])
        .unwrap();
        let expected = ArrivalDelay {
            jitter_ms: 30,
            slow_percent: 5,
            slow_min_ms: 800,
            slow_max_ms: 1_500,
        };
        assert_eq!(cli.config().arrival, ProviderMap::filled(expected));
        let fixed = Cli::try_parse_from([
            "muze-sim",
            "--arrival-slow-percent",
            "100",
            "--arrival-slow-ms",
            "1000",
        ])
        .unwrap();
        assert_eq!(
            fixed.config().arrival(crate::Provider::Musicbrainz),
            ArrivalDelay::fixed(1_000)
        );
    }

    #[test]
    fn arrival_flags_refuse_a_percentage_above_100_and_an_upside_down_range() {
        for args in [
            ["--arrival-slow-percent", "101"],
            ["--arrival-slow-ms", "1500-800"],
            ["--arrival-slow-ms", "fast"],
            ["--arrival-slow-ms", "10-"],
        ] {
            let parsed = Cli::try_parse_from(["muze-sim", args[0], args[1]]);
            assert!(parsed.is_err(), "{args:?}");
        }
    }
}
