//! A `muze-worker` running inside the test's process, on a world's settings.

use std::{net::SocketAddr, time::Duration};

use muze_shared::Settings;
use muze_worker::Worker;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::wait;

/// How long a worker may take to become ready.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// A worker started by [`start`]: its operations address and its task.
#[derive(Debug)]
pub struct InProcessWorker {
    /// `/healthz`, `/readyz`, `/metrics`.
    pub ops: SocketAddr,
    pub task: JoinHandle<()>,
}

/// Builds a worker on `settings`, runs it until `stop` is cancelled, and returns once it is
/// ready (its `/readyz` answers 200: connected, its consumers on their queues).
pub async fn start(settings: Settings, stop: CancellationToken) -> InProcessWorker {
    let worker = Worker::build(settings).await.expect("the worker starts");
    let ops = worker.ops_addr().expect("the worker's ops address");
    let task = tokio::spawn(async move {
        worker
            .run(async move { stop.cancelled().await })
            .await
            .expect("the worker runs");
    });
    wait::ready(&format!("http://{ops}/readyz"), READY_WITHIN, || {
        if task.is_finished() {
            Err("the worker stopped while starting".into())
        } else {
            Ok(())
        }
    })
    .await
    .expect("the worker becomes ready");
    InProcessWorker { ops, task }
}
