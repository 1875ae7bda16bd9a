// YouTube's spec: its name, what it needs to be called and its defaults.
// It lives with the client, in this module (which re-exports it as `spec`), and is compiled
// by `muze-shared` through the provider list (`../list.rs`), so that every binary knows the
// provider's name and settings before any client exists.

use muze_shared::domain::{Credential, ProviderSpec};

/// The YouTube Data API v3.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: "youtube",
    env_name: "YOUTUBE",
    credential: Credential::ApiKey,
    defaults: &[
        ("base_url", "https://www.googleapis.com/youtube/v3"),
        // search.list has its own bucket of 100 calls a day, reset at Pacific midnight.
        ("rate_limit", "100/1d"),
        ("daily_quota", "100"),
        ("quota_timezone", "America/Los_Angeles"),
        ("timeout_ms", "5000"),
        ("page_size", "10"),
    ],
};
