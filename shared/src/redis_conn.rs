//! A supervised Redis connection, to one server or to a Redis Cluster.
//!
//! `MUZE__REDIS__URL` names one server (`redis://host:6379`) or, separated by commas, some
//! nodes of a Redis Cluster (`redis://a:6379,redis://b:6379`); any node that answers is enough
//! to discover the others. On a cluster each command goes to the node that owns its key's
//! slot. The limiter's scripts name keys of one budget's hash tag only
//! (`{muze:budget:<id>}:log`, `{muze:budget:<id>}:state`, ...), so every script runs whole on
//! one node.
//!
//! One connection per process, shared by every task, and kept by redis-rs itself: a
//! [`ConnectionManager`] for one server reconnects with jittered exponential backoff when the
//! connection drops, and the cluster client reconnects to each node. Each command also runs
//! under [`COMMAND_TIMEOUT`], so a command waiting on a reconnect fails in bounded time.
//! Callers see errors while Redis is down and success as soon as it is back, without
//! restarting.

use std::{future::Future, time::Duration};

use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
    Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value,
};
use secrecy::{ExposeSecret, SecretString};

use crate::config::redact_url;

/// How long one command may take before the connection is presumed dead.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to a cluster may take: connecting to the nodes, then asking one of
/// them which node owns which slots.
const CLUSTER_CONNECT_TIMEOUT: Duration = CONNECT_TIMEOUT.saturating_add(COMMAND_TIMEOUT);
/// How often the cluster client retries one command by itself: a `MOVED` or `ASK` redirect
/// (while slots move between nodes) or a broken node connection is retried at once, so two
/// cover a redirect followed by a reconnect. A `CLUSTERDOWN` or `TRYAGAIN` is retried after a
/// pause of at least 1.28 s (redis-rs's minimum), so a cluster that stays down fails the
/// command at [`COMMAND_TIMEOUT`] like a dead server does.
const CLUSTER_RETRIES: u32 = 2;
/// The first pause before reconnecting to a single server; pauses then grow exponentially, with
/// jitter, so an outage does not become a reconnect storm.
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest pause between reconnection attempts.
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);
/// Reconnection attempts per reconnect; when they are used up, the next command starts again.
const RECONNECT_RETRIES: usize = 4;

/// Why Redis could not be reached at start-up.
#[derive(Debug, thiserror::Error)]
pub enum RedisConnectError {
    /// `MUZE__REDIS__URL` is neither one URL nor a comma-separated list of node URLs.
    #[error("MUZE__REDIS__URL is invalid ({url}): {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The URL is well formed but Redis did not answer `PING`.
    #[error("Redis unreachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

/// What `MUZE__REDIS__URL` names.
enum Client {
    /// One server.
    Single(redis::Client),
    /// The nodes of a Redis Cluster.
    Cluster(Box<ClusterClient>),
}

/// A connection handed to [`Redis::run`]: to the one server, or to the cluster, where each
/// command goes to the node owning its key's slot. Cheap to clone; both kinds multiplex.
#[derive(Clone)]
pub enum Connection {
    /// To a single Redis server, reconnected by redis-rs when it drops.
    Single(ConnectionManager),
    /// To a Redis Cluster: commands are routed by slot, `MOVED`/`ASK` are followed.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connection::Single(_) => f.write_str("Connection::Single"),
            Connection::Cluster(_) => f.write_str("Connection::Cluster"),
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// The process's handle on Redis; cheap to clone.
#[derive(Clone)]
pub struct Redis {
    connection: Connection,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let topology = match self.connection {
            Connection::Single(_) => "single",
            Connection::Cluster(_) => "cluster",
        };
        f.debug_struct("Redis")
            .field("topology", &topology)
            .finish_non_exhaustive()
    }
}

fn io_error(reason: &'static str) -> RedisError {
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, reason))
}

/// The node URLs that `url` lists: itself when it has no comma, else each comma-separated
/// item, trimmed. An empty item is refused, by its position (the items may hold passwords).
fn node_urls(url: &str) -> Result<Vec<&str>, String> {
    if !url.contains(',') {
        return Ok(vec![url]);
    }
    let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
    match nodes.iter().position(|node| node.is_empty()) {
        Some(at) => Err(format!(
            "item {} of the {} comma-separated cluster node URLs is empty",
            at + 1,
            nodes.len()
        )),
        None => Ok(nodes),
    }
}

