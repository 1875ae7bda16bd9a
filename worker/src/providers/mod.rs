//! One interface over every music API. Each provider lives in its own module, speaks that API's
//! real wire format, and ends every call in one classified outcome; [`registry`] lists them, one
//! line each; the fallback walks them in the configured order and the crawl hands each page to
//! its provider's [`Crawler`].

mod artists;
mod budgeted_call;
mod crawler;
mod error;
pub mod fallback;
mod http;
mod registry;

// The provider list's lines: each is a `pub mod` and a line of [`registry::REGISTRY`].
macro_rules! providers {
    ($($module:ident : $variant:ident $(, pages: $pages:ident)? => $build:expr),* $(,)?) => {
        $(pub mod $module;)*

        /// Every provider, one line each (see `list.rs`).
        const REGISTRY: &[(ProviderName, registry::Build)] =
            &[$((ProviderName::$variant, $build)),*];
    };
}
include!("list.rs");
use registry::Built;

pub use budgeted_call::{budgeted_call, Budgeted, LIMITER_DOWN_WAIT};
pub use crawler::{Crawler, Fetched};
pub use error::ProviderError;
pub use registry::{build_crawlers, build_providers, Crawlers};

use std::fmt::Debug;

use async_trait::async_trait;
use muze_shared::domain::{ProviderName, ProviderTrack};

/// One page of a listing a crawl walks: the items, and where the next page starts (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next: Option<u32>,
}

/// A music search API.
#[async_trait]
pub trait Provider: Send + Sync + Debug {
    /// Which provider this is.
    fn name(&self) -> ProviderName;

    /// Gets ready to call at once: anything a call needs before it can be sent (Spotify's
    /// access token) is fetched here, before budget is taken, so a granted call goes out
    /// without delay.
    async fn prepare(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Searches tracks. `Ok(vec![])` means the provider answered and knows nothing.
    async fn search(&self, query: &str, limit: u8) -> Result<Vec<ProviderTrack>, ProviderError>;
}
