//! The Redis limiter scripts against the real Redis and Postgres. Instants are passed
//! explicitly so window boundaries are exact; every test has its own budget and database,
//! removed when it ends, passed or not.

use std::{process::Command, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use muze_shared::{
    db,
    domain::ProviderName::{self, Spotify, Youtube},
    rate_limit::{CircuitState, Decision, Grant, Outcome, Priority, RateLimiter, WaitReason},
    redis_conn, Settings,
};

/// One test's world: a database and a budget name of its own, removed on drop (even when the
/// test panics), and limiters on them as separate processes would hold.
struct Lab {
    namespace: String,
    database: String,
    redis_url: String,
}

impl Lab {
    fn new() -> Lab {
        let namespace = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        Lab {
            database: format!("muze_test_{namespace}"),
            namespace,
            redis_url: "redis://127.0.0.1:6379".into(),
        }
    }

    fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        let mut env: Vec<(String, String)> = vec![
            ("MUZE__NAMESPACE".into(), self.namespace.clone()),
            (
                "MUZE__DATABASE__URL".into(),
                format!("postgres://postgres@127.0.0.1:5432/{}", self.database),
            ),
            ("MUZE__REDIS__URL".into(), self.redis_url.clone()),
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
        env.extend(ProviderName::ALL.map(|p| {
            (
                format!("MUZE__PROVIDERS__{}__BUDGET_KEY", p.env_name()),
                self.namespace.clone(),
            )
        }));
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v.to_string()));
        }
        env.retain(|(_, v)| !v.is_empty());
        Settings::load_from(None, env).expect("settings")
    }

    /// A limiter as one process has it, with `extra` settings.
    async fn limiter(&self, extra: &[(&str, &str)]) -> RateLimiter {
        let settings = self.settings(extra);
        let redis = redis_conn::Redis::connect(&settings.redis.url)
            .await
            .expect("redis");
        let pool = db::connect(&settings.database.url, 2)
            .await
            .expect("postgres");
        RateLimiter::new(&settings, redis, pool)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-q", "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.database
            ))
            .output();
        for p in ProviderName::ALL {
            for part in ["log", "inflight", "state", "declared"] {
                let _ = Command::new("redis-cli")
                    .args(["-u", &self.redis_url, "DEL"])
                    .arg(format!("{{muze:budget:{p}:{}}}:{part}", self.namespace))
                    .output();
            }
        }
    }
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

fn granted(d: Decision) -> Grant {
    match d {
        Decision::Granted(grant) => grant,
        Decision::Wait { wait, reason } => {
            panic!("expected a grant, got a wait of {wait:?} ({reason:?})")
        }
    }
}

fn wait_of(d: Decision) -> (Duration, WaitReason) {
    match d {
        Decision::Wait { wait, reason } => (wait, reason),
        Decision::Granted(_) => panic!("expected a wait, got a grant"),
    }
}

/// Takes a grant at `ms` and reports its call answered `answered_after` later.
async fn call(
    l: &RateLimiter,
    p: ProviderName,
    t0: DateTime<Utc>,
    ms: i64,
    answered_after: i64,
) -> Grant {
    let grant = granted(take(l, p, Priority::Interactive, at(t0, ms)).await);
    l.report_at(&grant, Outcome::Ok, at(t0, ms + answered_after))
        .await
        .expect("report");
    grant
}

#[tokio::test]
async fn the_window_admits_the_limit_then_answers_the_exact_wait() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await;
    let t0 = Utc::now();
    for i in 0..40 {
        call(&l, Spotify, t0, i * 10, 50).await;
    }
    // Full: the first call's response (t0 + 50 ms, + 200 ms margin) leaves the 10 s window
    // after t0 + 10 250 ms.
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 1_000)).await);
    assert_eq!(reason, WaitReason::WindowFull);
    assert_eq!(wait, Duration::from_millis(9_251));
    assert!(matches!(
        take(&l, Spotify, Priority::Interactive, at(t0, 10_250)).await,
        Decision::Wait { .. }
    ));
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 10_251)).await);
    // Only one slot freed at that instant (the next call was answered 10 ms later).
    let (wait, _) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 10_251)).await);
    assert_eq!(wait, Duration::from_millis(10));
}

