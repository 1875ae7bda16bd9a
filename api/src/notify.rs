//! Long-poll wake-ups: Postgres `LISTEN/NOTIFY` fanned out to waiting requests.
//!
//! A worker that finishes a search runs `pg_notify('{namespace}.search_done', id)` in the same
//! transaction that makes it final. Each API process holds ONE listening connection; a
//! background task receives the notifications and wakes the requests waiting on that id. A
//! waiting request therefore costs a map entry, not a database query.
//!
//! A request must [`Notifier::subscribe`] BEFORE it reads the search: a notification that
//! arrives between the read and the wait is then not lost. A [`Subscription`] removes its own
//! entry when dropped (on timeout, or when the client goes away), so nothing leaks.
//!
//! If the listening connection drops, notifications sent meanwhile are lost; so on every loss
//! all waiters are woken to re-read, and the listener reconnects. On shutdown the notifier is
//! closed: every waiter wakes and new subscriptions resolve at once, so long-polls answer
//! promptly instead of holding the server open.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use muze_shared::stage::{self, Stage};
use sqlx::postgres::PgListener;
use tokio::{sync::oneshot, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Pause before retrying after the listener failed to reconnect.
const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// Requests waiting for searches to finish, by search id.
#[derive(Debug, Default)]
pub struct Notifier {
    waiters: Mutex<Waiters>,
}

#[derive(Debug, Default)]
struct Waiters {
    next_key: u64,
    by_search: HashMap<Uuid, HashMap<u64, oneshot::Sender<()>>>,
    /// Shutting down: nobody waits any more.
    closed: bool,
}

impl Notifier {
    pub fn new() -> Notifier {
        Notifier::default()
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // The map stays consistent even if a holder panicked: every operation is one step.
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers interest in `id`. Call before reading the search.
    pub fn subscribe(self: &Arc<Self>, id: Uuid) -> Subscription {
        let (sender, receiver) = oneshot::channel();
        let mut waiters = self.lock();
        let key = waiters.next_key;
        waiters.next_key += 1;
        if waiters.closed {
            let _ = sender.send(());
        } else {
            waiters.by_search.entry(id).or_default().insert(key, sender);
        }
        Subscription {
            notifier: Arc::clone(self),
            id,
            key,
            receiver,
        }
    }

    /// Wakes every request waiting on `id`.
    pub fn wake(&self, id: Uuid) {
        let senders = self.lock().by_search.remove(&id);
        for sender in senders.into_iter().flat_map(HashMap::into_values) {
            let _ = sender.send(());
        }
    }

    /// Wakes every waiting request (they re-read their search).
    pub fn wake_all(&self) {
        let all = std::mem::take(&mut self.lock().by_search);
        for sender in all.into_values().flat_map(HashMap::into_values) {
            let _ = sender.send(());
        }
    }

    /// Wakes everybody and makes later subscriptions resolve immediately (shutdown).
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake_all();
    }

    /// How many requests are waiting (for tests and metrics).
    pub fn waiting(&self) -> usize {
        self.lock().by_search.values().map(HashMap::len).sum()
    }

    fn unsubscribe(&self, id: Uuid, key: u64) {
        let mut waiters = self.lock();
        if let Some(for_search) = waiters.by_search.get_mut(&id) {
            for_search.remove(&key);
            if for_search.is_empty() {
                waiters.by_search.remove(&id);
            }
        }
    }

    /// Starts the task that turns notifications on `listener` into wake-ups. It stops, closing
    /// the notifier, when `stop` is cancelled.
    pub fn spawn_listener(
        self: &Arc<Self>,
        listener: PgListener,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(listen(Arc::clone(self), listener, stop))
    }
}

/// One request's interest in one search. Dropping it withdraws the interest.
#[derive(Debug)]
pub struct Subscription {
    notifier: Arc<Notifier>,
    id: Uuid,
    key: u64,
    receiver: oneshot::Receiver<()>,
}

impl Subscription {
    /// Waits until the search is announced as finished (true) or `timeout` passes (false).
    pub async fn wait(mut self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, &mut self.receiver)
            .await
            .is_ok()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.notifier.unsubscribe(self.id, self.key);
    }
}

async fn listen(notifier: Arc<Notifier>, mut listener: PgListener, stop: CancellationToken) {
    let mut healthy = true;
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => break,
            received = listener.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                healthy = true;
                match notification.payload().parse::<Uuid>() {
                    Ok(id) => {
                        stage::mark(Stage::Woken, Some(id));
                        notifier.wake(id);
                    }
                    Err(_) => tracing::warn!(
                        notify.payload = notification.payload(),
                        "ignoring a search_done notification that is not a search id"
                    ),
                }
            }
            Ok(None) => {
                tracing::warn!(
                    "Postgres notification connection lost; reconnected, waking every long-poll"
                );
                notifier.wake_all();
            }
            Err(e) => {
                if healthy {
                    tracing::warn!(error = %e, "Postgres notification connection down; retrying");
                    healthy = false;
                }
                notifier.wake_all();
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(RECONNECT_BACKOFF) => {}
                }
            }
        }
    }
    notifier.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_only_the_waiters_of_that_search() {
        let notifier = Arc::new(Notifier::new());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let on_a = notifier.subscribe(a);
        let on_b = notifier.subscribe(b);
        notifier.wake(a);
        assert!(on_a.wait(Duration::from_secs(1)).await);
        tokio::time::pause();
        assert!(!on_b.wait(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn dropped_subscriptions_leave_nothing_behind() {
        let notifier = Arc::new(Notifier::new());
        let id = Uuid::now_v7();
        let first = notifier.subscribe(id);
        let second = notifier.subscribe(id);
        assert_eq!(notifier.waiting(), 2);
        drop(first);
        assert_eq!(notifier.waiting(), 1);
        tokio::time::pause();
        assert!(!second.wait(Duration::from_secs(1)).await);
        assert_eq!(notifier.waiting(), 0);
    }

    #[tokio::test]
    async fn closing_wakes_everyone_now_and_later() {
        let notifier = Arc::new(Notifier::new());
        let waiting = notifier.subscribe(Uuid::now_v7());
        notifier.close();
        assert!(waiting.wait(Duration::from_secs(1)).await);
        assert!(
            notifier
                .subscribe(Uuid::now_v7())
                .wait(Duration::from_secs(1))
                .await
        );
        assert_eq!(notifier.waiting(), 0);
    }
}
