//! The accept loop: HTTP/1 connections under a cap, with a header-read timeout (which also
//! ends idle keep-alive connections), a stall timeout on request bodies and on responses the
//! client stops reading, and graceful shutdown. `axum::serve` sets none of these.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

use crate::peer_slots::PeerSlots;

/// Largest request head (request line and headers) a client may send. Also the most a
/// connection buffers while reading, so a thousand slow clients hold at most 64 MiB.
const MAX_HEAD_BYTES: usize = 64 << 10;

/// The connection settings of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Connections open at once; at the cap, no new connection is accepted until one ends.
    pub max_connections: usize,
    /// Time to send a request head, from the connection's start or the previous response.
    pub header_read_timeout: Duration,
    /// Longest wait for the next piece of a request body.
    pub body_stall_timeout: Duration,
    /// Longest wait for the client to take more of a response.
    pub send_stall_timeout: Duration,
}

impl ServeLimits {
    /// The settings of `limits`, with `max_connections` as given (the caller clamps it to the
    /// file-descriptor limit).
    pub fn from_limits(limits: &kura_core::Limits, max_connections: usize) -> Self {
        Self {
            max_connections: max_connections.max(1),
            header_read_timeout: Duration::from_secs(limits.header_read_timeout_secs.max(1)),
            body_stall_timeout: Duration::from_secs(limits.body_stall_timeout_secs.max(1)),
            send_stall_timeout: Duration::from_secs(limits.send_stall_timeout_secs.max(1)),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets the open
/// connections finish their requests (idle ones close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    peers: PeerSlots,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Waiting for a slot before accepting leaves new connections in the kernel's listen
        // queue: they cost the server no file descriptor until they are served.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // One address may hold only its share of the slots: past it, the connection is
        // closed at once (its global slot goes back with `permit`).
        let Some(peer_slot) = peers.enter(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: too many from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, app, limits, stop).await;
            drop(peer_slot);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot: all of them back means every connection has ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut app = app.clone();
        let mut request =
            request.map(|body| axum::body::Body::new(StallBody::new(body, limits.body_stall_timeout)));
        // The peer address feeds the per-address login rate limit.
        request.extensions_mut().insert(ConnectInfo(peer));
        async move {
            match tower_service::Service::call(&mut app, request).await {
                Ok(response) => Ok::<_, Infallible>(response),
                Err(never) => match never {},
            }
        }
    });
    let io = TokioIo::new(StallIo::new(stream, limits.send_stall_timeout));
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut stopping = false;
    let result = loop {
        tokio::select! {
            result = connection.as_mut() => break result,
            // Shutdown (or a dropped sender): finish the request in flight, then close.
            _ = stop.changed(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// The error a stalled body ends with.
#[derive(Debug)]
struct Stalled(Duration);

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body stalled for {} s", self.0.as_secs())
    }
}

impl std::error::Error for Stalled {}

/// A request body that fails when no frame arrives for `timeout` while it is being read. The
/// clock runs only while the reader waits on the client: a handler busy elsewhere between
/// two reads does not count against the client.
struct StallBody<B> {
    inner: B,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    waiting: bool,
}

impl<B> StallBody<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        Self { inner, timeout, sleep: Box::pin(tokio::time::sleep(timeout)), waiting: false }
    }
}

impl<B> Body for StallBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if !this.waiting {
            this.waiting = true;
            let deadline = Instant::now() + this.timeout;
            this.sleep.as_mut().reset(deadline);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                ready!(this.sleep.as_mut().poll(cx));
                this.waiting = false;
                Poll::Ready(Some(Err(Box::new(Stalled(this.timeout)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection whose writes fail when the client takes nothing for `timeout`.
struct StallIo {
    inner: TcpStream,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    waiting: bool,
}

impl StallIo {
    fn new(inner: TcpStream, timeout: Duration) -> Self {
        Self { inner, timeout, sleep: Box::pin(tokio::time::sleep(timeout)), waiting: false }
    }

    /// Runs the stall clock around one write attempt.
    fn watch<T>(&mut self, cx: &mut Context<'_>, attempt: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match attempt {
            Poll::Ready(result) => {
                self.waiting = false;
                Poll::Ready(result)
            }
            Poll::Pending => {
                if !self.waiting {
                    self.waiting = true;
                    let deadline = Instant::now() + self.timeout;
                    self.sleep.as_mut().reset(deadline);
                }
                ready!(self.sleep.as_mut().poll(cx));
                self.waiting = false;
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")))
            }
        }
    }
}

impl AsyncRead for StallIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let attempt = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, attempt)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let attempt = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, attempt)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let attempt = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, attempt)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let attempt = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A body that yields one frame, then never another.
    struct OneThenNothing(bool);

    impl Body for OneThenNothing {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            if self.0 {
                Poll::Pending
            } else {
                self.0 = true;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
            }
        }
    }

    #[tokio::test]
    async fn a_stalled_body_fails_after_the_timeout_and_not_before() {
        let timeout = Duration::from_millis(200);
        let mut body = StallBody::new(OneThenNothing(false), timeout);
        // The handler being busy for longer than the timeout between reads does not count.
        tokio::time::sleep(timeout * 3).await;
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(first.into_data().ok(), Some(Bytes::from_static(b"x")));
        tokio::time::sleep(timeout * 3).await;
        let started = Instant::now();
        let error = body.frame().await.expect("an error").expect_err("stalled");
        assert!(error.to_string().contains("stalled"), "{error}");
        let waited = started.elapsed();
        assert!(waited >= timeout && waited < timeout * 3, "failed after {waited:?}");
    }
}