#[tokio::test]
async fn a_slot_leaves_the_window_one_window_after_the_response_not_the_grant() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "1/10s"),
            ("MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS", "0"),
        ])
        .await;
    let t0 = Utc::now();
    // A slow call: granted at t0, its response came back 1.5 s later. The provider may have
    // counted it as late as that.
    call(&l, Spotify, t0, 0, 1_500).await;
    // One window after the grant, the slow call's slot is still held...
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 10_002)).await);
    assert_eq!(reason, WaitReason::WindowFull);
    assert_eq!(wait, Duration::from_millis(1_499));
    // ...until one window after its response.
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 11_501)).await);
}

#[tokio::test]
async fn an_unreported_call_keeps_its_slot_until_its_timeout_has_surely_passed() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "1/10s"),
            ("MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS", "0"),
            ("MUZE__PROVIDERS__SPOTIFY__TIMEOUT_MS", "5000"),
        ])
        .await;
    let t0 = Utc::now();
    // Granted, then the worker died: no report ever comes. The call may have reached the
    // provider up to its 5 s timeout plus 1 s of grace after the grant.
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 0)).await);
    let status = l.status(Spotify).await.expect("status");
    assert_eq!(status.calls_in_flight, 1);
    let (wait, _) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 10_001)).await);
    assert_eq!(wait, Duration::from_millis(6_000));
    assert!(matches!(
        take(&l, Spotify, Priority::Interactive, at(t0, 16_000)).await,
        Decision::Wait { .. }
    ));
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 16_001)).await);
}

#[tokio::test]
async fn a_call_that_timed_out_is_not_taken_as_answered() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "1/10s"),
            ("MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS", "0"),
            ("MUZE__PROVIDERS__SPOTIFY__TIMEOUT_MS", "5000"),
        ])
        .await;
    let t0 = Utc::now();
    let grant = granted(take(&l, Spotify, Priority::Interactive, at(t0, 0)).await);
    l.report_at(&grant, Outcome::Transient, at(t0, 5_000))
        .await
        .expect("report");
    // The request may still be on its way: its slot is held as if never reported.
    let (wait, _) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 15_000)).await);
    assert_eq!(wait, Duration::from_millis(1_001));
    assert_eq!(l.status(Spotify).await.expect("status").calls_in_flight, 0);
}

#[tokio::test]
async fn grant_time_accounting_frees_the_slot_one_window_plus_margin_after_the_grant() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[
            ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "1/10s"),
            ("MUZE__LIMITER__ACCOUNTING", "grant"),
        ])
        .await;
    let t0 = Utc::now();
    call(&l, Spotify, t0, 0, 3_000).await;
    let (wait, _) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 10_000)).await);
    assert_eq!(
        wait,
        Duration::from_millis(201),
        "the late response is ignored"
    );
}

#[tokio::test]
async fn background_work_leaves_the_reserve_to_interactive_searches() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await;
    let t0 = Utc::now();
    let mut background = 0;
    while let Decision::Granted(_) =
        take(&l, Spotify, Priority::Background, at(t0, background)).await
    {
        background += 1;
    }
    assert_eq!(background, 30, "25 % of 40 is reserved");
    let mut interactive = 0;
    while let Decision::Granted(_) = take(
        &l,
        Spotify,
        Priority::Interactive,
        at(t0, 100 + interactive),
    )
    .await
    {
        interactive += 1;
    }
    assert_eq!(interactive, 10);
}

#[tokio::test]
async fn a_call_may_cost_more_than_one() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[("MUZE__PROVIDERS__SPOTIFY__COST", "15")])
        .await;
    let t0 = Utc::now();
    call(&l, Spotify, t0, 0, 0).await;
    call(&l, Spotify, t0, 1, 0).await;
    // 30 of 40 used: a third call of 15 waits for the first call's 15 units to leave.
    let (wait, _) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 2)).await);
    assert_eq!(wait, Duration::from_millis(10_199));
    let status = l.status(Spotify).await.expect("status");
    assert_eq!(status.calls_in_window, 30);
    assert_eq!(status.calls_in_flight, 0);
}

