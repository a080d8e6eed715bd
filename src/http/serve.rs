//! Accepting connections within bounds.
//!
//! `axum::serve` gives hyper no timer, so a client could open connections
//! and send their headers a byte a minute (each holding hyper's read
//! buffer) for ever, and open as many as the process has file descriptors.
//! This loop serves the same router, with:
//! - at most `ATELYA_MAX_CONNECTIONS` HTTP connections at once, and at most
//!   `ATELYA_MAX_CONNECTIONS_PER_ADDRESS` from one client address (not
//!   behind a trusted proxy, where every connection is the proxy's); a
//!   connection over either is closed at once;
//! - request headers read within `ATELYA_HEADER_READ_TIMEOUT_SECS` (an idle
//!   kept-alive connection too), into a buffer of at most [`READ_BUFFER`];
//! - graceful shutdown: stop accepting, let requests in flight finish.
//!
//! Upgraded websockets leave the HTTP connection (and its count) behind;
//! their own bounds are per user and per client address (`caps`), and the
//! realtime layer's per socket.

use std::{future::Future, net::IpAddr, sync::Arc, time::Duration};

use axum::{extract::ConnectInfo, Router};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

use super::caps::Counts;

/// Most bytes hyper buffers while reading one connection's requests: a
/// head larger than this is refused with 431.
pub const READ_BUFFER: usize = 96 * 1024;

/// How many connections may be open, in all and per client address.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub connections: usize,
    /// `None` behind a trusted proxy.
    pub per_address: Option<usize>,
    pub header_read_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for
/// the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    bounds: Bounds,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(bounds.connections));
    let per_address = Arc::new(Counts::<IpAddr>::default());
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_read_timeout)
        .max_buf_size(READ_BUFFER);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, say: wait rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            crate::telemetry::rate_limited("connections");
            continue;
        };
        let address = match bounds.per_address {
            Some(max) => match per_address.admit(peer.ip(), max) {
                Some(admitted) => Some(admitted),
                None => {
                    crate::telemetry::rate_limited("connections_per_address");
                    continue;
                }
            },
            None => None,
        };
        let service = router.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_byte = bounds.header_read_timeout;
        tokio::spawn(async move {
            // Telling HTTP/1 from HTTP/2 waits for the first bytes with no
            // timer of hyper's: a connection that sends nothing ends here.
            let mut first = [0u8; 1];
            let sent = tokio::time::timeout(first_byte, stream.peek(&mut first)).await;
            if matches!(sent, Ok(Ok(1))) {
                let service = TowerToHyperService::new(service);
                let connection =
                    builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                if let Err(err) = watcher.watch(connection.into_owned()).await {
                    tracing::debug!(error = %err, "a connection ended with an error");
                }
            }
            drop((permit, address));
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The bounds the configuration asks for.
pub fn bounds_of(config: &crate::config::Config) -> Bounds {
    Bounds {
        connections: config.limits.max_connections.max(1),
        per_address: (!config.trust_proxy)
            .then_some(config.limits.max_connections_per_address.max(1)),
        header_read_timeout: Duration::from_secs(config.limits.header_read_timeout_secs.max(1)),
    }
}
