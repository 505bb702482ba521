//! The WebSocket connections a process holds open (subscriptions), and their limits.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

/// Bounds of the WebSocket transport (runtime.md lists the variables).
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// `PROMOHUB_MAX_WS_CONNECTIONS`: open sockets per process.
    pub max_connections: usize,
    /// `PROMOHUB_MAX_SUBSCRIPTIONS_PER_CONNECTION`: active subscriptions on one socket.
    pub max_subscriptions: usize,
    /// `PROMOHUB_WS_INIT_TIMEOUT_MS`: how long a socket may go without `connection_init`.
    pub init_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            max_subscriptions: 20,
            init_timeout: Duration::from_secs(10),
        }
    }
}

/// The open sockets of one server, and the signal that closes them at shutdown.
#[derive(Clone)]
pub struct Sockets {
    pub(super) permits: Arc<Semaphore>,
    pub(super) max: usize,
    pub(super) closing: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sockets({} open)", self.open())
    }
}

impl Sockets {
    pub fn new(config: &WsConfig) -> Self {
        let max = config.max_connections.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
            closing: Arc::new(watch::channel(false).0),
        }
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.max - self.permits.available_permits()
    }

    /// Closes every socket (1001, going away): the server is stopping.
    pub fn shut_down(&self) {
        self.closing.send_replace(true);
    }
}
