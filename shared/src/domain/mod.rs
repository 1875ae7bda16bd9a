//! Domain types: parsed once at the edge, carried validated through the queue and the worker.

pub mod catalog_match;
mod crawl;
mod provider;
mod query;
mod rate_limit;
mod search;
pub mod song_identity;
mod track;

pub use crawl::{AlbumInfo, CrawlPage, CRAWL_SOURCES};
pub use provider::{specs, Credential, ProviderName, ProviderSpec, UnknownProvider};
pub use query::{normalize_text, NormalizedQuery, Query, QueryError, ResultLimit, SearchType};
pub use rate_limit::{RateLimit, RateLimitParseError};
pub use search::{Attempt, AttemptOutcome, SearchError, SearchStatus, SearchView};
pub use track::{ProviderTrack, Track};
