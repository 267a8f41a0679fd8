//! Accepting connections: HTTP/1.1 through hyper, over TLS when configured,
//! with a cap on open connections, a deadline for each request's headers
//! (which also closes idle keep-alive connections), and graceful shutdown
//! that lets requests in flight finish.
//!
//! A client that opens connections and sends nothing, or sends headers a
//! byte at a time, holds a connection slot for at most the header timeout
//! (the TLS handshake included); past the cap, new connections wait in the
//! kernel's backlog instead of taking memory and file descriptors.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::rt::{Read, Write};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::tls::Tls;

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for
/// open connections to finish their requests (at most `drain`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let http = http.clone();
        let watcher = graceful.watcher();
        let acceptor = tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(async move {
            match acceptor {
                None => connection(&http, TokioIo::new(stream), router, remote, watcher).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(stream)) => {
                            connection(&http, TokioIo::new(stream), router, remote, watcher).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%remote, error = %err, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open after {} s of shutdown were closed",
            drain.as_secs()
        );
    }
    Ok(())
}

/// Serves one connection's requests until it closes.
async fn connection<I>(
    http: &hyper::server::conn::http1::Builder,
    io: I,
    router: Router,
    remote: SocketAddr,
    watcher: Watcher,
) where
    I: Read + Write + Unpin + Send + 'static,
{
    let service = router.map_request(move |request: hyper::Request<hyper::body::Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        request
    });
    let served = http.serve_connection(io, TowerToHyperService::new(service));
    if let Err(err) = watcher.watch(served).await {
        tracing::debug!(%remote, error = %err, "connection ended with an error");
    }
}

/// Whether `addr` can only be reached from this machine.
pub fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().is_loopback()
}
