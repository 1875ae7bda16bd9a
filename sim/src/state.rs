//! The simulator's shared state and [`SimHandle`], the cheap-to-clone handle through which
//! tests, benchmarks and the `/_control` routes steer it: faults, latency, arrival delays,
//! limits, stats and new releases.
//!
//! Per-provider state sits behind one `std::sync::Mutex` per provider, held only for a few
//! counter updates per call; the catalog is an `Arc` swapped copy-on-write when releases are
//! added, so searches never hold a lock.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio_util::sync::CancellationToken;

use crate::arrival::{ArrivalDelay, ArrivalDelayError};
use crate::catalog::{Catalog, Song};
use crate::config::{ProviderLimitConfig, SimConfig};
use crate::faults::{ActiveFault, Fault, FaultKind};
use crate::limits::{Admission, DailyQuota, LimitConfig, RollingWindow};
use crate::provider::Provider;
use crate::providers::spotify::TokenStore;
use crate::stats::{ProviderStats, Stats};

/// The end of a sleep that [`SimHandle::sleep`] spends on a blocking thread: more than the
/// timer's own overshoot (up to 2 ms).
const PRECISE_TAIL: Duration = Duration::from_millis(3);

/// Tracks per album when new releases are added by song count.
pub const DEFAULT_TRACKS_PER_NEW_ALBUM: usize = 4;

/// Mixed into the catalog seed to seed each provider's arrival-delay generator: an odd
/// constant (2^64 / golden ratio) whose multiples spread the five providers' seeds far apart
/// and away from the catalog's own stream, so one seed replays the same delays per provider.
const ARRIVAL_SEED_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// Mutable state of one provider.
#[derive(Debug)]
pub(crate) struct ProviderState {
    pub(crate) limits: ProviderLimitConfig,
    pub(crate) window: RollingWindow,
    pub(crate) quota: DailyQuota,
    pub(crate) fault: ActiveFault,
    pub(crate) latency_ms: u64,
    pub(crate) arrival: ArrivalDelay,
    /// Draws each call's arrival delay; seeded from the catalog seed.
    pub(crate) arrival_rng: StdRng,
    pub(crate) stats: ProviderStats,
}

impl ProviderState {
    /// The state of `provider` at start-up (and after a reset): as configured, nothing
    /// counted.
    fn initial(config: &SimConfig, provider: Provider) -> Self {
        let salt = ARRIVAL_SEED_SALT.wrapping_mul(provider.index() as u64 + 1);
        ProviderState {
            limits: config.limits(provider),
            window: RollingWindow::default(),
            quota: DailyQuota::default(),
            fault: ActiveFault::default(),
            latency_ms: config.latency_ms,
            arrival: config.arrival(provider),
            arrival_rng: StdRng::seed_from_u64(config.seed ^ salt),
            stats: ProviderStats::default(),
        }
    }
}

/// The limiter's answer to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Admitted; `remaining` more calls fit in the rolling window `limit` (if one is set).
    Admitted {
        limit: Option<LimitConfig>,
        remaining: Option<u32>,
    },
    /// A violation: the earliest admission is `retry_after` from now.
    Limited { retry_after: Duration },
}

/// Everything the routes share.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) config: SimConfig,
    providers: [Mutex<ProviderState>; Provider::ALL.len()],
    catalog: RwLock<Arc<Catalog>>,
    catalog_writer: Mutex<()>,
    pub(crate) tokens: TokenStore,
    pub(crate) shutdown: CancellationToken,
}

