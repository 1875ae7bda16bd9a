//! The simulated music catalog every provider stand-in serves from: deterministic songs
//! with Korean and Latin titles, each known to all five providers under its own ids, with an
//! indexed search.

mod generate;
mod ids;
mod index;
mod model;
mod query;
mod search;
mod store;
mod words;

pub use ids::{is_isrc, is_spotify_id};
pub use model::{join_artists, Album, AlbumType, Artist, Song};
pub use query::{normalize, tokenize, SearchQuery};
pub use search::{AlbumPage, SongPage};
pub use store::Catalog;

pub(crate) use ids::image_hash;

#[cfg(test)]
mod tests;