#[tokio::test]
async fn a_429_cools_every_user_of_the_budget_down_for_retry_after() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await;
    let same_budget_elsewhere = lab.limiter(&[("MUZE__NAMESPACE", "staging")]).await;
    let other_budget = lab
        .limiter(&[("MUZE__PROVIDERS__SPOTIFY__BUDGET_KEY", "")])
        .await;
    let t0 = Utc::now();
    let grant = granted(take(&l, Spotify, Priority::Interactive, at(t0, 0)).await);
    l.report_at(
        &grant,
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
    let (_, reason) = wait_of(
        take(
            &same_budget_elsewhere,
            Spotify,
            Priority::Interactive,
            at(t0, 1_000),
        )
        .await,
    );
    assert_eq!(
        reason,
        WaitReason::Cooldown,
        "another namespace, one budget"
    );
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 5_000)).await);
    let other = granted(take(&other_budget, Spotify, Priority::Interactive, at(t0, 1_000)).await);
    other_budget
        .report_at(&other, Outcome::Ok, at(t0, 1_000))
        .await
        .expect("report");
    other_budget.forget(Spotify).await.expect("clean up");
}

#[tokio::test]
async fn an_unpublished_limit_drops_on_429_and_climbs_back_slowly() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await; // Spotify is adaptive by default
    let t0 = Utc::now();
    let grant = granted(take(&l, Spotify, Priority::Interactive, at(t0, 0)).await);
    l.report_at(
        &grant,
        Outcome::Throttled {
            retry_after: Duration::from_millis(1),
        },
        at(t0, 0),
    )
    .await
    .expect("report");
    assert_eq!(l.status(Spotify).await.expect("status").effective_limit, 32);
    let mut granted_calls = 1;
    while let Decision::Granted(_) = take(
        &l,
        Spotify,
        Priority::Interactive,
        at(t0, 10 + granted_calls),
    )
    .await
    {
        granted_calls += 1;
    }
    assert_eq!(granted_calls, 32, "the adapted limit is enforced");
    // Successes (reported here on one grant: each report counts as one answer).
    for _ in 0..40 {
        l.report_at(&grant, Outcome::Ok, at(t0, 100))
            .await
            .expect("report");
    }
    let climbed = l.status(Spotify).await.expect("status").effective_limit;
    assert!(
        climbed > 32 && climbed < 40,
        "climbs back slowly, got {climbed}"
    );
    for _ in 0..400 {
        l.report_at(&grant, Outcome::Ok, at(t0, 100))
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
    let lab = Lab::new();
    let l = lab
        .limiter(&[("MUZE__PROVIDERS__SPOTIFY__BREAKER_COOLOFF_SECS", "30")])
        .await;
    let t0 = Utc::now();
    for i in 0..4 {
        let grant = granted(take(&l, Spotify, Priority::Interactive, at(t0, i)).await);
        l.report_at(&grant, Outcome::Transient, at(t0, i))
            .await
            .expect("report");
    }
    let grant = granted(take(&l, Spotify, Priority::Interactive, at(t0, 4)).await);
    l.report_at(&grant, Outcome::Transient, at(t0, 5))
        .await
        .expect("report");
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 1_005)).await);
    assert_eq!(
        (wait, reason),
        (Duration::from_secs(29), WaitReason::CircuitOpen)
    );
    assert_eq!(
        l.status(Spotify).await.expect("status").circuit,
        CircuitState::Open
    );
    // Cool-off over: exactly one caller probes; the others keep skipping.
    let probe = granted(take(&l, Spotify, Priority::Interactive, at(t0, 30_005)).await);
    let (_, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 30_006)).await);
    assert_eq!(reason, WaitReason::CircuitOpen);
    l.report_at(&probe, Outcome::Ok, at(t0, 30_100))
        .await
        .expect("report");
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 30_101)).await);
    assert_eq!(
        l.status(Spotify).await.expect("status").circuit,
        CircuitState::Closed
    );
}

#[tokio::test]
async fn a_failed_probe_opens_the_circuit_again() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await;
    let t0 = Utc::now();
    for i in 0..5 {
        let grant = granted(take(&l, Spotify, Priority::Interactive, at(t0, i)).await);
        l.report_at(&grant, Outcome::Transient, at(t0, i))
            .await
            .expect("report");
    }
    let probe = granted(take(&l, Spotify, Priority::Interactive, at(t0, 30_004)).await);
    l.report_at(&probe, Outcome::Transient, at(t0, 30_050))
        .await
        .expect("report");
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 30_051)).await);
    assert_eq!(
        (wait, reason),
        (Duration::from_millis(29_999), WaitReason::CircuitOpen)
    );
}

