//! The HTTP server loop: accepts connections and serves the router over HTTP/1.1, with the
//! limits that keep a hostile or broken client from holding the process.
//!
//! - **Header-read timeout.** A client must send a request's headers within
//!   [`ServerLimits::header_read_timeout`]; a client dribbling bytes is cut off. The same timer
//!   runs while a kept-alive connection waits for its next request, so it is also the idle
//!   timeout of a connection between requests.
//! - **Idle timeout.** A connection with no byte read or written for
//!   [`ServerLimits::idle_timeout`] is closed, whatever it is doing (a request's body sent one
//!   byte at a time meets this; a long-poll never does: it lasts at most 30 s).
//! - **Connection cap.** At most [`ServerLimits::max_connections`] connections are served at
//!   once. One more is still read, but only to answer 503 `overloaded` with `Retry-After` and
//!   `Connection: close`, so the client learns to come back instead of seeing a reset.
//!
//! Shutdown stops accepting, lets each connection finish its request in flight, and waits.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{body::Body, response::IntoResponse, Router};
use hyper::{body::Incoming, server::conn::http1, Request, Response};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use muze_shared::config::ApiSettings;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::Instant,
};

use crate::error::ApiError;

/// Seconds a client refused for the connection cap is told to wait. Connections are short;
/// a second is long enough for some to end, short enough not to lose an interactive user.
pub const OVERLOADED_RETRY_AFTER_SECS: u64 = 1;

/// The limits the server loop applies.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Longest a client may take to send a request's headers (or to start its next request).
    pub header_read_timeout: Duration,
    /// Longest a connection may go without a byte read or written.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl ServerLimits {
    /// The limits configured under `MUZE__API__*`.
    pub fn from_settings(api: &ApiSettings) -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(api.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(api.idle_timeout_secs),
            max_connections: api.max_connections,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains the open connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut refusing = builder.clone();
    refusing.keep_alive(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: the listener
                    // itself is fine; pause briefly so a descriptor shortage is not a spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (io, watchdog) = Watched::new(stream, limits.idle_timeout);
        match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => {
                let service = TowerToHyperService::new(app.clone());
                let connection =
                    graceful.watch(builder.serve_connection(TokioIo::new(io), service));
                tokio::spawn(async move {
                    let _permit = permit;
                    tokio::select! {
                        result = connection => {
                            if let Err(e) = result {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        }
                        () = watchdog.idle() => tracing::debug!("idle connection closed"),
                    }
                });
            }
            Err(_) => {
                metrics::counter!(muze_shared::metric_families::HTTP_CONNECTIONS_REFUSED)
                    .increment(1);
                let connection = graceful.watch(
                    refusing
                        .serve_connection(TokioIo::new(io), hyper::service::service_fn(overloaded)),
                );
                tokio::spawn(async move {
                    tokio::select! {
                        _ = connection => {}
                        () = watchdog.idle() => {}
                    }
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The answer to every request on a connection over the cap.
async fn overloaded(
    _request: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    Ok(ApiError::Overloaded {
        retry_after_secs: OVERLOADED_RETRY_AFTER_SECS,
    }
    .into_response())
}

/// A stream that notes the time of its last read or write, so [`Watchdog::idle`] can tell
/// when it has been silent too long.
#[derive(Debug)]
struct Watched {
    stream: TcpStream,
    /// Milliseconds since `epoch` of the last byte moved.
    last_active: Arc<AtomicU64>,
    epoch: Instant,
}

/// Resolves when its [`Watched`] stream has been silent for the idle timeout.
#[derive(Debug)]
struct Watchdog {
    last_active: Arc<AtomicU64>,
    epoch: Instant,
    idle_timeout: Duration,
}

impl Watched {
    fn new(stream: TcpStream, idle_timeout: Duration) -> (Watched, Watchdog) {
        let last_active = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let watchdog = Watchdog {
            last_active: Arc::clone(&last_active),
            epoch,
            idle_timeout,
        };
        (
            Watched {
                stream,
                last_active,
                epoch,
            },
            watchdog,
        )
    }

    fn touch(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active.store(now, Ordering::Relaxed);
    }
}

impl Watchdog {
    async fn idle(self) {
        loop {
            let last = Duration::from_millis(self.last_active.load(Ordering::Relaxed));
            let deadline = self.epoch + last + self.idle_timeout;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
