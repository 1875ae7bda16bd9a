//! The five provider stand-ins, one module each, each speaking its provider's real wire
//! format under its own path prefix. [`router`] merges them.

pub(crate) mod deezer;
pub(crate) mod musicbrainz;
pub(crate) mod shazam;
pub(crate) mod spotify;
pub(crate) mod youtube;

use axum::response::Response;
use axum::Router;

use crate::call::Failure;
use crate::provider::Provider;
use crate::state::SimHandle;

/// Every provider's routes.
pub(crate) fn router() -> Router<SimHandle> {
    Router::new()
        .merge(spotify::router())
        .merge(youtube::router())
        .merge(shazam::router())
        .merge(deezer::router())
        .merge(musicbrainz::router())
}

/// `failure` in `provider`'s own error shape.
pub(crate) fn failure(provider: Provider, failure: Failure) -> Response {
    match provider {
        Provider::Spotify => spotify::failure(failure),
        Provider::Youtube => youtube::failure(failure),
        Provider::Shazam => shazam::failure(failure),
        Provider::Deezer => deezer::failure(failure),
        Provider::Musicbrainz => musicbrainz::failure(failure),
    }
}
