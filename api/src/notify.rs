//! Long-poll wake-ups: Postgres `LISTEN/NOTIFY` fanned out to waiting requests.
//!
//! A worker that finishes a search runs `pg_notify('{namespace}.search_done', …)` in the same
//! transaction that makes it final, with the finished search as the API shows it (or its id
//! alone, when that is too long for a notification; `searches::read_finished`). Each API
//! process holds ONE listening connection; a background task receives the notifications and
//! wakes the requests waiting on that search, handing them the search it carried. A waiting
//! request therefore costs a map entry, and its answer no database query.
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

use muze_shared::{
    db::searches::{self, Finished},
    domain::SearchView,
    stage::{self, Stage},
};
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
    by_search: HashMap<Uuid, HashMap<u64, oneshot::Sender<Woken>>>,
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
            let _ = sender.send(None);
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

    /// Wakes every request waiting on `id`, handing each the finished search if known.
    pub fn wake(&self, id: Uuid, finished: Option<Arc<SearchView>>) {
        let senders = self.lock().by_search.remove(&id);
        for sender in senders.into_iter().flat_map(HashMap::into_values) {
            let _ = sender.send(finished.clone());
        }
    }

    /// Wakes every waiting request (they re-read their search).
    pub fn wake_all(&self) {
        let all = std::mem::take(&mut self.lock().by_search);
        for sender in all.into_values().flat_map(HashMap::into_values) {
            let _ = sender.send(None);
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
    receiver: oneshot::Receiver<Woken>,
}

/// What woke a waiting request: the finished search, or `None` when it must read it (the
/// notification carried only the id, or every waiter was woken).
pub type Woken = Option<Arc<SearchView>>;

/// How a wait ended.
#[derive(Debug)]
pub enum Waited {
    /// The search was announced as finished (with it, if the announcement carried it), or
    /// waiters were woken to read it again.
    Woken(Woken),
    /// The wait ran out.
    TimedOut,
}

impl Subscription {
    /// Waits until the search is announced as finished or `timeout` passes.
    pub async fn wait(mut self, timeout: Duration) -> Waited {
        match tokio::time::timeout(timeout, &mut self.receiver).await {
            Ok(Ok(woken)) => Waited::Woken(woken),
            // The sender went without a word: nothing is known; read again.
            Ok(Err(_)) => Waited::Woken(None),
            Err(_) => Waited::TimedOut,
        }
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
                match searches::read_finished(notification.payload()) {
                    Ok(Finished::View(view)) => {
                        stage::mark(Stage::Woken, Some(view.id));
                        notifier.wake(view.id, Some(Arc::new(view)));
                    }
                    Ok(Finished::Id(id)) => {
                        stage::mark(Stage::Woken, Some(id));
                        notifier.wake(id, None);
                    }
                    Err(e) => tracing::warn!(
                        error = %e,
                        notify.payload.len = notification.payload().len(),
                        "ignoring a search_done notification that is neither a search nor its id"
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

    fn woken(waited: &Waited) -> bool {
        matches!(waited, Waited::Woken(_))
    }

    #[tokio::test]
    async fn wakes_only_the_waiters_of_that_search() {
        let notifier = Arc::new(Notifier::new());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let on_a = notifier.subscribe(a);
        let on_b = notifier.subscribe(b);
        notifier.wake(a, None);
        assert!(woken(&on_a.wait(Duration::from_secs(1)).await));
        tokio::time::pause();
        assert!(!woken(&on_b.wait(Duration::from_secs(5)).await));
    }

    #[tokio::test]
    async fn every_waiter_of_a_search_gets_the_search_it_was_woken_with() {
        let notifier = Arc::new(Notifier::new());
        let id = Uuid::now_v7();
        let (first, second) = (notifier.subscribe(id), notifier.subscribe(id));
        let view = Arc::new(SearchView {
            id,
            query: "Dynamite BTS".into(),
            search_type: muze_shared::domain::SearchType::Track,
            status: muze_shared::domain::SearchStatus::Succeeded,
            source: Some("spotify".into()),
            attempts: Vec::new(),
            created_at: chrono::Utc::now(),
            finished_at: Some(chrono::Utc::now()),
            error: None,
            results: Vec::new(),
        });
        notifier.wake(id, Some(Arc::clone(&view)));
        for waiting in [first, second] {
            match waiting.wait(Duration::from_secs(1)).await {
                Waited::Woken(Some(got)) => assert!(Arc::ptr_eq(&got, &view)),
                other => panic!("woken without the search: {other:?}"),
            }
        }
        assert_eq!(notifier.waiting(), 0);
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
        assert!(!woken(&second.wait(Duration::from_secs(1)).await));
        assert_eq!(notifier.waiting(), 0);
    }

    #[tokio::test]
    async fn closing_wakes_everyone_now_and_later() {
        let notifier = Arc::new(Notifier::new());
        let waiting = notifier.subscribe(Uuid::now_v7());
        notifier.close();
        assert!(matches!(
            waiting.wait(Duration::from_secs(1)).await,
            Waited::Woken(None)
        ));
        assert!(woken(
            &notifier
                .subscribe(Uuid::now_v7())
                .wait(Duration::from_secs(1))
                .await
        ));
        assert_eq!(notifier.waiting(), 0);
    }
}
