//! The accept loop: HTTP/1.1 connections served by hyper with a header read timeout (a client
//! that sends its request head too slowly is disconnected), and a graceful shutdown that lets
//! requests in flight finish. `axum::serve` has no header read timeout, hence this.
//!
//! Connections may be upgraded (WebSocket subscriptions, crate::ws). hyper-util's
//! `GracefulShutdown` cannot watch an upgradeable HTTP/1 connection, so shutdown is tracked
//! here: each connection holds a sender of `alive`, and shutdown waits until all are dropped.
//! An upgraded socket leaves hyper's hands (its own task closes it at shutdown).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the connections'
/// requests in flight (idle keep-alive connections are closed at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let (closing, closed) = watch::channel(false);
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let (alive, mut closed) = (alive.clone(), closed.clone());
        tokio::spawn(async move {
            let _alive = alive;
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { let _ = closed.wait_for(|c| *c).await; } => {
                    // Finish the requests in flight; idle keep-alive connections close now.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    drop(alive);
    // None once every connection task has dropped its sender.
    let _ = all_done.recv().await;
}
