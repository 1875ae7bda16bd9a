//! Connecting to Postgres: create the database if missing, pool, and run migrations.
//! Every binary does this at start-up; sqlx's migrator holds an advisory lock while it runs,
//! so many processes starting at once apply each migration exactly once.

use std::{str::FromStr, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, Connection, PgPool,
};

/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// The schema in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Why the database could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid database URL: {0}")]
    Url(sqlx::Error),
    #[error("Postgres unreachable: {0}")]
    Unreachable(sqlx::Error),
    #[error("could not create database {name:?}: {source}")]
    Create { name: String, source: sqlx::Error },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Connects to the configured database, creating it if missing and applying pending
/// migrations. Statements run without a time limit; see [`connect_with`].
pub async fn connect(url: &SecretString, max_connections: u32) -> Result<PgPool, ConnectError> {
    connect_with(url, max_connections, None).await
}

/// Like [`connect`], with Postgres cancelling any statement of the pool's connections that
/// runs longer than `statement_timeout` (set at connection start-up, so it holds for every
/// statement whatever the code path). Migrations run on a connection of their own without
/// it: waiting for another process's migration lock is not a stuck statement.
pub async fn connect_with(
    url: &SecretString,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, ConnectError> {
    let options = PgConnectOptions::from_str(url.expose_secret())
        .map_err(ConnectError::Url)?
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    ensure_database(&options).await?;
    let mut migrating = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(ConnectError::Unreachable)?;
    MIGRATOR.run(&mut migrating).await?;
    let _ = migrating.close().await;
    let pooled = match statement_timeout {
        Some(limit) => options.options([(
            "statement_timeout",
            format!("{}ms", limit.as_millis().max(1)),
        )]),
        None => options,
    };
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        // A connection back from a query moments ago is alive: pinging it on every acquire
        // cost each statement a second round trip. One idle longer may have been cut (a
        // restarted server, a dropped link), so it is pinged, and replaced if it fails.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(pooled)
        .await
        .map_err(ConnectError::Unreachable)
}

/// Creates the target database through the `postgres` maintenance database if it is missing.
/// Two processes racing to create it both succeed.
async fn ensure_database(options: &PgConnectOptions) -> Result<(), ConnectError> {
    let Some(name) = options.get_database().map(str::to_string) else {
        return Ok(());
    };
    let mut admin = sqlx::PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .map_err(ConnectError::Unreachable)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .map_err(ConnectError::Unreachable)?;
    if !exists {
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&sql).execute(&mut admin).await {
            Ok(_) => tracing::info!(db.name = %name, "created database"),
            // duplicate_database, or the catalog's unique index when the race is that close.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42P04") | Some("23505")) => {}
            Err(source) => return Err(ConnectError::Create { name, source }),
        }
    }
    let _ = admin.close().await;
    Ok(())
}
