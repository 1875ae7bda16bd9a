//! Keeps a running job's lease alive while it runs.
//!
//! A claim holds a job for `worker.lease_secs`; the sweeper hands a job whose lease ran out to
//! another worker, as if its worker had died. A job can outlive its lease while alive (a slow
//! provider, a token refresh, waits for budget), so while it runs its lease is renewed every
//! third of its length. A renewal that finds the job no longer held by this claim (another
//! worker took it over, or it is final), or renewals failing until the lease has surely run
//! out, mark the lease lost: the job then stops before spending another provider call.

use std::{future::Future, time::Duration};

use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

/// A running job's lease, renewed in the background until dropped.
#[derive(Debug)]
pub struct Lease {
    lost: CancellationToken,
    renewing: JoinHandle<()>,
}

impl Lease {
    /// Starts renewing a lease of length `lease`, just taken. `renew` extends it by `lease`
    /// from now and says whether this claim still holds the job.
    pub fn keep<F, Fut>(lease: Duration, renew: F) -> Lease
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<bool, sqlx::Error>> + Send,
    {
        let lost = CancellationToken::new();
        let every = (lease / 3).max(Duration::from_millis(100));
        let renewing = tokio::spawn({
            let lost = lost.clone();
            async move {
                let mut held_until = Instant::now() + lease;
                loop {
                    tokio::time::sleep(every).await;
                    let asked = Instant::now();
                    match renew().await {
                        Ok(true) => held_until = asked + lease,
                        Ok(false) => {
                            tracing::warn!("lease lost: the job is no longer ours");
                            lost.cancel();
                            return;
                        }
                        Err(e) if Instant::now() >= held_until => {
                            tracing::warn!(error = %e, "lease lost: it ran out while it could not be renewed");
                            lost.cancel();
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "could not renew the lease; trying again")
                        }
                    }
                }
            }
        });
        Lease { lost, renewing }
    }

    /// Cancelled once the lease is lost.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    };

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_held_lease_is_renewed_every_third_of_its_length() {
        let renewals = Arc::new(AtomicU32::new(0));
        let lease = Lease::keep(Duration::from_secs(30), {
            let renewals = renewals.clone();
            move || {
                renewals.fetch_add(1, Ordering::SeqCst);
                async { Ok(true) }
            }
        });
        tokio::time::sleep(Duration::from_secs(95)).await;
        assert_eq!(renewals.load(Ordering::SeqCst), 9);
        assert!(!lease.lost().is_cancelled());
        drop(lease);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(
            renewals.load(Ordering::SeqCst),
            9,
            "renewals stop with the lease"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_taken_over_is_lost_at_the_next_renewal() {
        let lease = Lease::keep(Duration::from_secs(3), || async { Ok(false) });
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(!lease.lost().is_cancelled());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(lease.lost().is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_renewals_lose_the_lease_only_once_it_has_run_out() {
        let lease = Lease::keep(Duration::from_secs(3), || async {
            Err(sqlx::Error::PoolTimedOut)
        });
        tokio::time::sleep(Duration::from_millis(2_900)).await;
        assert!(!lease.lost().is_cancelled(), "still held until 3 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(lease.lost().is_cancelled());
    }
}
