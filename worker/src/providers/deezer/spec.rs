// Deezer's public API's spec: its name, what it needs to be called, and its defaults. Compiled into
// `muze-shared` too (through the provider list), which knows every provider's name and
// settings before any client exists; the client lives beside it, in this module.

use muze_shared::domain::{Credential, ProviderSpec};

/// Deezer's public API.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: "deezer",
    env_name: "DEEZER",
    credential: Credential::None,
    defaults: &[
        ("base_url", "https://api.deezer.com"),
        // Deezer allows 50 per 5 s per IP; leave room for other clients on the address.
        ("rate_limit", "45/5s"),
        ("timeout_ms", "5000"),
        ("page_size", "10"),
    ],
};
