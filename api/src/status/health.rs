//! The page's header line: from the report's own numbers, the worst problem first. Critical
//! means searches cannot be answered (no worker on the search queue, no provider of the
//! fallback order callable); degraded means they are, but something needs an operator.

use muze_shared::rate_limit::CircuitState;

use super::report::{Health, HealthLevel, ProviderReport, QueueReport};

/// The header line: the worst problem first.
pub fn judge(providers: &[ProviderReport], queues: &[QueueReport], schedule_valid: bool) -> Health {
    let mut problems: Vec<(HealthLevel, String)> = Vec::new();
    if let Some(search) = queues.iter().find(|q| q.kind == "search") {
        if search.consumers == 0 {
            problems.push((
                HealthLevel::Critical,
                "no worker consumes the search queue".to_string(),
            ));
        }
    }
    let usable = |p: &ProviderReport| {
        p.cooldown_until.is_none()
            && p.recovering_until.is_none()
            && p.circuit != CircuitState::Open
            && p.quota.as_ref().is_none_or(|q| q.left > 0)
    };
    let interactive: Vec<&ProviderReport> = providers
        .iter()
        .filter(|p| p.fallback_position.is_some())
        .collect();
    if !interactive.is_empty() && !interactive.iter().any(|p| usable(p)) {
        problems.push((
            HealthLevel::Critical,
            "no provider of the fallback order can be called now".to_string(),
        ));
    }
    for p in providers
        .iter()
        .filter(|p| p.fallback_position.is_some() || p.calls_in_window > 0)
    {
        let name = p.provider.as_str();
        if p.circuit == CircuitState::Open {
            problems.push((HealthLevel::Degraded, format!("{name}: circuit open")));
        }
        if p.cooldown_until.is_some() {
            problems.push((
                HealthLevel::Degraded,
                format!("{name}: cooling down after a 429"),
            ));
        }
        if p.recovering_until.is_some() {
            problems.push((
                HealthLevel::Degraded,
                format!("{name}: budget state lost, recovering"),
            ));
        }
        if p.quota.as_ref().is_some_and(|q| q.left == 0) {
            problems.push((
                HealthLevel::Degraded,
                format!("{name}: quota spent until its reset"),
            ));
        }
    }
    for q in queues.iter().filter(|q| q.parked > 0) {
        problems.push((
            HealthLevel::Degraded,
            format!("{} parked {} message(s)", q.kind, q.parked),
        ));
    }
    if !schedule_valid {
        problems.push((
            HealthLevel::Degraded,
            "the crawl schedule is invalid".to_string(),
        ));
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    Health {
        level: problems.first().map_or(HealthLevel::Ok, |(l, _)| *l),
        problems: problems.into_iter().map(|(_, p)| p).collect(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};
    use muze_shared::domain::ProviderName;

    use super::*;
    use crate::status::report::CallHistory;

    fn provider(name: ProviderName, in_fallback: bool) -> ProviderReport {
        ProviderReport {
            provider: name,
            fallback_position: in_fallback.then_some(0),
            limit: "10/1s".to_string(),
            window_secs: 1.0,
            effective_limit: 10,
            calls_in_window: 0,
            calls_in_flight: 0,
            reserved_for_interactive: 2,
            cooldown_until: None,
            recovering_until: None,
            circuit: CircuitState::Closed,
            circuit_open_until: None,
            quota: None,
            history: CallHistory {
                bucket_secs: 1.0,
                calls: vec![0; 10],
            },
        }
    }

    fn queue(kind: &'static str, consumers: u64, parked: u64) -> QueueReport {
        QueueReport {
            kind,
            ready: 0,
            delayed: 0,
            parked,
            consumers,
            running: 0,
        }
    }

    #[test]
    fn all_well_is_ok_with_no_problems() {
        let health = judge(
            &[provider(ProviderName::Spotify, true)],
            &[queue("search", 2, 0), queue("crawl", 2, 0)],
            true,
        );
        assert_eq!(health.level, HealthLevel::Ok);
        assert!(health.problems.is_empty());
    }

    #[test]
    fn a_cooling_provider_with_another_usable_is_degraded() {
        let mut spotify = provider(ProviderName::Spotify, true);
        spotify.cooldown_until = Some(Utc::now() + Duration::seconds(30));
        let health = judge(
            &[spotify, provider(ProviderName::Youtube, true)],
            &[queue("search", 1, 0)],
            true,
        );
        assert_eq!(health.level, HealthLevel::Degraded);
        assert_eq!(health.problems, ["spotify: cooling down after a 429"]);
    }

    #[test]
    fn no_callable_provider_or_no_worker_is_critical_and_listed_first() {
        let mut spotify = provider(ProviderName::Spotify, true);
        spotify.circuit = CircuitState::Open;
        let health = judge(&[spotify], &[queue("search", 0, 3)], true);
        assert_eq!(health.level, HealthLevel::Critical);
        assert_eq!(health.problems.len(), 4, "{:?}", health.problems);
        assert!(
            health.problems[..2].iter().all(|p| p.starts_with("no ")),
            "{:?}",
            health.problems
        );
        assert!(health
            .problems
            .contains(&"search parked 3 message(s)".to_string()));
    }

    #[test]
    fn a_provider_outside_the_fallback_order_and_unused_is_not_a_problem() {
        let mut deezer = provider(ProviderName::Deezer, false);
        deezer.circuit = CircuitState::Open;
        let health = judge(
            &[provider(ProviderName::Spotify, true), deezer],
            &[queue("search", 1, 0)],
            true,
        );
        assert_eq!(health.level, HealthLevel::Ok);
    }
}
