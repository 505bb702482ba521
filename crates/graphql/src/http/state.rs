//! What every handler shares: the schema, the service, the tokens, the metrics, the limits.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::auth::Tokens;
use crate::limits::RequestLimits;
pub use crate::metrics::HttpMetrics;
use crate::schema::PromoHubSchema;

/// Bodies above this are refused with 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// How the HTTP layer bounds a request (runtime.md lists each variable).
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub limits: RequestLimits,
    /// Longest a GraphQL request may run before it is answered with REQUEST_TIMEOUT.
    pub request_timeout: Duration,
    /// After SIGTERM, how long requests in flight may take before the server exits anyway.
    pub shutdown_grace: Duration,
    /// Who may read `/metrics`, and where.
    pub metrics: MetricsConfig,
    /// Requests handled at once on the API listener; more are answered 503 at once.
    pub max_concurrent_requests: usize,
    /// A connection that has not sent a whole request head within this is closed.
    pub header_read_timeout: Duration,
    /// Subscriptions over WebSocket (http::ws).
    pub ws: super::sockets::WsConfig,
}

/// `/metrics`: an optional scrape token, an optional listener of its own, the label bound.
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    /// `PROMOHUB_METRICS_TOKEN`: when set, a scrape needs `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
    /// `PROMOHUB_METRICS_LISTEN`: when set, `/metrics` is served there only, not beside the API.
    pub listen: Option<std::net::SocketAddr>,
    /// `PROMOHUB_METRICS_MAX_OPERATIONS`: distinct operation names kept apart.
    pub max_operation_names: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            token: None,
            listen: None,
            max_operation_names: crate::metrics::DEFAULT_MAX_OPERATION_NAMES,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            limits: RequestLimits::default(),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            metrics: MetricsConfig::default(),
            max_concurrent_requests: 256,
            header_read_timeout: Duration::from_secs(10),
            ws: super::sockets::WsConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub schema: PromoHubSchema,
    pub service: promohub_domain::PromoService,
    pub tokens: Tokens,
    pub metrics: Arc<HttpMetrics>,
    pub config: Arc<HttpConfig>,
    /// The background tasks; a required one that is down makes `/readyz` answer 503.
    pub supervisor: crate::supervisor::Supervisor,
    /// Open WebSocket connections (subscriptions).
    pub sockets: super::sockets::Sockets,
}
