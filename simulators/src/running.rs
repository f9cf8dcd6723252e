//! Serving a simulator on a socket, the same way for every provider.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A simulator serving on a socket; dropping it stops the server.
#[derive(Debug)]
pub struct Running<S> {
    pub addr: SocketAddr,
    pub sim: S,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl<S> Running<S> {
    /// `http://127.0.0.1:<port>`: the endpoint the provider's client is
    /// pointed at (for Azure and Google it also stands for their token
    /// endpoints).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl<S> Drop for Running<S> {
    fn drop(&mut self) {
        // The signal closes idle keep-alive connections; the abort releases the
        // listening socket right away so that new connections are refused.
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

/// Binds `addr` (use `127.0.0.1:0` in tests) and serves `router` in a tokio
/// task until the returned handle drops; `name` is the simulator in logs.
pub(crate) async fn serve<S>(
    sim: S,
    router: axum::Router,
    addr: SocketAddr,
    name: &'static str,
) -> std::io::Result<Running<S>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                // Fires on send and when the handle is dropped.
                let _ = shutdown_rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, simulator = name, "simulator stopped");
        }
    });
    tracing::info!(%addr, simulator = name, "simulator listening");
    Ok(Running {
        addr,
        sim,
        shutdown: Some(shutdown),
        task,
    })
}
