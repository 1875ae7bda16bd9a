// Shazam (through RapidAPI)'s spec: its name, what it needs to be called and its defaults.
// It lives with the client, in this module (which re-exports it as `spec`), and is compiled
// by `muze-shared` through the provider list (`../list.rs`), so that every binary knows the
// provider's name and settings before any client exists.

use muze_shared::domain::{Credential, ProviderSpec};

/// Shazam, through RapidAPI.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: "shazam",
    env_name: "SHAZAM",
    credential: Credential::ApiKey,
    defaults: &[
        ("base_url", "https://shazam.p.rapidapi.com"),
        // The Basic RapidAPI plan: 60 a minute.
        ("rate_limit", "60/1m"),
        ("timeout_ms", "5000"),
        ("page_size", "10"),
    ],
};
