//! Counters the server exports (Prometheus, through `prometheus-client`): provider calls, their
//! latency and errors, write attempts. The server registers them in its registry
//! ([`Metrics::register`]); the outbox depth is read from the database when scraped.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::model::Provider;

/// Upper bounds of the latency histograms, in seconds.
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A latency histogram with [`LATENCY_BUCKETS`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: &'static str,
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    provider: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    provider: &'static str,
    reason: &'static str,
}

/// Upper bounds of the rate-limiter wait histogram, in seconds: up to a lease's length.
pub const WAIT_BUCKETS: [f64; 10] = [0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

fn wait_histogram() -> Histogram {
    Histogram::new(WAIT_BUCKETS)
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The provider metrics. Labels come from closed sets (providers, operations, outcomes).
#[derive(Debug)]
pub struct Metrics {
    calls: Family<CallLabels, Counter>,
    latency: HistogramFamily<ProviderLabels>,
    attempts: Family<AttemptLabels, Counter>,
    limiter_wait: HistogramFamily<ProviderLabels>,
    limiter_refusals: Family<RefusalLabels, Counter>,
    /// The label sets used so far, for [`Metrics::snapshot`].
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    calls: BTreeSet<(Provider, &'static str, &'static str)>,
    attempts: BTreeSet<(Provider, &'static str)>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            attempts: Family::default(),
            limiter_wait: Family::new_with_constructor(wait_histogram),
            limiter_refusals: Family::default(),
            seen: Mutex::default(),
        }
    }
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct MetricsSnapshot {
    pub calls: BTreeMap<(Provider, &'static str, &'static str), u64>,
    pub attempts: BTreeMap<(Provider, &'static str), u64>,
}

impl Metrics {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds these metrics to `registry` (names as before: `promohub_provider_calls_total`,
    /// `promohub_provider_call_duration_seconds`, `promohub_sync_attempts_total`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "promohub_provider_calls",
            "Provider calls by operation and outcome (ok, transient, permanent)",
            self.calls.clone(),
        );
        registry.register(
            "promohub_provider_call_duration_seconds",
            "Provider call latency",
            self.latency.clone(),
        );
        registry.register(
            "promohub_sync_attempts",
            "Background provider write attempts by result (synced, retry, failed)",
            self.attempts.clone(),
        );
        registry.register(
            "promohub_rate_limit_wait_seconds",
            "Time provider calls waited for the client-side rate limit",
            self.limiter_wait.clone(),
        );
        registry.register(
            "promohub_rate_limit_refusals",
            "Provider calls not sent by the rate limiter (wait_too_long, unavailable)",
            self.limiter_refusals.clone(),
        );
    }

    /// A call waited `waited` for the rate limit, and was refused for `refused` if it was.
    pub fn rate_limit_wait(
        &self,
        provider: Provider,
        waited: Duration,
        refused: Option<&'static str>,
    ) {
        let labels = ProviderLabels {
            provider: provider.as_str(),
        };
        self.limiter_wait
            .get_or_create(&labels)
            .observe(waited.as_secs_f64());
        if let Some(reason) = refused {
            self.limiter_refusals
                .get_or_create(&RefusalLabels {
                    provider: labels.provider,
                    reason,
                })
                .inc();
        }
    }

    pub fn provider_call(
        &self,
        provider: Provider,
        operation: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.calls
            .get_or_create(&CallLabels {
                provider: provider.as_str(),
                operation,
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&ProviderLabels {
                provider: provider.as_str(),
            })
            .observe(elapsed.as_secs_f64());
        self.seen().calls.insert((provider, operation, outcome));
    }

    pub fn write_attempt(&self, provider: Provider, result: &'static str) {
        self.attempts
            .get_or_create(&AttemptLabels {
                provider: provider.as_str(),
                result,
            })
            .inc();
        self.seen().attempts.insert((provider, result));
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let seen = self.seen();
        MetricsSnapshot {
            calls: seen
                .calls
                .iter()
                .map(|&(provider, operation, outcome)| {
                    let labels = CallLabels {
                        provider: provider.as_str(),
                        operation,
                        outcome,
                    };
                    let n = self.calls.get(&labels).map_or(0, |c| c.get());
                    ((provider, operation, outcome), n)
                })
                .collect(),
            attempts: seen
                .attempts
                .iter()
                .map(|&(provider, result)| {
                    let labels = AttemptLabels {
                        provider: provider.as_str(),
                        result,
                    };
                    let n = self.attempts.get(&labels).map_or(0, |c| c.get());
                    ((provider, result), n)
                })
                .collect(),
        }
    }
}
