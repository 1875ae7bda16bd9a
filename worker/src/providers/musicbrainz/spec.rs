// MusicBrainz's spec: its name, what it needs to be called and its defaults.
// It lives with the client, in this module (which re-exports it as `spec`), and is compiled
// by `muze-shared` through the provider list (`../list.rs`), so that every binary knows the
// provider's name and settings before any client exists.

use muze_shared::domain::{Credential, ProviderSpec};

/// The MusicBrainz web service v2.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: "musicbrainz",
    env_name: "MUSICBRAINZ",
    credential: Credential::None,
    defaults: &[
        ("base_url", "https://musicbrainz.org/ws/2"),
        // One request a second per IP, on average.
        ("rate_limit", "1/1s"),
        ("timeout_ms", "5000"),
        ("page_size", "10"),
    ],
};
