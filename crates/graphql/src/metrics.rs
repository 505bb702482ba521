//! `/metrics` in Prometheus text format (0.0.4), through `prometheus-client`: GraphQL requests
//! and latency per operation, supervised task restarts, provider calls with latency and errors
//! per provider, write attempts, and the outbox depth.
//!
//! Operation names come from clients, so they are bounded: only a name the document defines
//! is recorded (see http/execute.rs), cut to 64 characters, at most `max_operation_names` distinct
//! names (`PROMOHUB_METRICS_MAX_OPERATIONS`); the rest count as `other`.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use promohub_domain::metrics::latency_histogram;

use crate::supervisor::Supervisor;

/// Longer operation names are cut to this many characters.
pub const MAX_OPERATION_NAME_CHARS: usize = 64;
/// Distinct operation names kept apart by default.
pub const DEFAULT_MAX_OPERATION_NAMES: usize = 100;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    task: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LinkLabels {
    provider: &'static str,
    state: &'static str,
}

/// The server's registry and the metrics the HTTP layer records.
pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    names: Mutex<BTreeSet<String>>,
    max_names: usize,
    task_restarts: Family<TaskLabels, Counter>,
    task_up: Family<TaskLabels, Gauge>,
    links: Family<LinkLabels, Gauge>,
    outbox_depth: Gauge,
}

impl HttpMetrics {
    /// A registry with the HTTP metrics and the provider metrics of `domain`.
    pub fn new(max_operation_names: usize, domain: &promohub_domain::metrics::Metrics) -> Self {
        let mut registry = Registry::default();
        let requests: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "promohub_graphql_request_duration_seconds",
            "GraphQL requests by operation and HTTP status",
            requests.clone(),
        );
        let task_restarts = Family::<TaskLabels, Counter>::default();
        registry.register(
            "promohub_task_restarts",
            "Restarts of supervised background tasks after a panic, an error or an early end",
            task_restarts.clone(),
        );
        let task_up = Family::<TaskLabels, Gauge>::default();
        registry.register(
            "promohub_task_up",
            "Whether a supervised background task is running (1) or waiting to restart (0)",
            task_up.clone(),
        );
        domain.register(&mut registry);
        let links = Family::<LinkLabels, Gauge>::default();
        registry.register(
            "promohub_provider_links",
            "Codes on each provider by sync state",
            links.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "promohub_outbox_depth",
            "Provider writes waiting to be retried",
            outbox_depth.clone(),
        );
        Self {
            registry,
            requests,
            names: Mutex::default(),
            max_names: max_operation_names,
            task_restarts,
            task_up,
            links,
            outbox_depth,
        }
    }

    pub fn task_restarted(&self, task: &'static str) {
        self.task_restarts.get_or_create(&TaskLabels { task }).inc();
    }

    /// `operation` is a name the document defines; None for anonymous and refused requests.
    pub(crate) fn record(&self, operation: Option<&str>, status: StatusCode, elapsed: Duration) {
        let operation: String = operation
            .unwrap_or("anonymous")
            .chars()
            .take(MAX_OPERATION_NAME_CHARS)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let operation = {
            let mut names = self
                .names
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if names.contains(&operation) || names.len() < self.max_names {
                names.insert(operation.clone());
                operation
            } else {
                "other".to_string()
            }
        };
        self.requests
            .get_or_create(&RequestLabels {
                operation,
                status: status.as_u16(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// The text of one scrape: values read at scrape time (tasks, provider links) first.
pub async fn render(
    metrics: &HttpMetrics,
    service: &promohub_domain::PromoService,
    supervisor: &Supervisor,
) -> String {
    for status in supervisor.statuses() {
        // Present from the start, so a dashboard sees 0 restarts rather than nothing.
        let _ = metrics
            .task_restarts
            .get_or_create(&TaskLabels { task: status.name });
        metrics
            .task_up
            .get_or_create(&TaskLabels { task: status.name })
            .set(i64::from(status.running));
    }
    match promohub_domain::service::link_states(service).await {
        Ok(states) => {
            // Every provider and state, 0 when none: a series does not vanish when it empties.
            for provider in promohub_domain::Provider::ALL {
                for sync_state in promohub_domain::SyncState::ALL {
                    metrics
                        .links
                        .get_or_create(&LinkLabels {
                            provider: provider.as_str(),
                            state: sync_state.as_str(),
                        })
                        .set(0);
                }
            }
            let mut pending = 0;
            for ((provider, sync_state), n) in &states {
                metrics
                    .links
                    .get_or_create(&LinkLabels {
                        provider: provider.as_str(),
                        state: sync_state.as_str(),
                    })
                    .set(i64::try_from(*n).unwrap_or(i64::MAX));
                if *sync_state == promohub_domain::SyncState::Pending {
                    pending += n;
                }
            }
            metrics
                .outbox_depth
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
        }
        Err(error) => tracing::warn!(%error, "cannot read sync states for metrics"),
    }
    let mut out = String::new();
    if let Err(error) =
        prometheus_client::encoding::prometheus_text::encode(&mut out, &metrics.registry)
    {
        tracing::error!(%error, "metrics do not encode");
    }
    out
}
