//! `muze-sim`: a local stand-in for the music APIs Muze depends on — Spotify, YouTube Data
//! v3, Shazam (RapidAPI), Deezer and MusicBrainz — served on one port at the real APIs' paths
//! below a per-provider prefix, so a client configured with
//! `BASE_URL=http://127.0.0.1:9100/spotify/v1` works unchanged.
//!
//! It serves a deterministic catalog ([`catalog`]), enforces each provider's real kind of
//! limit ([`limits`]) against the time each call arrives ([`arrival`]: calls may be set to
//! arrive late), injects faults on demand ([`faults`]) and counts every call and
//! violation ([`stats`], `GET /_stats`). Build with [`Sim::build`] (binds the listener), then
//! [`Sim::run`] until a shutdown future resolves — or [`Sim::spawn`] it in a test.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use muze_sim::{Provider, FaultKind, Sim, SimConfig};
//! let sim = Sim::build(SimConfig::default()).await?.spawn();
//! let spotify_base = sim.provider_url(Provider::Spotify); // http://127.0.0.1:PORT/spotify/v1
//! sim.state().set_fault(Provider::Spotify, FaultKind::Outage);
//! sim.stop().await?;
//! # Ok(()) }
//! ```

pub mod arrival;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod faults;
pub mod limits;
pub mod provider;
pub mod signal;
pub mod stats;
pub mod telemetry;

mod call;
mod control;
mod providers;
mod state;
mod wire;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::Context;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use arrival::{ArrivalDelay, ArrivalDelayError};
pub use catalog::{Album, Catalog, Song};
pub use config::{InvalidConfig, ProviderLimitConfig, SimConfig};
pub use faults::{Fault, FaultKind};
pub use limits::LimitConfig;
pub use provider::{Provider, ProviderMap};
pub use signal::shutdown_signal;
pub use state::SimHandle;
pub use stats::{ProviderStats, Stats};

/// A simulator whose listener is bound, ready to [`run`](Sim::run).
#[derive(Debug)]
pub struct Sim {
    listener: TcpListener,
    local_addr: SocketAddr,
    handle: SimHandle,
}

impl Sim {
    /// Checks `config`, binds `config.bind` and prepares the catalog (generated once per seed
    /// and size per process, so tests that spawn many simulators pay for it once).
    pub async fn build(config: SimConfig) -> anyhow::Result<Sim> {
        config
            .validate()
            .context("invalid simulator configuration")?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot bind {}", config.bind))?;
        let local_addr = listener.local_addr().context("reading the bound address")?;
        let catalog = shared_catalog(config.seed, config.songs);
        Ok(Sim {
            listener,
            local_addr,
            handle: SimHandle::new(config, catalog),
        })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The `BASE_URL` a client of `provider` should use, e.g. `http://127.0.0.1:PORT/spotify/v1`.
    pub fn provider_url(&self, provider: Provider) -> String {
        format!("{}{}", self.base_url(), provider.base_path())
    }

    /// The catalog currently served.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.handle.catalog()
    }

    /// A handle to steer the simulator (faults, limits, stats, releases).
    pub fn state(&self) -> SimHandle {
        self.handle.clone()
    }

    /// The HTTP application (every route), for serving it some other way.
    pub fn router(&self) -> Router {
        app(self.handle.clone())
    }

    /// Serves until `shutdown` resolves, then stops taking connections, ends hanging
    /// (timeout-fault) calls and waits for in-flight ones.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let config = self.handle.config();
        tracing::info!(
            addr = %self.local_addr,
            seed = config.seed,
            songs = self.handle.catalog().songs().len(),
            "muze-sim listening"
        );
        let cancel = self.handle.inner.shutdown.clone();
        let listener = self.listener.tap_io(|tcp| {
            // Small JSON answers: don't let Nagle's algorithm delay them.
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app(self.handle.clone()))
            .with_graceful_shutdown(async move {
                shutdown.await;
                cancel.cancel();
            })
            .await
            .context("serving HTTP")?;
        tracing::info!("muze-sim stopped");
        Ok(())
    }

    /// Runs the simulator on a background task (for tests and benchmarks).
    pub fn spawn(self) -> RunningSim {
        let stop = CancellationToken::new();
        let local_addr = self.local_addr;
        let handle = self.handle.clone();
        let task = tokio::spawn(self.run(stop.clone().cancelled_owned()));
        RunningSim {
            local_addr,
            handle,
            stop,
            task: Some(task),
        }
    }
}

/// A simulator running on a background task; stopped by [`RunningSim::stop`] or on drop.
#[derive(Debug)]
pub struct RunningSim {
    local_addr: SocketAddr,
    handle: SimHandle,
    stop: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl RunningSim {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The `BASE_URL` a client of `provider` should use.
    pub fn provider_url(&self, provider: Provider) -> String {
        format!("{}{}", self.base_url(), provider.base_path())
    }

    /// The Spotify token URL (`.../spotify/api/token`).
    pub fn spotify_token_url(&self) -> String {
        format!("{}/spotify/api/token", self.base_url())
    }

    /// A handle to steer the simulator.
    pub fn state(&self) -> SimHandle {
        self.handle.clone()
    }

    /// The catalog currently served.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.handle.catalog()
    }

    /// Shuts the simulator down and waits for it to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.context("simulator task panicked")?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Every route: the five providers, the control routes, and JSON 404/405 for anything else.
pub fn app(handle: SimHandle) -> Router {
    providers::router()
        .merge(control::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(handle)
}

async fn method_not_allowed(request: Request) -> Response {
    control::error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn not_found(request: Request) -> Response {
    control::error(
        StatusCode::NOT_FOUND,
        &format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

/// Generated catalogs by `(seed, songs)`.
type CatalogCache = Mutex<HashMap<(u64, usize), Arc<Catalog>>>;

/// The catalog for `(seed, songs)`, generated once per process.
fn shared_catalog(seed: u64, songs: usize) -> Arc<Catalog> {
    static CATALOGS: OnceLock<CatalogCache> = OnceLock::new();
    let mut catalogs = CATALOGS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    catalogs
        .entry((seed, songs))
        .or_insert_with(|| Arc::new(Catalog::generate(seed, songs)))
        .clone()
}
