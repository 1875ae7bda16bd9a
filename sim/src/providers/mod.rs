//! The provider stand-ins, one module each, each speaking its provider's real wire format
//! under its own path prefix, and registered by one line of the list below: its module (with
//! its `SIM` declaration — name, path, kind of limit — its `router()` and its `failure()`, the
//! provider's own error shape) and the name it goes by in [`Provider`].

use axum::response::Response;
use axum::Router;

use crate::call::Failure;
use crate::provider::SimProvider;
use crate::state::SimHandle;

/// Expands the list: the modules, [`Provider`], the merged router and the failure dispatch.
macro_rules! sim_providers {
    ($($(#[doc = $doc:literal])* $module:ident : $variant:ident),* $(,)?) => {
        $(pub(crate) mod $module;)*

        /// One of the simulated upstream music APIs. Serialized in lowercase (`"spotify"`, ...).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum Provider {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Provider {
            /// Every provider, in a fixed order (also the order of `/_stats`).
            pub const ALL: [Provider; [$(stringify!($variant)),*].len()] =
                [$(Provider::$variant),*];

            /// What its module declares of it.
            pub(crate) const fn sim(self) -> &'static SimProvider {
                match self {
                    $(Provider::$variant => &$module::SIM,)*
                }
            }
        }

        /// Every provider's routes.
        pub(crate) fn router() -> Router<SimHandle> {
            Router::new()$(.merge($module::router()))*
        }

        /// `failure` in `provider`'s own error shape.
        pub(crate) fn failure(provider: Provider, failure: Failure) -> Response {
            match provider {
                $(Provider::$variant => $module::failure(failure),)*
            }
        }
    };
}

sim_providers! {
    /// Spotify Web API (client-credentials token, search, albums, tracks).
    spotify: Spotify,
    /// YouTube Data API v3 (`search.list`).
    youtube: Youtube,
    /// Shazam through RapidAPI (apidojo `search`).
    shazam: Shazam,
    /// Deezer public API (search, track, album, editorial releases).
    deezer: Deezer,
    /// MusicBrainz web service v2 (recording search and lookups).
    musicbrainz: Musicbrainz,
}
