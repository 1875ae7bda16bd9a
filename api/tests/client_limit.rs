//! The per-key limit: a rolling rate with a burst (GCRA), in one Redis script per decision,
//! tested at exact instants (`check_at`) instead of by sleeping; catalog hits and upstream
//! searches counted apart; the script on a Redis Cluster.

mod support;

use muze_api::client_limit::{Class, ClientLimit, Rate, Verdict};
use muze_shared::redis_conn::Redis;
use muze_testkit::private::redis::PrivateRedisCluster;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;
use support::{spotify_track, TestApp};
use uuid::Uuid;

const REDIS: &str = "redis://127.0.0.1:6379";
/// An instant far from the test machine's clock: the script must use the time it is given.
const T0: u64 = 1_900_000_000_000_000;
const SECOND: u64 = 1_000_000;

/// Deletes the keys a test wrote when it ends, passed or failed.
struct Keys(Vec<String>);

impl Drop for Keys {
    fn drop(&mut self) {
        if let Ok(mut c) = redis::Client::open(REDIS).and_then(|c| c.get_connection()) {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&self.0).query(&mut c);
        }
    }
}

async fn redis() -> Redis {
    Redis::connect(&SecretString::from(REDIS))
        .await
        .expect("Redis")
}

fn namespace() -> String {
    format!("t{}", &Uuid::new_v4().simple().to_string()[..12])
}

/// How many of `n` requests at `at` are allowed.
async fn allowed_at(
    limit: &ClientLimit,
    redis: &Redis,
    key: &str,
    class: Class,
    at: u64,
    n: usize,
) -> usize {
    let mut allowed = 0;
    for _ in 0..n {
        if limit.check_at(redis, key, class, at).await == Verdict::Allowed {
            allowed += 1;
        }
    }
    allowed
}

#[tokio::test]
async fn the_per_key_limit_allows_exactly_its_burst_then_its_rate() {
    // Arrange: 60 a minute (one a second) with a burst of 5.
    let ns = namespace();
    let limit = ClientLimit::with_rates(&ns, Rate::per_minute(60, 5), Rate::per_minute(60, 5));
    let _keys = Keys(vec![limit.redis_key("k", Class::Requests)]);
    let redis = redis().await;

    // Act + Assert: an idle key sends its burst at once, and not one more.
    assert_eq!(
        allowed_at(&limit, &redis, "k", Class::Requests, T0, 8).await,
        5
    );
    assert_eq!(
        limit.check_at(&redis, "k", Class::Requests, T0).await,
        Verdict::Refused {
            retry_after_secs: 1
        }
    );
    // Then one per second: not a microsecond early.
    assert_eq!(
        allowed_at(&limit, &redis, "k", Class::Requests, T0 + SECOND - 1, 1).await,
        0
    );
    for s in 1..=10 {
        assert_eq!(
            allowed_at(&limit, &redis, "k", Class::Requests, T0 + s * SECOND, 3).await,
            1,
            "second {s}"
        );
    }
    // Quiet for a while, the burst is back, and only the burst: no calendar edge doubles it.
    let later = T0 + 100 * SECOND;
    assert_eq!(
        allowed_at(&limit, &redis, "k", Class::Requests, later, 20).await,
        5
    );
}

#[tokio::test]
async fn a_refusal_says_when_the_next_request_is_allowed() {
    // 2 a minute: one every 30 s, burst 1.
    let ns = namespace();
    let limit = ClientLimit::with_rates(&ns, Rate::per_minute(2, 1), Rate::per_minute(2, 1));
    let _keys = Keys(vec![limit.redis_key("k", Class::Requests)]);
    let redis = redis().await;

    assert_eq!(
        limit.check_at(&redis, "k", Class::Requests, T0).await,
        Verdict::Allowed
    );
    let refused = limit
        .check_at(&redis, "k", Class::Requests, T0 + 10 * SECOND)
        .await;

    assert_eq!(
        refused,
        Verdict::Refused {
            retry_after_secs: 20
        }
    );
    assert_eq!(
        limit
            .check_at(&redis, "k", Class::Requests, T0 + 30 * SECOND)
            .await,
        Verdict::Allowed
    );
}

#[tokio::test]
async fn requests_and_upstream_searches_are_counted_apart() {
    let ns = namespace();
    let limit = ClientLimit::with_rates(&ns, Rate::per_minute(60, 3), Rate::per_minute(60, 1));
    let _keys = Keys(vec![
        limit.redis_key("k", Class::Requests),
        limit.redis_key("k", Class::Searches),
    ]);
    let redis = redis().await;

    let searches = allowed_at(&limit, &redis, "k", Class::Searches, T0, 4).await;
    let requests = allowed_at(&limit, &redis, "k", Class::Requests, T0, 4).await;

    assert_eq!((searches, requests), (1, 3));
}

#[tokio::test]
async fn a_catalog_hit_spends_no_upstream_search_allowance() {
    // Arrange: one upstream search per key, plenty of requests.
    let app = TestApp::spawn_with(&[
        ("MUZE__API__SEARCHES_PER_MINUTE", "1"),
        ("MUZE__API__SEARCH_BURST", "1"),
    ])
    .await;
    let first = app.search("아이유 좋은 날").await;
    let id: Uuid = first["id"].as_str().expect("id").parse().expect("uuid");
    app.answer_search(id, &[spotify_track("sp-1", "좋은 날", "IU")])
        .await;

    // Act
    let from_catalog = app.post_search(json!({"query": "아이유 좋은 날"})).await;
    let again = app.post_search(json!({"query": "아이유 좋은 날"})).await;
    let upstream = app.post_search(json!({"query": "another song"})).await;

    // Assert
    assert_eq!(from_catalog.status(), StatusCode::OK);
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(upstream.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(upstream
        .headers()
        .contains_key(reqwest::header::RETRY_AFTER));
    app.cleanup().await;
}

#[tokio::test]
async fn the_per_key_limit_runs_on_a_redis_cluster() {
    // Arrange: keys of several API keys spread over three primaries.
    let cluster = PrivateRedisCluster::start(3);
    let redis = Redis::connect(&SecretString::from(cluster.urls()))
        .await
        .expect("cluster");
    let limit = ClientLimit::with_rates(
        "muze-test",
        Rate::per_minute(60, 2),
        Rate::per_minute(60, 2),
    );
    let key_ids: Vec<String> = (0..8).map(|i| format!("key{i}")).collect();

    // Act + Assert: each key gets its own burst, wherever its one key lives.
    for key in &key_ids {
        assert_eq!(
            allowed_at(&limit, &redis, key, Class::Requests, T0, 4).await,
            2,
            "{key}"
        );
        assert_eq!(
            allowed_at(&limit, &redis, key, Class::Requests, T0 + SECOND, 4).await,
            1,
            "{key}"
        );
    }
    let mut nodes_used = 0;
    for url in cluster.node_urls() {
        let mut node = redis::Client::open(url.as_str())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("node");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("muze-test:client:*")
            .query_async(&mut node)
            .await
            .expect("KEYS");
        nodes_used += usize::from(!keys.is_empty());
    }
    assert!(
        nodes_used > 1,
        "every key landed on one node: the test proves less"
    );
}
