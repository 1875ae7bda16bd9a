//! Every process of a running fleet serves `/metrics`, and after a small load each family
//! is there with the numbers the load implies: jobs finished per search posted, catalog hits
//! per repeat, one joiner, one 429, one expired and one stranded job, one parked message, the
//! scheduler's
//! ticks, and the fleet gauges (queues, budgets, crawl pages) sampled by the API.

mod fleet;

use fleet::{small_load, total, Fleet, Scrape};
use muze_shared::metric_families as m;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_small_load_every_process_exports_each_family_with_counts_that_match() {
    let fleet = Fleet::start(2, 300).await;

    let load = small_load(&fleet).await;

    let api = Scrape::of(&fleet.http, &fleet.api_url).await;
    let workers = fleet.scrape_workers().await;
    let scheduler = Scrape::of(&fleet.http, &fleet.scheduler_ops).await;
    let n = |x: u64| x as f64;

    // The API: requests, catalog hits and misses, joiners, long-polls.
    let posted = [("route", "/v1/searches"), ("method", "POST")];
    let accepted = [posted[0], posted[1], ("status", "202")];
    let answered = [posted[0], posted[1], ("status", "200")];
    assert_eq!(
        api.value(m::HTTP_REQUESTS, &accepted),
        n(load.searches + load.joined)
    );
    assert_eq!(api.value(m::HTTP_REQUESTS, &answered), n(load.repeats));
    assert_eq!(
        api.value(&format!("{}_count", m::HTTP_REQUEST_DURATION), &accepted),
        n(load.searches + load.joined)
    );
    assert!(
        api.sum(&format!("{}_bucket", m::HTTP_REQUEST_DURATION), &[])
            .is_some(),
        "buckets"
    );
    assert_eq!(
        api.value(m::CATALOG_LOOKUPS, &[("result", "hit")]),
        n(load.repeats)
    );
    assert_eq!(
        api.value(m::CATALOG_LOOKUPS, &[("result", "miss")]),
        n(load.searches + load.joined)
    );
    assert_eq!(api.value(m::SEARCHES_JOINED, &[]), n(load.joined));
    assert_eq!(
        api.value(m::LONG_POLL_WAITERS, &[]),
        0.0,
        "no long-poll is left waiting"
    );

    // The fleet gauges, sampled by the API.
    assert_eq!(api.value(m::QUEUE_CONSUMERS, &[("kind", "search")]), 2.0);
    assert_eq!(api.value(m::QUEUE_CONSUMERS, &[("kind", "crawl")]), 2.0);
    let search_queue =
        |state| api.value(m::QUEUE_MESSAGES, &[("kind", "search"), ("state", state)]);
    assert_eq!(search_queue("parked"), n(load.parked));
    assert_eq!(search_queue("ready"), 0.0);
    assert_eq!(search_queue("delayed"), 0.0);
    let spotify = [("provider", "spotify")];
    let limit = api.value(m::BUDGET_LIMIT, &spotify);
    assert!(
        (1.0..1000.0).contains(&limit),
        "Spotify's adaptive limit came down from 1000 after the 429: {limit}"
    );
    // Every answered Spotify call of the last 30 s is in the window (the throttled one may
    // or may not be, by how its slot is accounted).
    let in_window = api.value(m::BUDGET_CALLS_IN_WINDOW, &spotify);
    assert!(
        (n(load.answered())..=n(load.answered() + load.throttled)).contains(&in_window),
        "calls in Spotify's window: {in_window}"
    );
    assert_eq!(api.value(m::BUDGET_CALLS_IN_FLIGHT, &spotify), 0.0);
    assert!(api.value(m::BUDGET_RESERVED, &spotify) < 1000.0);
    let cooldown = api.value(m::BUDGET_COOLDOWN, &spotify);
    assert!(
        (0.0..=1.0).contains(&cooldown),
        "the 1 s cooldown is over or ending: {cooldown}"
    );
    assert_eq!(
        api.value(m::BUDGET_BREAKER, &[spotify[0], ("state", "closed")]),
        1.0
    );
    assert_eq!(
        api.value(m::BUDGET_BREAKER, &[spotify[0], ("state", "open")]),
        0.0
    );
    let youtube = [("provider", "youtube")];
    assert_eq!(api.value(m::BUDGET_QUOTA_LIMIT, &youtube), 10000.0);
    assert_eq!(
        api.value(m::BUDGET_QUOTA_LEFT, &youtube),
        10000.0,
        "never searched"
    );
    assert!(
        api.sum(m::CRAWL_PAGES, &[("state", "pending")]).is_some(),
        "crawl pages"
    );
    assert_eq!(api.sum(m::FLEET_SAMPLE_FAILURES, &[]).unwrap_or(0.0), 0.0);

    // The workers (summed): one finished job per search posted, POST → final latency.
    let search_jobs = |status| {
        total(
            &workers,
            m::JOBS_FINISHED,
            &[("kind", "search"), ("status", status)],
        )
    };
    assert_eq!(search_jobs("succeeded"), n(load.answered()));
    assert_eq!(search_jobs("failed"), n(load.expired));
    let latency_count = |status| {
        total(
            &workers,
            &format!("{}_count", m::SEARCH_LATENCY),
            &[("status", status)],
        )
    };
    assert_eq!(latency_count("succeeded"), n(load.answered()));
    assert_eq!(latency_count("failed"), n(load.expired));
    let latency_sum = total(
        &workers,
        &format!("{}_sum", m::SEARCH_LATENCY),
        &[("status", "succeeded")],
    );
    assert!(
        latency_sum >= 0.3 * n(load.answered()),
        "each search waited at least the sim's 300 ms: {latency_sum}"
    );
    let within_two_minutes = total(
        &workers,
        &format!("{}_bucket", m::SEARCH_LATENCY),
        &[("status", "succeeded"), ("le", "120")],
    );
    assert_eq!(
        within_two_minutes,
        n(load.answered()),
        "a real histogram with buckets"
    );
    assert!(total(&workers, m::JOBS_FINISHED, &[("kind", "crawl_page")]) >= 1.0);

    // Provider calls: the answers, the 429, their latency.
    let calls = |outcome| {
        total(
            &workers,
            m::PROVIDER_CALLS,
            &[spotify[0], ("outcome", outcome)],
        )
    };
    assert_eq!(calls("ok"), n(load.answered()));
    assert_eq!(calls("rate_limited"), n(load.throttled));
    assert_eq!(
        total(
            &workers,
            m::PROVIDER_THROTTLED,
            &[spotify[0], ("reason", "rate_limited")]
        ),
        n(load.throttled)
    );
    let interactive = [spotify[0], ("priority", "interactive")];
    assert_eq!(
        total(
            &workers,
            &format!("{}_count", m::PROVIDER_CALL_DURATION),
            &interactive
        ),
        n(load.answered() + load.throttled)
    );
    assert_eq!(
        total(&workers, m::LIMITER_GRANTS, &interactive),
        n(load.answered() + load.throttled)
    );
    assert!(
        total(
            &workers,
            &format!("{}_count", m::PROVIDER_CALL_DURATION),
            &[("provider", "deezer"), ("priority", "background")]
        ) >= 1.0,
        "the crawl's calls are timed too"
    );

    // Parking and the sweeper.
    assert_eq!(total(&workers, m::MESSAGES_PARKED, &[]), n(load.parked));
    assert_eq!(
        total(
            &workers,
            m::SWEEPER_REPAIRS,
            &[("repair", "expired_search")]
        ),
        n(load.expired)
    );
    assert_eq!(
        total(
            &workers,
            m::SWEEPER_REPAIRS,
            &[("repair", "stranded_search")]
        ),
        n(load.stranded)
    );

    // The scheduler: ticks fired (every 5 s) and when the next is due.
    assert!(scheduler.value(m::TICKS_FIRED, &[("schedule", "crawl")]) >= 1.0);
    let next = scheduler.value(m::NEXT_TICK, &[("schedule", "crawl")]);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 10.0..=now + 10.0).contains(&next),
        "next tick at {next}, now {now}"
    );

    // Every family explains itself.
    for family in [
        m::HTTP_REQUESTS,
        m::HTTP_REQUEST_DURATION,
        m::CATALOG_LOOKUPS,
        m::QUEUE_MESSAGES,
        m::BUDGET_LIMIT,
    ] {
        assert!(api.has_help(family), "HELP for {family}");
    }
    for family in [
        m::JOBS_FINISHED,
        m::SEARCH_LATENCY,
        m::PROVIDER_CALL_DURATION,
        m::SWEEPER_REPAIRS,
    ] {
        // A family is rendered, HELP included, once it has a sample in that process.
        assert!(
            workers.iter().any(|w| w.has_help(family)),
            "HELP for {family}"
        );
    }
    assert!(scheduler.has_help(m::TICKS_FIRED) && scheduler.has_help(m::NEXT_TICK));
    for base in fleet
        .worker_ops
        .iter()
        .chain([&fleet.scheduler_ops, &fleet.api_url])
    {
        let health = fleet
            .http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status().as_u16(), 200, "{base}/healthz");
    }
}
