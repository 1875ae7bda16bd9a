//! Connecting to Redis. The connection manager reconnects by itself after a loss; callers see
//! errors while Redis is down and success once it is back.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

use crate::config::redact_url;

/// Why Redis could not be reached at start-up.
#[derive(Debug, thiserror::Error)]
#[error("Redis unreachable at {url}: {reason}")]
pub struct RedisConnectError {
    url: String,
    reason: String,
}

/// Connects and checks the server answers `PING`.
pub async fn connect(url: &SecretString) -> Result<ConnectionManager, RedisConnectError> {
    let err = |reason: String| RedisConnectError {
        url: redact_url(url),
        reason,
    };
    let client = redis::Client::open(url.expose_secret()).map_err(|e| err(e.to_string()))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(2))
        .set_number_of_retries(2);
    let mut manager = tokio::time::timeout(
        Duration::from_secs(5),
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|_| err("connection timed out".into()))?
    .map_err(|e| err(e.to_string()))?;
    let _: String = redis::cmd("PING")
        .query_async(&mut manager)
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok(manager)
}

/// Whether Redis answers `PING` now.
pub async fn is_ready(conn: &ConnectionManager) -> bool {
    let mut conn = conn.clone();
    tokio::time::timeout(
        Duration::from_secs(2),
        redis::cmd("PING").query_async::<String>(&mut conn),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}
