//! `muze-api`: the thin HTTP front of Muze Search.
//!
//! A search request is validated, recorded as a job in Postgres and published to RabbitMQ;
//! the client then polls (or long-polls) the job, which a worker answers from the providers.
//! The catalog routes read what earlier searches stored. The API itself never calls a
//! provider.
//!
//! [`Api::build`] connects to every dependency and binds the port (so a test can bind port 0
//! and read [`Api::local_addr`]); [`Api::run`] serves until the shutdown future resolves.
//!
//! Reading order, following a request: [`auth`] → [`client_limit`] → [`routes`] (with
//! [`routes::searches`] first) → [`notify`] for long-polls; [`error`] is the one error type
//! every handler returns; [`layers`] wrap it all; [`server`] accepts connections under their
//! timeouts and cap; [`state`] is what handlers share; [`answer_cache`] holds fresh catalog
//! answers briefly; [`status`] is what the operators' page reads; [`fleet_gauges`] samples
//! queue depths and budgets for `/metrics`.

pub mod answer_cache;
pub mod auth;
pub mod client_limit;
pub mod error;
pub mod fleet_gauges;
pub mod layers;
pub mod notify;
pub mod published;
pub mod routes;
pub mod server;
pub mod state;
pub mod status;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    http::{header, HeaderValue, Method},
    middleware, Router,
};
use muze_shared::{
    db,
    queue::{Broker, Topology},
    redis_conn, telemetry, Settings,
};
use secrecy::ExposeSecret;
use sqlx::postgres::PgListener;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
};

use crate::{notify::Notifier, routes::fallback, server::ServerLimits, state::AppState};

/// The router with every route and layer, around the given state.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.cors_origins);
    let (v1, _) = routes::v1().split_for_parts();
    let v1 = v1
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .fallback(fallback::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_limit::enforce,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    let (root, _) = routes::root().split_for_parts();
    let routes = root
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .nest("/v1", v1)
        .fallback(fallback::not_found);
    layered(routes, cors).with_state(state)
}

/// The layers around every route, innermost first: the time limit, panic recovery, CORS,
/// HTTP metrics (outside the time limit and the panic recovery, so their 503s and 500s are
/// counted) and tracing. Public so a test can wrap routes of its own the same way.
pub fn layered<S: Clone + Send + Sync + 'static>(routes: Router<S>, cors: CorsLayer) -> Router<S> {
    routes
        .layer(middleware::from_fn(layers::time_limit))
        .layer(CatchPanicLayer::custom(layers::panic_response))
        .layer(cors)
        .layer(middleware::from_fn(layers::record_metrics))
        .layer(layers::trace())
}

/// The CORS policy: browsers may call the API from the configured origins only
/// (`MUZE__API__CORS_ORIGINS`; none by default, so no browser page elsewhere can read an
/// answer). Preflights are answered before authentication, as browsers send them without
/// credentials.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::LOCATION, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// A built API: connected, bound, not yet serving.
#[derive(Debug)]
pub struct Api {
    /// The bound listening socket.
    listener: TcpListener,
    /// Its address.
    addr: SocketAddr,
    /// Everything the handlers share.
    state: AppState,
    /// The Postgres notification task feeding long-polls.
    notify_task: JoinHandle<()>,
    /// Adds this process's answer counts to Redis for the status page.
    tally_task: JoinHandle<()>,
    /// Stops the notification and tally tasks.
    stop: CancellationToken,
    /// Timeouts and the connection cap of the server loop.
    limits: ServerLimits,
    /// How often the fleet's gauges are sampled.
    fleet_sample: Duration,
}

impl Api {
    /// Connects to Postgres (creating and migrating the database if needed), Redis and
    /// RabbitMQ (declaring the topology), starts listening for finished searches, and binds
    /// `settings.api.bind`. Any failure names the dependency.
    pub async fn build(settings: Settings) -> anyhow::Result<Api> {
        // Without a key to accept there is nothing to serve: refuse before connecting.
        settings.client_keys()?;
        // Bind first: a taken port is found before any connection is made. RabbitMQ comes
        // last, so an earlier failure leaves no AMQP connection to tear down.
        let listener = TcpListener::bind(&settings.api.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.api.bind))?;
        let addr = listener.local_addr()?;
        let pool = db::connect_with(
            &settings.database.url,
            settings.database.max_connections,
            Some(Duration::from_millis(
                settings.database.statement_timeout_ms,
            )),
        )
        .await?;
        let channel = db::search_done_channel(&settings.namespace);
        let mut pg_listener = PgListener::connect(settings.database.url.expose_secret())
            .await
            .context("Postgres unreachable (notification listener)")?;
        pg_listener
            .listen(&channel)
            .await
            .context("Postgres refused LISTEN")?;
        let redis = redis_conn::Redis::connect(&settings.redis.url).await?;
        let broker = Broker::connect(
            settings.amqp.url.clone(),
            Topology::new(&settings.namespace, settings.worker.delivery_limit),
        )
        .await?;
        let notifier = Arc::new(Notifier::new());
        let stop = CancellationToken::new();
        let notify_task = notifier.spawn_listener(pg_listener, stop.clone());
        let state = AppState::new(
            &settings,
            pool,
            redis,
            broker,
            notifier,
            telemetry::metrics_handle(),
        )?;
        let tally_task =
            Arc::clone(&state.status.tally).spawn_flusher(state.redis.clone(), stop.clone());
        tracing::info!(api.addr = %addr, "muze-api listening");
        Ok(Api {
            listener,
            addr,
            state,
            notify_task,
            tally_task,
            stop,
            limits: ServerLimits::from_settings(&settings.api),
            fleet_sample: Duration::from_millis(settings.api.fleet_sample_ms),
        })
    }

    /// The address actually bound (the real port when `bind` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (tests use it to reach the same database and notifier).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish (long-polls are
    /// woken to answer at once), stops the notification task and closes the connections.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Api {
            listener,
            addr: _,
            state,
            notify_task,
            tally_task,
            stop,
            limits,
            fleet_sample,
        } = self;
        let gauges = tokio::spawn(fleet_gauges::run(state.clone(), fleet_sample, stop.clone()));
        let notifier = Arc::clone(&state.notifier);
        let draining = async move {
            shutdown.await;
            tracing::info!("draining in-flight requests");
            notifier.close();
        };
        server::serve(listener, app(state.clone()), limits, draining).await;
        stop.cancel();
        if let Err(e) = notify_task.await {
            tracing::warn!(error = %e, "notification task ended abnormally");
        }
        if let Err(e) = tally_task.await {
            tracing::warn!(error = %e, "answer tally task ended abnormally");
        }
        if let Err(e) = gauges.await {
            tracing::warn!(error = %e, "fleet gauge task ended abnormally");
        }
        state.broker.close().await;
        state.pool.close().await;
        tracing::info!("muze-api stopped");
        Ok(())
    }
}