/// A handle on a running (or about to run) simulator. Cloning is cheap; every clone steers
/// the same simulator.
#[derive(Clone)]
pub struct SimHandle {
    pub(crate) inner: Arc<SimState>,
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle")
            .field("seed", &self.inner.config.seed)
            .field("songs", &self.catalog().songs().len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimHandle {
    pub(crate) fn new(config: SimConfig, catalog: Arc<Catalog>) -> SimHandle {
        let providers = Provider::ALL.map(|p| Mutex::new(ProviderState::initial(&config, p)));
        SimHandle {
            inner: Arc::new(SimState {
                config,
                providers,
                catalog: RwLock::new(catalog),
                catalog_writer: Mutex::new(()),
                tokens: TokenStore::default(),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    pub(crate) fn provider(&self, provider: Provider) -> MutexGuard<'_, ProviderState> {
        lock(&self.inner.providers[provider.index()])
    }

    /// The configuration the simulator was built with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The catalog currently served (a snapshot: later releases replace it).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner
            .catalog
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets the fault of `provider` (a [`FaultKind`] or a [`Fault`] with a count/duration).
    /// `ExpireTokens` acts at once (Spotify: every token issued so far stops working) and
    /// leaves the provider without a fault; `None` clears.
    pub fn set_fault(&self, provider: Provider, fault: impl Into<Fault>) {
        let fault = fault.into();
        if fault.kind == FaultKind::ExpireTokens {
            if provider == Provider::Spotify {
                self.inner.tokens.expire_all();
            }
            self.provider(provider).fault.clear();
            return;
        }
        self.provider(provider).fault.set(fault, Instant::now());
    }

    /// Removes the fault of `provider`.
    pub fn clear_fault(&self, provider: Provider) {
        self.provider(provider).fault.clear();
    }

    /// The fault in force on `provider` (with the calls it has left), if any.
    pub fn fault(&self, provider: Provider) -> Option<Fault> {
        self.provider(provider).fault.current(Instant::now())
    }

    /// Latency added to every call of `provider` from now on.
    pub fn set_latency(&self, provider: Provider, ms: u64) {
        self.provider(provider).latency_ms = ms;
    }

    /// The latency currently added to calls of `provider`.
    pub fn latency(&self, provider: Provider) -> u64 {
        self.provider(provider).latency_ms
    }

    /// How late calls to `provider` arrive from now on (calls already on their way keep the
    /// delay they drew); [`ArrivalDelay::OFF`] turns it off. Refuses an invalid delay and
    /// keeps the current one.
    pub fn set_arrival(
        &self,
        provider: Provider,
        arrival: ArrivalDelay,
    ) -> Result<(), ArrivalDelayError> {
        arrival.validate()?;
        self.provider(provider).arrival = arrival;
        Ok(())
    }

    /// The arrival delay currently applied to calls of `provider`.
    pub fn arrival(&self, provider: Provider) -> ArrivalDelay {
        self.provider(provider).arrival
    }

    /// Draws how late the call now being made to `provider` arrives.
    pub(crate) fn sample_arrival(&self, provider: Provider) -> Duration {
        let mut guard = self.provider(provider);
        let state = &mut *guard;
        state.arrival.sample(&mut state.arrival_rng)
    }

    /// Sets (`LimitConfig`) or disables (`None`) the rolling limit of `provider`. Calls
    /// already logged stay in the window.
    pub fn set_limit(&self, provider: Provider, limit: impl Into<Option<LimitConfig>>) {
        self.provider(provider).limits.limit = limit.into();
    }

    /// Sets or disables the daily quota of `provider` (YouTube's kind of limit).
    pub fn set_daily_quota(&self, provider: Provider, quota: Option<u32>) {
        self.provider(provider).limits.daily_quota = quota;
    }

    /// The limits currently in force on `provider`.
    pub fn limits(&self, provider: Provider) -> ProviderLimitConfig {
        self.provider(provider).limits
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> Stats {
        let now = Instant::now();
        let today = Utc::now();
        let providers: BTreeMap<Provider, ProviderStats> = Provider::ALL
            .into_iter()
            .map(|p| {
                let mut state = self.provider(p);
                let limits = state.limits;
                let in_window = limits.limit.map_or(0, |l| state.window.in_window(&l, now));
                let quota_used = state.quota.used(today);
                let mut stats = state.stats.clone();
                stats.limit = limits.limit;
                stats.daily_quota = limits.daily_quota;
                stats.in_window = in_window;
                stats.quota_used = quota_used;
                (p, stats)
            })
            .collect();
        Stats::from_providers(providers)
    }

    /// Back to the state at start-up: faults cleared, latency, arrival delays and limits as
    /// configured (arrival delays replay from the start of their seed), counters zeroed,
    /// limiter windows and quotas emptied. Issued tokens and added releases stay.
    pub fn reset(&self) {
        for p in Provider::ALL {
            *self.provider(p) = ProviderState::initial(&self.inner.config, p);
        }
    }

    /// Adds `n` new songs (released within the last two weeks, `is_new = true`), grouped
    /// into albums of [`DEFAULT_TRACKS_PER_NEW_ALBUM`] tracks (the last one may be shorter).
    pub fn add_new_releases(&self, n: usize) -> Vec<Song> {
        let full = n / DEFAULT_TRACKS_PER_NEW_ALBUM;
        let rest = n % DEFAULT_TRACKS_PER_NEW_ALBUM;
        self.update_catalog(|c, today| {
            let mut songs = c.add_new_releases(full, DEFAULT_TRACKS_PER_NEW_ALBUM, today);
            if rest > 0 {
                songs.extend(c.add_new_releases(1, rest, today));
            }
            songs
        })
    }

    /// Adds `albums` new albums of `tracks_per_album` songs each and returns the songs.
    pub fn add_new_release_albums(&self, albums: usize, tracks_per_album: usize) -> Vec<Song> {
        self.update_catalog(|c, today| c.add_new_releases(albums, tracks_per_album, today))
    }

    fn update_catalog(
        &self,
        change: impl FnOnce(&mut Catalog, chrono::NaiveDate) -> Vec<Song>,
    ) -> Vec<Song> {
        let _writer = lock(&self.inner.catalog_writer);
        let mut next = (*self.catalog()).clone();
        let songs = change(&mut next, Utc::now().date_naive());
        *self
            .inner
            .catalog
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        songs
    }

    /// Runs the limiter of `provider` for one call: the rolling window first, then the daily
    /// quota; a call refused by either is not logged by the other.
    pub(crate) fn admit(&self, provider: Provider) -> Verdict {
        let now = Instant::now();
        let mut guard = self.provider(provider);
        let state = &mut *guard;
        let limits = state.limits;
        let mut remaining = None;
        if let Some(limit) = &limits.limit {
            match state.window.try_admit(limit, now) {
                Admission::Admitted { remaining: r } => {
                    tracing::debug!(provider = %provider, remaining = r, "call admitted");
                    remaining = Some(r);
                }
                Admission::Rejected { retry_after } => {
                    tracing::warn!(
                        provider = %provider,
                        limit = %limit,
                        "call over the provider's limit: a violation"
                    );
                    return Verdict::Limited { retry_after };
                }
            }
        }
        if let Some(quota) = limits.daily_quota {
            let utc_now = Utc::now();
            let (ok, resets_at) = state.quota.try_spend(quota, utc_now);
            if !ok {
                if limits.limit.is_some() {
                    state.window.undo_last();
                }
                let retry_after = (resets_at - utc_now).to_std().unwrap_or_default();
                return Verdict::Limited { retry_after };
            }
        }
        Verdict::Admitted {
            limit: limits.limit,
            remaining,
        }
    }

    /// Sleeps for `d` unless the simulator shuts down first; returns whether it slept fully.
    ///
    /// To within a fraction of a millisecond: tokio's timer rounds a deadline up to its next
    /// millisecond tick and its driver parks in whole milliseconds, which made a 50 ms latency
    /// 51.5 ms (median). So all but the last [`PRECISE_TAIL`] is slept on the timer, the rest
    /// on a blocking thread (`nanosleep`), which holds a thread for those few milliseconds only.
    pub(crate) async fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let precise = async {
            if let Some(coarse) = d.checked_sub(PRECISE_TAIL) {
                tokio::time::sleep(coarse).await;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                let _ = tokio::task::spawn_blocking(move || std::thread::sleep(left)).await;
            }
        };
        tokio::select! {
            () = precise => true,
            () = self.inner.shutdown.cancelled() => false,
        }
    }
}
