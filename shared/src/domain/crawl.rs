//! What a new-release crawl fetches: pages, each one provider call.
//!
//! A crawl starts from root pages (the providers' new-release listings) and fans out: an album
//! listing yields album-track pages, Spotify's album tracks (which carry no ISRC) yield one
//! track-details page each. A page's [`CrawlPage::key`] is unique within a crawl, so an album
//! reached twice (from two listings, or by a redelivered parent) is fetched once.

use serde::{Deserialize, Serialize};

use super::ProviderName;

/// Providers a crawl can start from.
pub const CRAWL_SOURCES: [ProviderName; 2] = [ProviderName::Spotify, ProviderName::Deezer];

/// One page of a crawl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CrawlPage {
    /// Spotify `GET /search?q=tag:new&type=album` (albums released in the past two weeks).
    SpotifyNewAlbums { offset: u32 },
    /// Spotify `GET /albums/{id}/tracks` (simplified tracks, no ISRC).
    SpotifyAlbumTracks { album_id: String, offset: u32 },
    /// Spotify `GET /tracks/{id}`: the full track, with its ISRC.
    SpotifyTrack { track_id: String },
    /// Deezer `GET /editorial/0/releases`.
    DeezerNewReleases { index: u32 },
    /// Deezer `GET /chart/0/albums`.
    DeezerChartAlbums { index: u32 },
    /// Deezer `GET /album/{id}/tracks` (tracks with ISRC). Its items carry no album, so the
    /// page carries what the listing that named the album said of it.
    DeezerAlbumTracks {
        album_id: u64,
        index: u32,
        /// Pages published before albums travelled with them have none.
        #[serde(default)]
        album: AlbumInfo,
    },
}

/// What an album listing says of an album, for the tracks fetched from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbumInfo {
    pub title: Option<String>,
    pub cover_url: Option<String>,
    /// `YYYY-MM-DD`.
    pub release_date: Option<String>,
}

impl CrawlPage {
    /// The page's identity within its crawl.
    pub fn key(&self) -> String {
        match self {
            CrawlPage::SpotifyNewAlbums { offset } => format!("spotify:new:{offset}"),
            CrawlPage::SpotifyAlbumTracks { album_id, offset } => {
                format!("spotify:album:{album_id}:{offset}")
            }
            CrawlPage::SpotifyTrack { track_id } => format!("spotify:track:{track_id}"),
            CrawlPage::DeezerNewReleases { index } => format!("deezer:releases:{index}"),
            CrawlPage::DeezerChartAlbums { index } => format!("deezer:chart:{index}"),
            CrawlPage::DeezerAlbumTracks {
                album_id, index, ..
            } => {
                format!("deezer:album:{album_id}:{index}")
            }
        }
    }

    /// The provider the page is fetched from (and whose budget it spends).
    pub fn provider(&self) -> ProviderName {
        match self {
            CrawlPage::SpotifyNewAlbums { .. }
            | CrawlPage::SpotifyAlbumTracks { .. }
            | CrawlPage::SpotifyTrack { .. } => ProviderName::Spotify,
            CrawlPage::DeezerNewReleases { .. }
            | CrawlPage::DeezerChartAlbums { .. }
            | CrawlPage::DeezerAlbumTracks { .. } => ProviderName::Deezer,
        }
    }

    /// The first pages of a crawl over `sources` (providers that cannot be crawled are ignored).
    pub fn roots(sources: &[ProviderName]) -> Vec<CrawlPage> {
        let mut roots = Vec::new();
        for source in sources {
            match source {
                ProviderName::Spotify => roots.push(CrawlPage::SpotifyNewAlbums { offset: 0 }),
                ProviderName::Deezer => {
                    roots.push(CrawlPage::DeezerNewReleases { index: 0 });
                    roots.push(CrawlPage::DeezerChartAlbums { index: 0 });
                }
                _ => {}
            }
        }
        roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_per_page_and_stable() {
        let pages = [
            CrawlPage::SpotifyNewAlbums { offset: 10 },
            CrawlPage::SpotifyAlbumTracks {
                album_id: "a".into(),
                offset: 0,
            },
            CrawlPage::SpotifyTrack {
                track_id: "t".into(),
            },
            CrawlPage::DeezerNewReleases { index: 0 },
            CrawlPage::DeezerChartAlbums { index: 0 },
            CrawlPage::DeezerAlbumTracks {
                album_id: 7,
                index: 25,
                album: AlbumInfo {
                    title: Some("Discovery".into()),
                    cover_url: None,
                    release_date: Some("2001-03-07".into()),
                },
            },
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
    fn an_album_page_published_without_its_album_still_reads() {
        let page: CrawlPage =
            serde_json::from_str(r#"{"kind":"deezer_album_tracks","album_id":302127,"index":0}"#)
                .expect("old message");
        assert_eq!(
            page,
            CrawlPage::DeezerAlbumTracks {
                album_id: 302127,
                index: 0,
                album: AlbumInfo::default()
            }
        );
    }

    #[test]
    fn roots_follow_the_sources() {
        assert_eq!(
            CrawlPage::roots(&[ProviderName::Spotify]),
            vec![CrawlPage::SpotifyNewAlbums { offset: 0 }]
        );
        let both = CrawlPage::roots(&[ProviderName::Deezer, ProviderName::Spotify]);
        assert_eq!(both.len(), 3);
        assert!(CrawlPage::roots(&[ProviderName::Youtube]).is_empty());
        assert!(both.iter().all(|p| CRAWL_SOURCES.contains(&p.provider())));
    }
}
