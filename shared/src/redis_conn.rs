//! A supervised Redis connection.
//!
//! One multiplexed connection per process, shared by every task. Each command runs under a
//! timeout; a command that fails on the connection (dropped, refused, timed out) discards it,
//! and the next command reconnects, at most once per [`RECONNECT_INTERVAL`] so an outage does
//! not become a reconnect storm. Callers see errors while Redis is down and success as soon as
//! it is back, without restarting.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use redis::{aio::MultiplexedConnection, AsyncConnectionConfig, RedisError, RedisResult};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::config::redact_url;

/// How long one command may take before the connection is presumed dead.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Minimum time between reconnection attempts.
const RECONNECT_INTERVAL: Duration = Duration::from_millis(500);

/// Why Redis could not be reached at start-up.
#[derive(Debug, thiserror::Error)]
#[error("Redis unreachable at {url}: {reason}")]
pub struct RedisConnectError {
    url: String,
    reason: String,
}

#[derive(Debug)]
struct State {
    connection: Option<MultiplexedConnection>,
    last_attempt: Option<Instant>,
}

/// The process's handle on Redis; cheap to clone.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").finish_non_exhaustive()
    }
}

fn io_error(reason: &'static str) -> RedisError {
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, reason))
}

impl Redis {
    /// Connects and checks the server answers `PING`.
    pub async fn connect(url: &SecretString) -> Result<Redis, RedisConnectError> {
        let err = |reason: String| RedisConnectError {
            url: redact_url(url),
            reason,
        };
        let client = redis::Client::open(url.expose_secret()).map_err(|e| err(e.to_string()))?;
        let redis = Redis {
            client,
            state: Arc::new(Mutex::new(State {
                connection: None,
                last_attempt: None,
            })),
        };
        redis.ping().await.map_err(|e| err(e.to_string()))?;
        Ok(redis)
    }

    /// The live connection, connecting if there is none.
    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        let mut state = self.state.lock().await;
        if let Some(connection) = &state.connection {
            return Ok(connection.clone());
        }
        if state
            .last_attempt
            .is_some_and(|at| at.elapsed() < RECONNECT_INTERVAL)
        {
            return Err(io_error("Redis unreachable; reconnecting"));
        }
        state.last_attempt = Some(Instant::now());
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(COMMAND_TIMEOUT);
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        state.connection = Some(connection.clone());
        Ok(connection)
    }

    async fn discard(&self) {
        self.state.lock().await.connection = None;
    }

    /// Runs `command` on the connection under a timeout; a connection-level failure discards
    /// the connection so the next call reconnects.
    pub async fn run<T, F, Fut>(&self, command: F) -> RedisResult<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let connection = self.connection().await?;
        match tokio::time::timeout(COMMAND_TIMEOUT, command(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_timeout()
                {
                    self.discard().await;
                }
                Err(e)
            }
            Err(_) => {
                self.discard().await;
                Err(io_error("Redis command timed out"))
            }
        }
    }

    /// `PING`.
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
