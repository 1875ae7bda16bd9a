//! Records, off the response path, that the broker confirmed searches' messages
//! (`searches.published_at`, which tells the sweeper a message exists).
//!
//! One `UPDATE` carries every confirmation that arrived while the previous one ran: one at a
//! time when searches are few, in batches under load, so the record costs Postgres one
//! statement and one commit per batch rather than per search. Nothing waits on a timer. A
//! record that is lost (the process stops first, the queue of records is full, Postgres is
//! down) leaves the job looking unconfirmed, and the sweeper publishes it once more, which the
//! worker tolerates (a duplicate finds the job taken or final).

use muze_shared::db::searches;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Confirmations waiting to be recorded at most; past it they are dropped (see above).
const QUEUED_AT_MOST: usize = 10_000;
/// Confirmations one statement records at most.
const BATCH_AT_MOST: usize = 500;

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct PublishedMarks {
    sender: mpsc::Sender<Uuid>,
}

impl PublishedMarks {
    /// Starts the task that records confirmations into `pool`; it ends when every sender is
    /// dropped. Must be called inside a Tokio runtime.
    pub fn spawn(pool: PgPool) -> PublishedMarks {
        let (sender, receiver) = mpsc::channel(QUEUED_AT_MOST);
        tokio::spawn(record(pool, receiver));
        PublishedMarks { sender }
    }

    /// Queues the record that `id`'s message was confirmed.
    pub fn confirmed(&self, id: Uuid) {
        if self.sender.try_send(id).is_err() {
            tracing::warn!(search.id = %id, "too many publish records queued; the sweeper will publish this search again");
        }
    }
}

async fn record(pool: PgPool, mut receiver: mpsc::Receiver<Uuid>) {
    let mut batch = Vec::with_capacity(BATCH_AT_MOST);
    while receiver.recv_many(&mut batch, BATCH_AT_MOST).await > 0 {
        if let Err(e) = searches::mark_published_all(&pool, &batch).await {
            tracing::warn!(count = batch.len(), error = %e, "could not record the publishes; the sweeper will publish those searches again");
        }
        batch.clear();
    }
}
