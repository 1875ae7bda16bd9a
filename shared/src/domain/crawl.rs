//! What a new-release crawl fetches: pages, each one provider call, of the kinds each
//! crawling provider declares in its module (`spec.rs`, named by the provider list).
//!
//! A crawl starts from root pages (the providers' new-release listings) and fans out: an album
//! listing yields album-track pages, Spotify's album tracks (which carry no ISRC) yield one
//! track-details page each. A page's [`CrawlPage::key`] is unique within a crawl, so an album
//! reached twice (from two listings, or by a redelivered parent) is fetched once.

use serde::{Deserialize, Serialize};

use super::{provider::specs, ProviderName};

/// A page of the crawl of every provider the list gives pages (`pages: Page`): each one's
/// kinds are its module's `spec.rs` `Page`, and this is one of them.
macro_rules! providers {
    ($($module:ident : $variant:ident $(, pages: $pages:ident)? => $build:expr),* $(,)?) => {
        /// One page of a crawl: a page kind of the provider it is fetched from. On the wire
        /// (the crawl queue, the pages table) it is that kind's own object, tagged by `kind`
        /// (`{"kind":"spotify_new_albums","offset":0}`).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(untagged)]
        pub enum CrawlPage {
            $($(
                #[doc = concat!("A page of `", stringify!($module), "`.")]
                $variant(specs::$module::$pages),
            )?)*
        }

        /// Providers a crawl can start from: those with crawl pages, in the list's order.
        pub const CRAWL_SOURCES: [ProviderName; [$($(stringify!($pages),)?)*].len()] =
            [$($(first!(ProviderName::$variant, $pages),)?)*];

        impl CrawlPage {
            /// The page's identity within its crawl.
            pub fn key(&self) -> String {
                match self {
                    $($(CrawlPage::$variant(page) => first!(page.key(), $pages),)?)*
                }
            }

            /// The provider the page is fetched from (and whose budget it spends).
            pub fn provider(&self) -> ProviderName {
                match self {
                    $($(CrawlPage::$variant(_) => first!(ProviderName::$variant, $pages),)?)*
                }
            }

            /// The one track this page fetches, if that is all it fetches (a crawl skips it
            /// when the catalog already has the track with an ISRC).
            pub fn single_track(&self) -> Option<&str> {
                match self {
                    $($(CrawlPage::$variant(page) => first!(page.single_track(), $pages),)?)*
                }
            }

            /// The first pages of a crawl over `sources` (providers that cannot be crawled are
            /// ignored).
            pub fn roots(sources: &[ProviderName]) -> Vec<CrawlPage> {
                let mut roots = Vec::new();
                for source in sources {
                    $($(
                        if *source == first!(ProviderName::$variant, $pages) {
                            roots.extend(
                                specs::$module::$pages::roots().into_iter().map(CrawlPage::$variant),
                            );
                        }
                    )?)*
                }
                roots
            }
        }
    };
}

/// The first of two: lets a list line's optional `pages` decide whether something is emitted.
macro_rules! first {
    ($keep:expr, $pages:ident) => {
        $keep
    };
}

include!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../worker/src/providers/list.rs"
));

/// What an album listing says of an album, for the tracks fetched from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbumInfo {
    pub title: Option<String>,
    pub cover_url: Option<String>,
    /// `YYYY-MM-DD`.
    pub release_date: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use specs::{deezer::Page as Deezer, spotify::Page as Spotify};

    #[test]
    fn keys_are_distinct_per_page_and_stable() {
        let pages = [
            CrawlPage::Spotify(Spotify::NewAlbums { offset: 10 }),
            CrawlPage::Spotify(Spotify::AlbumTracks {
                album_id: "a".into(),
                offset: 0,
            }),
            CrawlPage::Spotify(Spotify::Track {
                track_id: "t".into(),
            }),
            CrawlPage::Deezer(Deezer::NewReleases { index: 0 }),
            CrawlPage::Deezer(Deezer::ChartAlbums { index: 0 }),
            CrawlPage::Deezer(Deezer::AlbumTracks {
                album_id: 7,
                index: 25,
                album: AlbumInfo {
                    title: Some("Discovery".into()),
                    cover_url: None,
                    release_date: Some("2001-03-07".into()),
                },
            }),
        ];
        let keys: std::collections::HashSet<String> = pages.iter().map(CrawlPage::key).collect();
        assert_eq!(keys.len(), pages.len());
        assert_eq!(pages[5].key(), "deezer:album:7:25");
        for page in &pages {
            let json = serde_json::to_value(page).expect("serializes");
            assert_eq!(
                &serde_json::from_value::<CrawlPage>(json).expect("round trip"),
                page
            );
        }
    }

    #[test]
    fn pages_keep_their_wire_shape() {
        let page = CrawlPage::Spotify(Spotify::AlbumTracks {
            album_id: "4aawyAB9vmqN3uQ7FjRGTy".into(),
            offset: 50,
        });
        assert_eq!(
            serde_json::to_value(&page).expect("serializes"),
            serde_json::json!({"kind": "spotify_album_tracks", "album_id": "4aawyAB9vmqN3uQ7FjRGTy", "offset": 50})
        );
        let read: CrawlPage =
            serde_json::from_str(r#"{"kind":"spotify_track","track_id":"t1"}"#).expect("reads");
        assert_eq!(read.single_track(), Some("t1"));
        assert_eq!(read.provider(), ProviderName::Spotify);
        assert!(serde_json::from_str::<CrawlPage>(r#"{"kind":"napster_top","index":0}"#).is_err());
        assert_eq!(CRAWL_SOURCES, [ProviderName::Spotify, ProviderName::Deezer]);
    }

    #[test]
    fn an_album_page_published_without_its_album_still_reads() {
        let page: CrawlPage =
            serde_json::from_str(r#"{"kind":"deezer_album_tracks","album_id":302127,"index":0}"#)
                .expect("old message");
        assert_eq!(
            page,
            CrawlPage::Deezer(Deezer::AlbumTracks {
                album_id: 302127,
                index: 0,
                album: AlbumInfo::default()
            })
        );
    }

    #[test]
    fn roots_follow_the_sources() {
        assert_eq!(
            CrawlPage::roots(&[ProviderName::Spotify]),
            vec![CrawlPage::Spotify(Spotify::NewAlbums { offset: 0 })]
        );
        let both = CrawlPage::roots(&[ProviderName::Deezer, ProviderName::Spotify]);
        assert_eq!(both.len(), 3);
        assert!(CrawlPage::roots(&[ProviderName::Youtube]).is_empty());
        assert!(both.iter().all(|p| CRAWL_SOURCES.contains(&p.provider())));
    }
}
