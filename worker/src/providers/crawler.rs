//! Providers a new-release crawl walks. A crawl page names its provider; the crawl job hands the
//! page to that provider's [`Crawler`], which makes the page's one call and says what it found
//! and which pages it leads to. The crawl job itself knows no provider.

use async_trait::async_trait;
use muze_shared::domain::{CrawlPage, ProviderTrack};

use super::{Listing, Provider, ProviderError};

/// What one crawl page's call found.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Tracks to store.
    pub tracks: Vec<ProviderTrack>,
    /// Pages the call leads to (an album listing's albums, the listing's next page).
    pub children: Vec<CrawlPage>,
}

/// A provider whose catalog a crawl can walk.
#[async_trait]
pub trait Crawler: Send + Sync + std::fmt::Debug {
    /// The provider that makes the calls, for its budget and token.
    fn provider(&self) -> &dyn Provider;

    /// Makes the one call `page` stands for. A page of another provider is a permanent error.
    async fn fetch(&self, page: &CrawlPage) -> Result<Fetched, ProviderError>;
}

/// Child pages of a listing: one per item, then the listing's next page.
pub fn fan_out<T>(
    listing: Listing<T>,
    item: impl Fn(T) -> CrawlPage,
    next: impl Fn(u32) -> CrawlPage,
) -> Fetched {
    let mut children: Vec<CrawlPage> = listing.items.into_iter().map(item).collect();
    children.extend(listing.next.map(next));
    Fetched {
        tracks: Vec::new(),
        children,
    }
}

/// The error for a page handed to a crawler that does not own it.
pub fn not_mine(page: &CrawlPage) -> ProviderError {
    ProviderError::Permanent(format!(
        "{} cannot fetch page {}",
        page.provider(),
        page.key()
    ))
}

#[cfg(test)]
mod tests {
    use super::super::deezer::spec::Page;
    use super::*;

    #[test]
    fn listings_fan_out_into_items_then_the_next_page() {
        let fetched = fan_out(
            Listing {
                items: vec![7u64, 8],
                next: Some(100),
            },
            |album_id| {
                CrawlPage::Deezer(Page::AlbumTracks {
                    album_id,
                    index: 0,
                    album: Default::default(),
                })
            },
            |index| CrawlPage::Deezer(Page::NewReleases { index }),
        );
        let keys: Vec<String> = fetched.children.iter().map(CrawlPage::key).collect();
        assert_eq!(
            keys,
            [
                "deezer:album:7:0",
                "deezer:album:8:0",
                "deezer:releases:100"
            ]
        );
        let last = fan_out(
            Listing::<u64> {
                items: vec![],
                next: None,
            },
            |album_id| {
                CrawlPage::Deezer(Page::AlbumTracks {
                    album_id,
                    index: 0,
                    album: Default::default(),
                })
            },
            |index| CrawlPage::Deezer(Page::NewReleases { index }),
        );
        assert!(last.children.is_empty());
    }
}
