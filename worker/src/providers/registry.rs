//! The list of providers in force, built once from configuration in fallback order.

use std::sync::Arc;

use muze_shared::{domain::ProviderName, Settings};

use super::{
    deezer::Deezer, musicbrainz::MusicBrainz, shazam::Shazam, spotify::Spotify, youtube::Youtube,
    Provider,
};

/// The Spotify client crawls use, when Spotify is enabled and has credentials.
pub fn crawl_spotify(settings: &Settings) -> Option<Arc<Spotify>> {
    let config = settings.providers.get(ProviderName::Spotify);
    (config.enabled != Some(false))
        .then(|| Spotify::new(config, &settings.search.market))
        .flatten()
        .map(Arc::new)
}

/// The Deezer client crawls use, when Deezer is enabled.
pub fn crawl_deezer(settings: &Settings) -> Option<Arc<Deezer>> {
    let config = settings.providers.get(ProviderName::Deezer);
    (config.enabled != Some(false))
        .then(|| Deezer::new(config))
        .flatten()
        .map(Arc::new)
}

/// Builds the enabled providers named in `order`, in that order. A provider that is switched
/// off, or lacks the credentials it needs, is left out with a log line saying why.
pub fn build_providers(settings: &Settings, order: &[ProviderName]) -> Vec<Arc<dyn Provider>> {
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    for &name in order {
        let config = settings.providers.get(name);
        if config.enabled == Some(false) {
            tracing::info!(provider = %name, "provider disabled by configuration");
            continue;
        }
        let built: Option<Arc<dyn Provider>> = match name {
            ProviderName::Spotify => Spotify::new(config, &settings.search.market)
                .map(|p| Arc::new(p) as Arc<dyn Provider>),
            ProviderName::Youtube => Youtube::new(config).map(|p| Arc::new(p) as Arc<dyn Provider>),
            ProviderName::Shazam => Shazam::new(config).map(|p| Arc::new(p) as Arc<dyn Provider>),
            ProviderName::Deezer => Deezer::new(config).map(|p| Arc::new(p) as Arc<dyn Provider>),
            ProviderName::Musicbrainz => {
                MusicBrainz::new(config).map(|p| Arc::new(p) as Arc<dyn Provider>)
            }
        };
        match built {
            Some(provider) => providers.push(provider),
            None => tracing::warn!(
                provider = %name,
                "provider disabled: its credentials are not configured (MUZE__PROVIDERS__{}__*)",
                name.env_name()
            ),
        }
    }
    providers
}
