// Shazam, through RapidAPI's spec: its name, what it needs to be called, and its defaults. Compiled into
// `muze-shared` too (through the provider list), which knows every provider's name and
// settings before any client exists; the client lives beside it, in this module.

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
