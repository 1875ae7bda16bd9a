//! Builds the providers of the one provider list (`list.rs`, whose lines become `REGISTRY`):
//! each line names a provider and builds its client from its settings, as a search provider
//! and, when it has one, a crawler. Nothing else in the worker names a provider; adding one is
//! adding its module and its line to the list.

use std::{collections::BTreeMap, sync::Arc};

use muze_shared::{config::ProviderSettings, domain::ProviderName, Settings};

use super::{Crawler, Provider, REGISTRY};

/// The crawlers in force on this worker, by provider.
pub type Crawlers = BTreeMap<ProviderName, Arc<dyn Crawler>>;

/// A provider's client, as the search fallback and (if it crawls) the crawl use it.
pub(super) struct Built {
    search: Arc<dyn Provider>,
    crawler: Option<Arc<dyn Crawler>>,
}

impl Built {
    /// A provider that only answers searches.
    pub(super) fn searching(provider: impl Provider + 'static) -> Built {
        Built {
            search: Arc::new(provider),
            crawler: None,
        }
    }

    /// A provider that answers searches and walks new releases.
    pub(super) fn crawling(provider: impl Provider + Crawler + 'static) -> Built {
        let provider = Arc::new(provider);
        Built {
            search: provider.clone(),
            crawler: Some(provider),
        }
    }
}

/// Builds a provider's client from the settings; `None` when it lacks the credentials it needs.
pub(super) type Build = fn(&Settings, &ProviderSettings) -> Option<Built>;

/// Builds `name`'s client unless configuration switched it off.
fn build(settings: &Settings, name: ProviderName) -> Result<Option<Built>, &'static str> {
    let config = settings.providers.get(name);
    if config.enabled == Some(false) {
        return Err("provider disabled by configuration");
    }
    Ok(REGISTRY
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, build)| build(settings, config)))
}

/// Builds the enabled providers named in `order`, in that order. A provider that is switched
/// off, or lacks the credentials it needs, is left out with a log line saying why.
pub fn build_providers(settings: &Settings, order: &[ProviderName]) -> Vec<Arc<dyn Provider>> {
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    for &name in order {
        match build(settings, name) {
            Ok(Some(built)) => providers.push(built.search),
            Ok(None) => tracing::warn!(
                provider = %name,
                "provider disabled: its credentials are not configured (MUZE__PROVIDERS__{}__*)",
                name.env_name()
            ),
            Err(why) => tracing::info!(provider = %name, "{why}"),
        }
    }
    providers
}

/// The crawlers of every enabled provider that has one and its credentials.
pub fn build_crawlers(settings: &Settings) -> Crawlers {
    REGISTRY
        .iter()
        .filter_map(|&(name, _)| {
            let crawler = build(settings, name).ok()??.crawler?;
            Some((name, crawler))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_one_line() {
        for name in ProviderName::ALL {
            let lines = REGISTRY.iter().filter(|(n, _)| *n == name).count();
            assert_eq!(lines, 1, "{name}");
        }
    }

    #[test]
    fn every_provider_has_a_sim_module_under_the_urls_its_tests_point_at() {
        let sim: Vec<&str> = muze_sim::Provider::ALL.iter().map(|p| p.as_str()).collect();
        let ours: Vec<&str> = ProviderName::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            ours, sim,
            "the provider list and the sim's list name the same providers"
        );
        for (name, sim) in ProviderName::ALL.into_iter().zip(muze_sim::Provider::ALL) {
            let env = name.sim_env("http://sim", "1/1s");
            let base_url = &env
                .iter()
                .find(|(k, _)| k.ends_with("__BASE_URL"))
                .expect("a base URL")
                .1;
            assert_eq!(
                *base_url,
                format!("http://sim{}", sim.base_path()),
                "{name}"
            );
        }
    }

    #[test]
    fn spotify_and_deezer_crawl_and_need_what_they_always_needed() {
        let settings = muze_shared::Settings::load_from(
            None,
            [(
                "MUZE__PROVIDERS__DEEZER__ENABLED".to_string(),
                "true".to_string(),
            )],
        )
        .expect("settings");
        // Spotify has no credentials here; Deezer needs none.
        let crawlers = build_crawlers(&settings);
        assert_eq!(
            crawlers.keys().copied().collect::<Vec<_>>(),
            [ProviderName::Deezer]
        );
        let settings = muze_shared::Settings::load_from(
            None,
            [
                ("MUZE__PROVIDERS__SPOTIFY__CLIENT_ID", "id"),
                ("MUZE__PROVIDERS__SPOTIFY__CLIENT_SECRET", "secret"),
                ("MUZE__PROVIDERS__DEEZER__ENABLED", "false"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .expect("settings");
        let crawlers = build_crawlers(&settings);
        assert_eq!(
            crawlers.keys().copied().collect::<Vec<_>>(),
            [ProviderName::Spotify]
        );
    }
}
