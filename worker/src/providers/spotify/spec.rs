// Spotify's spec: its name, what it needs to be called, and its defaults. Compiled into
// `muze-shared` too (through the provider list), which knows every provider's name and
// settings before any client exists; the client lives beside it, in this module.

use muze_shared::domain::{Credential, ProviderSpec};

/// Spotify.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: "spotify",
    env_name: "SPOTIFY",
    credential: Credential::ClientCredentials,
    defaults: &[
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
};