/// `url` for messages, passwords masked; each item's when it is a list.
fn redacted(url: &SecretString) -> String {
    let url = url.expose_secret();
    if !url.contains(',') {
        return redact_url(&SecretString::from(url.to_string()));
    }
    url.split(',')
        .map(str::trim)
        .map(|node| match node {
            "" => "<empty>".to_string(),
            node => redact_url(&SecretString::from(node.to_string())),
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Client {
    fn open(url: &SecretString) -> Result<Client, String> {
        let nodes = node_urls(url.expose_secret())?;
        if let [node] = nodes[..] {
            return redis::Client::open(node)
                .map(Client::Single)
                .map_err(|e| e.to_string());
        }
        ClusterClient::builder(nodes)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(COMMAND_TIMEOUT)
            .retries(CLUSTER_RETRIES)
            .build()
            .map(|client| Client::Cluster(Box::new(client)))
            .map_err(|e| e.to_string())
    }

    async fn connect(&self) -> RedisResult<Connection> {
        match self {
            Client::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(COMMAND_TIMEOUT))
                    .set_min_delay(RECONNECT_MIN_DELAY)
                    .set_max_delay(RECONNECT_MAX_DELAY)
                    .set_number_of_retries(RECONNECT_RETRIES);
                let connecting = ConnectionManager::new_with_config(client.clone(), config);
                match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
                    Ok(connection) => Ok(Connection::Single(connection?)),
                    Err(_) => Err(io_error("connecting to Redis timed out")),
                }
            }
            Client::Cluster(client) => {
                let connecting = client.get_async_connection();
                match tokio::time::timeout(CLUSTER_CONNECT_TIMEOUT, connecting).await {
                    Ok(connection) => Ok(Connection::Cluster(connection?)),
                    Err(_) => Err(io_error("connecting to the Redis Cluster timed out")),
                }
            }
        }
    }
}

impl Redis {
    /// Connects to the server, or to the cluster when `url` lists several nodes separated by
    /// commas, and checks that it answers `PING` (every primary of a cluster must).
    pub async fn connect(url: &SecretString) -> Result<Redis, RedisConnectError> {
        let client = Client::open(url).map_err(|reason| RedisConnectError::InvalidUrl {
            url: redacted(url),
            reason,
        })?;
        let unreachable = |e: RedisError| RedisConnectError::Unreachable {
            url: redacted(url),
            reason: e.to_string(),
        };
        let redis = Redis {
            connection: client.connect().await.map_err(unreachable)?,
        };
        redis.ping().await.map_err(unreachable)?;
        Ok(redis)
    }

    /// Runs `command` on the connection under [`COMMAND_TIMEOUT`].
    pub async fn run<T, F, Fut>(&self, command: F) -> RedisResult<T>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        match tokio::time::timeout(COMMAND_TIMEOUT, command(self.connection.clone())).await {
            Ok(result) => result,
            Err(_) => Err(io_error("Redis command timed out")),
        }
    }

    /// `PING`; on a cluster, every primary must answer.
    pub async fn ping(&self) -> RedisResult<()> {
        self.run(|mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await?;
            Ok(())
        })
        .await
    }

    /// Whether Redis answers now.
    pub async fn is_ready(&self) -> bool {
        self.ping().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_commas_names_one_server() {
        assert_eq!(
            node_urls("redis://127.0.0.1:6379/0"),
            Ok(vec!["redis://127.0.0.1:6379/0"])
        );
    }

    #[test]
    fn a_comma_separated_list_names_cluster_nodes_trimmed() {
        assert_eq!(
            node_urls("redis://a:7000, redis://b:7001 ,redis://c:7002"),
            Ok(vec!["redis://a:7000", "redis://b:7001", "redis://c:7002"])
        );
    }

    #[test]
    fn an_empty_item_is_refused_by_position_without_printing_the_urls() {
        let err = node_urls("redis://:hunter2@a:7000,,redis://b:7001").unwrap_err();
        assert_eq!(
            err,
            "item 2 of the 3 comma-separated cluster node URLs is empty"
        );
        assert!(node_urls("redis://a:7000,").is_err());
    }

    #[tokio::test]
    async fn an_invalid_list_names_the_setting_and_masks_every_password() {
        let url = SecretString::from("redis://:hunter2@a:7000, ,redis://:hunter2@b:7001");
        let err = Redis::connect(&url).await.unwrap_err().to_string();
        assert!(err.contains("MUZE__REDIS__URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.contains("redis://:***@a:7000,<empty>,redis://:***@b:7001"),
            "{err}"
        );
    }
}
