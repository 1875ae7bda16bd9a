//! The common front half of every provider call: let it arrive (after the provider's arrival
//! delay, [`crate::arrival`]), count it, apply the provider's latency, then consult the
//! provider's fault — answering outages, errors, timeouts, malformed bodies and forced rate
//! limits right here in the provider's own error shape — before the provider-specific handler
//! (auth, limits, parameters, payload) runs. Because the arrival delay comes first, the
//! limiter the handler runs judges the time the call arrived, not the time it was sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::response::Response;

use crate::catalog::Catalog;
use crate::faults::{Injected, TIMEOUT_HANG};
use crate::provider::Provider;
use crate::providers;
use crate::state::{SimHandle, Verdict};
use crate::stats::Outcome;

/// Provider failures with a provider-specific wire shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// 503: the provider is down.
    Outage,
    /// 500: the provider failed internally.
    ServerError,
    /// The provider's own rate-limit or quota error.
    RateLimited {
        /// Seconds until the next call would be admitted.
        retry_after_secs: u64,
    },
    /// HTTP 200 with an invalid JSON body.
    Malformed,
}

/// One call that got past the fault stage; finish it with [`Call::finish`].
#[derive(Debug)]
pub(crate) struct Call {
    sim: SimHandle,
    provider: Provider,
    /// The `empty` fault applies: answer with a valid empty result.
    pub(crate) empty: bool,
}

/// Which front half a call goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entrance {
    /// A provider API call: it arrives late by the arrival delay and faults apply.
    Api,
    /// Spotify's token endpoint, a separate host in reality that does not count against the
    /// limit: it arrives at once and no fault applies.
    TokenHost,
}

impl SimHandle {
    /// Waits for the call to `endpoint` to arrive, counts it, sleeps the provider's latency
    /// and applies its fault. `Err` carries the finished response when a fault answered the
    /// call.
    pub(crate) async fn enter(&self, provider: Provider, endpoint: &str) -> Result<Call, Response> {
        self.enter_inner(provider, endpoint, Entrance::Api).await
    }

    /// Like [`SimHandle::enter`] but the call arrives at once and faults do not apply
    /// (Spotify's token endpoint, which is a separate host in reality).
    pub(crate) async fn enter_without_faults(
        &self,
        provider: Provider,
        endpoint: &str,
    ) -> Result<Call, Response> {
        self.enter_inner(provider, endpoint, Entrance::TokenHost)
            .await
    }

    async fn enter_inner(
        &self,
        provider: Provider,
        endpoint: &str,
        entrance: Entrance,
    ) -> Result<Call, Response> {
        if entrance == Entrance::Api {
            let arrival = self.sample_arrival(provider);
            if !arrival.is_zero() && !self.sleep(arrival).await {
                // Shut down while the call was on its way: it never reached the provider, so
                // nothing is counted.
                return Err(providers::failure(provider, Failure::Outage));
            }
        }
        let (latency_ms, injected) = {
            let mut state = self.provider(provider);
            state.stats.count_call(endpoint);
            let injected = match entrance {
                Entrance::Api => state.fault.take(Instant::now()),
                Entrance::TokenHost => None,
            };
            (state.latency_ms, injected)
        };
        let mut delay = Duration::from_millis(latency_ms);
        if let Some(Injected::Slow(extra)) = injected {
            delay += extra;
        }
        if !delay.is_zero() && !self.sleep(delay).await {
            return Err(self.finish(
                provider,
                Outcome::Fault,
                providers::failure(provider, Failure::Outage),
            ));
        }
        let failure = match injected {
            None | Some(Injected::Slow(_)) => {
                return Ok(Call {
                    sim: self.clone(),
                    provider,
                    empty: false,
                });
            }
            Some(Injected::Empty) => {
                return Ok(Call {
                    sim: self.clone(),
                    provider,
                    empty: true,
                });
            }
            Some(Injected::Timeout) => {
                // Hang far beyond any client timeout; give up only when shutting down.
                self.sleep(TIMEOUT_HANG).await;
                Failure::Outage
            }
            Some(Injected::Outage) => Failure::Outage,
            Some(Injected::Error) => Failure::ServerError,
            Some(Injected::Malformed) => Failure::Malformed,
            Some(Injected::RateLimited { retry_after_secs }) => {
                Failure::RateLimited { retry_after_secs }
            }
        };
        Err(self.finish(
            provider,
            Outcome::Fault,
            providers::failure(provider, failure),
        ))
    }

    fn finish(&self, provider: Provider, outcome: Outcome, response: Response) -> Response {
        self.provider(provider).stats.count_outcome(outcome);
        response
    }
}

impl Call {
    /// The catalog to answer from.
    pub(crate) fn catalog(&self) -> Arc<Catalog> {
        self.sim.catalog()
    }

    /// Runs the provider's limiter for this call.
    pub(crate) fn admit(&self) -> Verdict {
        self.sim.admit(self.provider)
    }

    /// Records the outcome and hands back the response.
    pub(crate) fn finish(self, outcome: Outcome, response: Response) -> Response {
        self.sim.finish(self.provider, outcome, response)
    }

    /// The provider's failure response, recorded with `outcome`.
    pub(crate) fn fail(self, outcome: Outcome, failure: Failure) -> Response {
        let response = providers::failure(self.provider, failure);
        self.finish(outcome, response)
    }
}
