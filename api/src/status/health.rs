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
