// The MusicBrainz web service v2's spec: its name, what it needs to be called, and its defaults. Compiled into
// `muze-shared` too (through the provider list), which knows every provider's name and
// settings before any client exists; the client lives beside it, in this module.

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