/// 23:59:00 in Los Angeles (PST) on 27 Nov 2026, wherever the test runs.
fn before_pacific_midnight() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 7, 59, 0)
        .single()
        .expect("instant")
}

#[tokio::test]
async fn a_daily_quota_is_spent_until_midnight_in_the_providers_zone() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[
            ("MUZE__PROVIDERS__YOUTUBE__DAILY_QUOTA", "3"),
            ("MUZE__PROVIDERS__YOUTUBE__RATE_LIMIT", "1000/1s"),
        ])
        .await;
    let t0 = before_pacific_midnight();
    for i in 0..3 {
        call(&l, Youtube, t0, i, 0).await;
    }
    let (wait, reason) = wait_of(take(&l, Youtube, Priority::Interactive, at(t0, 3)).await);
    assert_eq!(reason, WaitReason::QuotaExhausted);
    assert_eq!(wait, Duration::from_millis(59_997), "until 00:00 Pacific");
    // A new local day has a new quota.
    granted(take(&l, Youtube, Priority::Interactive, at(t0, 60_000)).await);
}

#[tokio::test]
async fn a_first_start_on_an_empty_redis_grants_at_once() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await;
    granted(take(&l, Spotify, Priority::Interactive, None).await);
    let status = l.status(Spotify).await.expect("status");
    assert_eq!(status.recovering_until, None);
}

#[tokio::test]
async fn a_lost_window_is_waited_out_before_anything_is_granted() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[("MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS", "0")])
        .await;
    let t0 = Utc::now();
    for i in 0..40 {
        call(&l, Spotify, t0, i, 20).await;
    }
    // Redis forgets everything of this budget (restart without persistence, FLUSH, failover).
    l.forget(Spotify).await.expect("delete");
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 100)).await);
    assert_eq!(reason, WaitReason::Recovering);
    // One window, plus the longest a call granted just before the loss can take to arrive
    // (its 5 s timeout and 1 s of grace).
    assert_eq!(wait, Duration::from_millis(16_000));
    let status = l.status(Spotify).await.expect("status");
    assert!(status.recovering_until.is_some());
    let (_, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 16_099)).await);
    assert_eq!(reason, WaitReason::Recovering);
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 16_100)).await);
}

#[tokio::test]
async fn a_log_evicted_alone_is_noticed_too() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await;
    let t0 = Utc::now();
    call(&l, Spotify, t0, 0, 10).await;
    let log = l.redis_keys(Spotify)[0].clone();
    let redis = redis_conn::Redis::connect(&lab.settings(&[]).redis.url)
        .await
        .expect("redis");
    redis
        .run(|mut c| async move { redis::cmd("DEL").arg(log).query_async::<i64>(&mut c).await })
        .await
        .expect("delete");
    let (_, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 20)).await);
    assert_eq!(reason, WaitReason::Recovering);
}

#[tokio::test]
async fn a_running_retry_after_survives_redis_losing_the_budget() {
    let lab = Lab::new();
    let l = lab.limiter(&[]).await;
    let t0 = Utc::now();
    let grant = granted(take(&l, Spotify, Priority::Interactive, at(t0, 0)).await);
    l.report_at(
        &grant,
        Outcome::Throttled {
            retry_after: Duration::from_secs(3_600),
        },
        at(t0, 0),
    )
    .await
    .expect("report");
    l.forget(Spotify).await.expect("delete");
    // Long after the window would have been waited out, the cooldown still holds.
    let (wait, reason) = wait_of(take(&l, Spotify, Priority::Interactive, at(t0, 60_000)).await);
    assert_eq!(reason, WaitReason::Cooldown);
    assert_eq!(wait, Duration::from_millis(3_540_000));
    granted(take(&l, Spotify, Priority::Interactive, at(t0, 3_600_000)).await);
}

