//! `/metrics` in Prometheus text format: GraphQL requests and latency per operation, provider
//! calls with latency and errors per provider, write attempts, and the outbox depth.

use std::fmt::Write as _;

use promohub_domain::metrics::{Histogram, LATENCY_BUCKETS};

use crate::http::AppState;

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    for (bound, count) in LATENCY_BUCKETS.iter().zip(h.buckets.iter()) {
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
}

/// Operation names come from clients: keep them to label-safe characters.
fn label(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub async fn render(state: &AppState) -> String {
    let mut out = String::new();
    out.push_str("# HELP promohub_graphql_request_duration_seconds GraphQL requests by operation and HTTP status.\n");
    out.push_str("# TYPE promohub_graphql_request_duration_seconds histogram\n");
    for ((operation, status), h) in state.operations() {
        let labels = format!("operation=\"{}\",status=\"{status}\"", label(&operation));
        histogram(
            &mut out,
            "promohub_graphql_request_duration_seconds",
            &labels,
            &h,
        );
    }

    out.push_str("# HELP promohub_task_restarts_total Restarts of supervised background tasks after a panic, an error or an early end.\n");
    out.push_str("# TYPE promohub_task_restarts_total counter\n");
    let restarts = state.metrics.task_restarts();
    for status in state.supervisor.statuses() {
        let n = restarts.get(status.name).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "promohub_task_restarts_total{{task=\"{}\"}} {n}",
            status.name
        );
    }
    out.push_str("# HELP promohub_task_up Whether a supervised background task is running (1) or waiting to restart (0).\n");
    out.push_str("# TYPE promohub_task_up gauge\n");
    for status in state.supervisor.statuses() {
        let _ = writeln!(
            out,
            "promohub_task_up{{task=\"{}\"}} {}",
            status.name,
            u8::from(status.running)
        );
    }

    let snapshot = state.service.providers().metrics().snapshot();
    out.push_str("# HELP promohub_provider_calls_total Provider calls by operation and outcome (ok, transient, permanent).\n");
    out.push_str("# TYPE promohub_provider_calls_total counter\n");
    for ((provider, operation, outcome), n) in &snapshot.calls {
        let _ = writeln!(
            out,
            "promohub_provider_calls_total{{provider=\"{provider}\",operation=\"{operation}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    out.push_str("# HELP promohub_provider_call_duration_seconds Provider call latency.\n");
    out.push_str("# TYPE promohub_provider_call_duration_seconds histogram\n");
    for (provider, h) in &snapshot.latency {
        let labels = format!("provider=\"{provider}\"");
        histogram(
            &mut out,
            "promohub_provider_call_duration_seconds",
            &labels,
            h,
        );
    }
    out.push_str("# HELP promohub_sync_attempts_total Background provider write attempts by result (synced, retry, failed).\n");
    out.push_str("# TYPE promohub_sync_attempts_total counter\n");
    for ((provider, result), n) in &snapshot.attempts {
        let _ = writeln!(
            out,
            "promohub_sync_attempts_total{{provider=\"{provider}\",result=\"{result}\"}} {n}"
        );
    }
    match promohub_domain::sync::link_states(&state.service).await {
        Ok(states) => {
            out.push_str("# HELP promohub_provider_links Codes on each provider by sync state.\n");
            out.push_str("# TYPE promohub_provider_links gauge\n");
            let mut pending = 0;
            for ((provider, sync_state), n) in &states {
                let _ = writeln!(
                    out,
                    "promohub_provider_links{{provider=\"{provider}\",state=\"{sync_state}\"}} {n}"
                );
                if *sync_state == promohub_domain::SyncState::Pending {
                    pending += n;
                }
            }
            out.push_str("# HELP promohub_outbox_depth Provider writes waiting to be retried.\n");
            out.push_str("# TYPE promohub_outbox_depth gauge\n");
            let _ = writeln!(out, "promohub_outbox_depth {pending}");
        }
        Err(error) => tracing::warn!(%error, "cannot read sync states for metrics"),
    }
    out
}
