//! The Redis limiter script against the real Redis. Instants are passed explicitly so window
//! boundaries are exact; every test has its own namespace.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use muze_shared::{
    domain::ProviderName::{self, Spotify, Youtube},
    rate_limit::{CircuitState, Decision, Outcome, Priority, RateLimiter, WaitReason},
    redis_conn, Settings,
};

async fn limiter(extra: &[(&str, &str)]) -> RateLimiter {
    let ns = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let mut env = vec![
        ("MUZE__NAMESPACE".to_string(), ns),
        (
            "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
            "40/10s".into(),
        ),
        (
            "MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS".into(),
            "200".into(),
        ),
        (
            "MUZE__PROVIDERS__SPOTIFY__RESERVE_PERCENT".into(),
            "25".into(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = Settings::load_from(None, env).expect("settings");
    let redis = redis_conn::Redis::connect(&settings.redis.url)
        .await
        .expect("redis");
    RateLimiter::new(&settings, redis)
}

fn at(t0: DateTime<Utc>, ms: i64) -> Option<DateTime<Utc>> {
    Some(t0 + chrono::Duration::milliseconds(ms))
}

async fn take(
    l: &RateLimiter,
    p: ProviderName,
    prio: Priority,
    now: Option<DateTime<Utc>>,
) -> Decision {
    l.acquire_at(p, prio, now).await.expect("redis answers")
}

fn wait_of(d: Decision) -> (Duration, WaitReason) {
    match d {
        Decision::Wait { wait, reason } => (wait, reason),
        Decision::Granted => panic!("expected a wait, got a grant"),
    }
}

#[tokio::test]
async fn the_window_admits_the_limit_then_answers_the_exact_wait() {
    let l = limiter(&[]).await;
    let t0 = Utc::now();
    for i in 0..40 {
        assert_eq!(
            take(&l, Spotify, Priority::Interactive, at(t0, i * 10)).await,
            Decision::Granted
        );
    }
    // Full: the oldest grant (t0) leaves the 10 s + 200 ms horizon at t0 + 10 200 ms.
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 1_000)).await);
    assert_eq!(reason, WaitReason::WindowFull);
    assert_eq!(wait, Duration::from_millis(9_200));
    assert!(matches!(
        take(&l, Spotify, Priority::Interactive, at(t0, 10_199)).await,
        Decision::Wait { .. }
    ));
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 10_200)).await,
        Decision::Granted
    );
    // Only one slot freed at that instant (the next oldest was granted at t0 + 10 ms).
    let (wait, _) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 10_200)).await);
    assert_eq!(wait, Duration::from_millis(10));
}

#[tokio::test]
async fn background_work_leaves_the_reserve_to_interactive_searches() {
    let l = limiter(&[]).await;
    let t0 = Utc::now();
    let mut background = 0;
    while take(&l, Spotify, Priority::Background, at(t0, background)).await == Decision::Granted {
        background += 1;
    }
    assert_eq!(background, 30, "25 % of 40 is reserved");
    let mut interactive = 0;
    while take(
        &l,
        Spotify,
        Priority::Interactive,
        at(t0, 100 + interactive),
    )
    .await
        == Decision::Granted
    {
        interactive += 1;
    }
    assert_eq!(interactive, 10);
}

#[tokio::test]
async fn a_call_may_cost_more_than_one() {
    let l = limiter(&[("MUZE__PROVIDERS__SPOTIFY__COST", "15")]).await;
    let t0 = Utc::now();
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 0)).await,
        Decision::Granted
    );
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 1)).await,
        Decision::Granted
    );
    // 30 of 40 used: a third call of 15 waits for the first call's 15 units to leave.
    let (wait, _) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 2)).await);
    assert_eq!(wait, Duration::from_millis(10_198));
    let status = l.status(Spotify).await.expect("status");
    assert_eq!(status.calls_in_window, 30);
}

#[tokio::test]
async fn a_429_cools_every_caller_down_for_retry_after() {
    let l = limiter(&[]).await;
    let other_process = limiter(&[]).await; // a different namespace: not affected
    let t0 = Utc::now();
    l.report_at(
        Spotify,
        Outcome::Throttled {
            retry_after: Duration::from_secs(5),
        },
        at(t0, 0),
    )
    .await
    .expect("report");
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 1_000)).await);
    assert_eq!(
        (wait, reason),
        (Duration::from_millis(4_000), WaitReason::Cooldown)
    );
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 5_000)).await,
        Decision::Granted
    );
    assert_eq!(
        take(
            &other_process,
            Spotify,
            Priority::Interactive,
            at(t0, 1_000)
        )
        .await,
        Decision::Granted
    );
}

#[tokio::test]
async fn an_unpublished_limit_drops_on_429_and_climbs_back_slowly() {
    let l = limiter(&[]).await; // Spotify is adaptive by default
    let t0 = Utc::now();
    l.report_at(
        Spotify,
        Outcome::Throttled {
            retry_after: Duration::from_millis(1),
        },
        at(t0, 0),
    )
    .await
    .expect("report");
    assert_eq!(l.status(Spotify).await.expect("status").effective_limit, 32);
    let mut granted = 0;
    while take(&l, Spotify, Priority::Interactive, at(t0, 10 + granted)).await == Decision::Granted
    {
        granted += 1;
    }
    assert_eq!(granted, 32, "the adapted limit is enforced");
    for _ in 0..40 {
        l.report_at(Spotify, Outcome::Ok, at(t0, 100))
            .await
            .expect("report");
    }
    let climbed = l.status(Spotify).await.expect("status").effective_limit;
    assert!(
        climbed > 32 && climbed < 40,
        "climbs back slowly, got {climbed}"
    );
    for _ in 0..400 {
        l.report_at(Spotify, Outcome::Ok, at(t0, 100))
            .await
            .expect("report");
    }
    assert_eq!(
        l.status(Spotify).await.expect("status").effective_limit,
        40,
        "never above the ceiling"
    );
}

