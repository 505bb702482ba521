//! Counters the server exports (Prometheus): provider calls, their latency and errors, write
//! attempts. The outbox depth is read from the database when scraped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::model::Provider;

/// Upper bounds of the latency histogram, in seconds.
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Cumulative counts per bucket of `LATENCY_BUCKETS`.
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in LATENCY_BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum_seconds += seconds;
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (provider, operation, outcome) -> calls; outcome is ok, transient or permanent.
    calls: BTreeMap<(Provider, &'static str, &'static str), u64>,
    latency: BTreeMap<Provider, Histogram>,
    /// (provider, result) -> background write attempts; result is synced, retry or failed.
    attempts: BTreeMap<(Provider, &'static str), u64>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct MetricsSnapshot {
    pub calls: BTreeMap<(Provider, &'static str, &'static str), u64>,
    pub latency: BTreeMap<Provider, Histogram>,
    pub attempts: BTreeMap<(Provider, &'static str), u64>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    pub fn provider_call(
        &self,
        provider: Provider,
        operation: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.with(|m| {
            *m.calls.entry((provider, operation, outcome)).or_default() += 1;
            m.latency
                .entry(provider)
                .or_default()
                .observe(elapsed.as_secs_f64());
        });
    }

    pub fn write_attempt(&self, provider: Provider, result: &'static str) {
        self.with(|m| *m.attempts.entry((provider, result)).or_default() += 1);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        self.with(|m| MetricsSnapshot {
            calls: m.calls.clone(),
            latency: m.latency.clone(),
            attempts: m.attempts.clone(),
        })
    }
}