#[tokio::test]
async fn a_spent_daily_quota_survives_redis_losing_the_budget() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[
            ("MUZE__PROVIDERS__YOUTUBE__DAILY_QUOTA", "3"),
            ("MUZE__PROVIDERS__YOUTUBE__RATE_LIMIT", "1000/1s"),
        ])
        .await;
    let t0 = before_pacific_midnight() - chrono::Duration::hours(2);
    for i in 0..3 {
        call(&l, Youtube, t0, i, 0).await;
    }
    l.forget(Youtube).await.expect("delete");
    // The day's calls come back from Postgres: nothing more until the local reset.
    let (wait, reason) = wait_of(take(&l, Youtube, Priority::Interactive, at(t0, 10)).await);
    assert_eq!(reason, WaitReason::QuotaExhausted);
    assert_eq!(wait, Duration::from_millis(2 * 3_600_000 + 60_000 - 10));
    granted(
        take(
            &l,
            Youtube,
            Priority::Interactive,
            at(t0, 2 * 3_600_000 + 60_000),
        )
        .await,
    );
}

#[tokio::test]
async fn a_long_window_is_rebuilt_call_by_call_instead_of_waited_out() {
    let lab = Lab::new();
    let l = lab
        .limiter(&[
            ("MUZE__PROVIDERS__SHAZAM__RATE_LIMIT", "3/1h"),
            ("MUZE__PROVIDERS__SHAZAM__API_KEY", "k"),
        ])
        .await;
    let t0 = Utc::now();
    call(&l, ProviderName::Shazam, t0, 0, 10).await;
    call(&l, ProviderName::Shazam, t0, 1_000, 10).await;
    l.forget(ProviderName::Shazam).await.expect("delete");
    // Not an hour of waiting: the two calls are known, one more fits.
    granted(
        take(
            &l,
            ProviderName::Shazam,
            Priority::Interactive,
            at(t0, 2_000),
        )
        .await,
    );
    let (_, reason) = wait_of(
        take(
            &l,
            ProviderName::Shazam,
            Priority::Interactive,
            at(t0, 2_001),
        )
        .await,
    );
    assert_eq!(reason, WaitReason::WindowFull);
}

#[tokio::test]
async fn the_strictest_declared_limit_binds_every_user_of_a_budget() {
    let lab = Lab::new();
    let generous = lab
        .limiter(&[("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "10/10s")])
        .await;
    let strict = lab
        .limiter(&[("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "5/10s")])
        .await;
    let t0 = Utc::now();
    call(&strict, Spotify, t0, 0, 0).await;
    let mut more = 0;
    while let Decision::Granted(_) =
        take(&generous, Spotify, Priority::Interactive, at(t0, 1 + more)).await
    {
        more += 1;
    }
    assert_eq!(
        more, 4,
        "the 5/10s declaration holds for the 10/10s process too"
    );
    let status = generous.status(Spotify).await.expect("status");
    assert_eq!(status.declared_limits, vec!["10/10s", "5/10s"]);
    generous
        .check_declarations(&[Spotify])
        .await
        .expect("declarations read");
}

#[tokio::test]
async fn concurrent_processes_never_get_more_than_the_limit_in_a_window() {
    // Eight independent connections (as eight processes would have) race for 20 per 1 s.
    let lab = Lab::new();
    let lab = &lab;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(async move {
            let l = lab
                .limiter(&[
                    ("MUZE__PROVIDERS__SPOTIFY__RATE_LIMIT", "20/1s"),
                    ("MUZE__PROVIDERS__SPOTIFY__SAFETY_MARGIN_MS", "0"),
                ])
                .await;
            let mut grants = Vec::new();
            let until = std::time::Instant::now() + Duration::from_millis(2_500);
            while std::time::Instant::now() < until {
                match l
                    .acquire(Spotify, Priority::Interactive)
                    .await
                    .expect("acquire")
                {
                    Decision::Granted(grant) => {
                        grants.push(std::time::Instant::now());
                        l.report(&grant, Outcome::Ok).await.expect("report");
                    }
                    Decision::Wait { wait, .. } => {
                        tokio::time::sleep(wait.min(Duration::from_millis(20))).await
                    }
                }
            }
            grants
        });
    }
    let mut grants: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .flatten()
        .collect();
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
        grants.len() >= 45,
        "two windows' worth and more expected, got {}",
        grants.len()
    );
}
