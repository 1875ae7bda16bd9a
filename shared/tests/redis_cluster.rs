//! `MUZE__REDIS__URL` naming a Redis Cluster: the limiter's scripts run on the node that owns
//! their hash tag, and a handle outlives a Redis restart. (The API's per-key limit, one key per
//! script, is tested on a cluster in `api/tests/client_limit.rs`.)
//!
//! Every test starts its own private servers (`muze_testkit::private::redis`), so they may be
//! killed and restarted freely.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use muze_shared::redis_conn::Redis;
use muze_testkit::private::redis::{PrivateRedis, PrivateRedisCluster};
use redis::{aio::MultiplexedConnection, RedisResult};
use secrecy::SecretString;

/// Primaries in each test cluster: the fewest Redis accepts, enough for keys to spread.
const NODES: usize = 3;
/// Tags written by the script test; with 3 nodes each gets several (checked).
const TAGS: usize = 12;
/// How long a handle may take to reach a restarted Redis: a reconnect is throttled to one per
/// 500 ms, a cluster may need its node timeout (2 s) to settle.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// Two keys of one hash tag, like the limiter's `{ns:provider}:log` and `{ns:provider}:state`.
const SCRIPT: &str = r"
redis.call('SET', KEYS[1], ARGV[1])
local calls = redis.call('INCR', KEYS[2])
return {redis.call('GET', KEYS[1]), calls}
";

async fn connect(url: String) -> Redis {
    Redis::connect(&SecretString::from(url))
        .await
        .expect("Redis::connect")
}

async fn node(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("node url")
        .get_multiplexed_async_connection()
        .await
        .expect("node connection")
}

/// The keys stored on one node, directly (not through the cluster).
async fn keys_on(url: &str) -> BTreeSet<String> {
    redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut node(url).await)
        .await
        .expect("KEYS")
}

async fn script_loaded_on(url: &str, script: &redis::Script) -> bool {
    let exists: Vec<bool> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(script.get_hash())
        .query_async(&mut node(url).await)
        .await
        .expect("SCRIPT EXISTS");
    exists == [true]
}

/// Counts one on `key` (kept 120 s) in one atomic pipeline: a write whose result shows whether
/// the server holds earlier state.
async fn count_request(redis: &Redis, key: &str) -> RedisResult<u64> {
    let key = key.to_string();
    let (count,): (u64,) = redis
        .run(|mut c| async move {
            redis::pipe()
                .atomic()
                .incr(&key, 1)
                .expire(&key, 120)
                .ignore()
                .query_async(&mut c)
                .await
        })
        .await?;
    Ok(count)
}

/// Retries `GET key` until the handle answers, as a caller would on its next requests.
async fn get_once_reachable(redis: &Redis, key: &str) -> Option<String> {
    let deadline = Instant::now() + RECOVERY_TIMEOUT;
    loop {
        let key = key.to_string();
        let got = redis
            .run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await;
        match got {
            Ok(value) => return value,
            Err(e) => assert!(
                Instant::now() < deadline,
                "still failing after {RECOVERY_TIMEOUT:?}: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_script_on_keys_of_one_hash_tag_runs_on_the_node_owning_the_tag() {
    let cluster = PrivateRedisCluster::start(NODES);
    let redis = connect(cluster.urls()).await;
    let script = redis::Script::new(SCRIPT);
    for url in cluster.node_urls() {
        assert!(!script_loaded_on(&url, &script).await, "loaded before use");
    }

    for tag in 0..TAGS {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(format!("{{muze-test:p{tag}}}:log"))
            .key(format!("{{muze-test:p{tag}}}:state"))
            .arg(format!("value {tag}"));
        let (value, calls): (String, i64) = redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
            .expect("script on the cluster");
        assert_eq!(
            (value.as_str(), calls),
            (format!("value {tag}").as_str(), 1)
        );
    }

    // Each tag's two keys live together on one node, and every node holds some tags: the
    // scripts were routed to different nodes, not all to one.
    let mut node_of_tag = BTreeMap::new();
    for (index, url) in cluster.node_urls().iter().enumerate() {
        let keys = keys_on(url).await;
        assert!(!keys.is_empty(), "node {index} got no script: {keys:?}");
        for key in keys {
            let tag = key.split_once('}').expect("a tagged key").0.to_string();
            let previous = node_of_tag.insert(tag.clone(), index);
            assert!(
                previous.is_none_or(|p| p == index),
                "{tag} split over nodes"
            );
        }
    }
    assert_eq!(node_of_tag.len(), TAGS);
    // The first EVALSHA met NOSCRIPT and the script was loaded on every node.
    for url in cluster.node_urls() {
        assert!(script_loaded_on(&url, &script).await);
    }
}

#[tokio::test]
async fn ping_and_is_ready_answer_on_a_cluster() {
    let cluster = PrivateRedisCluster::start(NODES);
    let redis = connect(cluster.urls()).await;

    redis.ping().await.expect("PING on every primary");
    assert!(redis.is_ready().await);
}

#[tokio::test]
async fn a_cluster_node_restarted_empty_is_reached_again_by_the_same_handle() {
    let mut cluster = PrivateRedisCluster::start(NODES);
    let redis = connect(cluster.urls()).await;
    let key = "{muze-test:restart}:state";
    let (home, url) = {
        count_request(&redis, key).await.expect("count");
        let mut home = None;
        for (index, url) in cluster.node_urls().into_iter().enumerate() {
            if keys_on(&url).await.contains(key) {
                home = Some((index, url));
            }
        }
        home.expect("the key is on some node")
    };
    assert_eq!(get_once_reachable(&redis, key).await.as_deref(), Some("1"));

    cluster.restart_node(home);

    assert_eq!(get_once_reachable(&redis, key).await, None, "data survived");
    assert_eq!(count_request(&redis, key).await.expect("count again"), 1);
    assert!(
        keys_on(&url).await.contains(key),
        "the key moved off its node"
    );
}

#[tokio::test]
async fn a_restarted_private_redis_is_empty_and_the_same_handle_reaches_it_again() {
    let mut server = PrivateRedis::start();
    let redis = connect(server.url()).await;
    let script = redis::Script::new(SCRIPT);
    let run_script = || {
        let mut invocation = script.prepare_invoke();
        invocation
            .key("{muze-test:p}:log")
            .key("{muze-test:p}:state")
            .arg("v");
        redis.run(|mut c| async move { invocation.invoke_async::<(String, i64)>(&mut c).await })
    };
    assert_eq!(run_script().await.expect("script").1, 1);
    assert_eq!(run_script().await.expect("script").1, 2);

    server.restart();

    assert_eq!(
        get_once_reachable(&redis, "{muze-test:p}:state").await,
        None
    );
    // The restarted server forgot the script too; it is loaded again on NOSCRIPT.
    assert_eq!(run_script().await.expect("script after restart").1, 1);
    assert!(redis.is_ready().await);
}
