//! The sandbox on a port: served until shut down, or started in a test's process.

use std::future::Future;
use std::net::SocketAddr;

use crate::{Provider, SandboxConfig, SandboxState, build};

/// Serves the sandbox on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SandboxConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (router, _, _) = build(config)?;
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// A sandbox running in this process on an ephemeral port of 127.0.0.1; stops when dropped.
pub struct RunningSandbox {
    addr: SocketAddr,
    state: SandboxState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    pub async fn start(config: SandboxConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(listener, config).await
    }

    pub async fn start_on(
        listener: tokio::net::TcpListener,
        config: SandboxConfig,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let (router, _, state) = build(config)?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: the control API lives under `/_sandbox` here.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The provider's base URL, to use as `FLEX_API_URL` etc.
    pub fn base_url(&self, provider: Provider) -> String {
        format!("http://{}{}", self.addr, provider.mount())
    }

    pub fn key(&self, provider: Provider) -> &str {
        self.state.key(provider)
    }

    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Stops taking requests and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