#[tokio::test]
async fn repeated_failures_open_the_circuit_then_one_probe_closes_it() {
    let l = limiter(&[("MUZE__PROVIDERS__SPOTIFY__BREAKER_COOLOFF_SECS", "30")]).await;
    let t0 = Utc::now();
    for _ in 0..4 {
        l.report_at(Spotify, Outcome::Transient, at(t0, 0))
            .await
            .expect("report");
    }
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 1)).await,
        Decision::Granted
    );
    l.report_at(Spotify, Outcome::Transient, at(t0, 2))
        .await
        .expect("report");
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 1_002)).await);
    assert_eq!(
        (wait, reason),
        (Duration::from_secs(29), WaitReason::CircuitOpen)
    );
    assert_eq!(
        l.status(Spotify).await.expect("status").circuit,
        CircuitState::Open
    );
    // Cool-off over: exactly one caller probes; the others keep skipping.
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 30_002)).await,
        Decision::Granted
    );
    let (_, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 30_003)).await);
    assert_eq!(reason, WaitReason::CircuitOpen);
    l.report_at(Spotify, Outcome::Ok, at(t0, 30_100))
        .await
        .expect("report");
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 30_101)).await,
        Decision::Granted
    );
    assert_eq!(
        l.status(Spotify).await.expect("status").circuit,
        CircuitState::Closed
    );
}

#[tokio::test]
async fn a_failed_probe_opens_the_circuit_again() {
    let l = limiter(&[]).await;
    let t0 = Utc::now();
    for _ in 0..5 {
        l.report_at(Spotify, Outcome::Transient, at(t0, 0))
            .await
            .expect("report");
    }
    assert_eq!(
        take(&l, Spotify, Priority::Interactive, at(t0, 30_000)).await,
        Decision::Granted
    );
    l.report_at(Spotify, Outcome::Transient, at(t0, 30_050))
        .await
        .expect("report");
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 30_051)).await);
    assert_eq!(
        (wait, reason),
        (Duration::from_millis(29_999), WaitReason::CircuitOpen)
    );
}

#[tokio::test]
async fn a_daily_quota_is_spent_until_midnight_in_the_providers_zone() {
    let l = limiter(&[
        ("MUZE__PROVIDERS__YOUTUBE__DAILY_QUOTA", "3"),
        ("MUZE__PROVIDERS__YOUTUBE__RATE_LIMIT", "1000/1s"),
    ])
    .await;
    // 23:59:00 in Los Angeles (PST) on 27 Nov 2026, wherever this test runs.
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 28, 7, 59, 0)
        .single()
        .expect("instant");
    for i in 0..3 {
        assert_eq!(
            take(&l, Youtube, Priority::Interactive, at(t0, i)).await,
            Decision::Granted
        );
    }
    let (wait, reason) = wait_of(take(&l, Youtube, Priority::Interactive, at(t0, 3)).await);
    assert_eq!(reason, WaitReason::QuotaExhausted);
    assert_eq!(wait, Duration::from_millis(59_997), "until 00:00 Pacific");
    // A new local day has a new quota.
    assert_eq!(
        take(&l, Youtube, Priority::Interactive, at(t0, 60_000)).await,
        Decision::Granted
    );
}

#[tokio::test]
async fn concurrent_processes_never_get_more_than_the_limit_in_a_window() {
    // Eight independent connections (as eight processes would have) race for 20 per 1 s.
    let ns = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let mut handles = Vec::new();
    for _ in 0..8 {
        let ns = ns.clone();
        handles.push(tokio::spawn(async move {
            let env = vec![
                ("MUZE__NAMESPACE".to_string(), ns),
                (
                    "MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT".into(),
                    "20/1s".into(),
                ),
                (
                    "MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS".into(),
                    "0".into(),
                ),
            ];
            let settings = Settings::load_from(None, env).expect("settings");
            let l = RateLimiter::new(
                &settings,
                redis_conn::Redis::connect(&settings.redis.url)
                    .await
                    .expect("redis"),
            );
            let mut grants = Vec::new();
            let until = std::time::Instant::now() + Duration::from_millis(2_500);
            while std::time::Instant::now() < until {
                match l
                    .acquire(Spotify, Priority::Interactive)
                    .await
                    .expect("acquire")
                {
                    Decision::Granted => grants.push(std::time::Instant::now()),
                    Decision::Wait { wait, .. } => {
                        tokio::time::sleep(wait.min(Duration::from_millis(20))).await
                    }
                }
            }
            grants
        }));
    }
    let mut grants = Vec::new();
    for h in handles {
        grants.extend(h.await.expect("task"));
    }
    grants.sort();
    // Grant instants seen here trail Redis's by a little; allow 10 ms of that skew.
    for (i, t) in grants.iter().enumerate() {
        let within = grants[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < Duration::from_millis(990))
            .count();
        assert!(within <= 20, "{within} grants within one window");
    }
    assert!(
        grants.len() >= 50,
        "three windows' worth expected, got {}",
        grants.len()
    );
}
