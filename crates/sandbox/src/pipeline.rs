//! What happens to every provider request before and after its handler: the journal, the
//! bearer-key check, and injected faults.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::control::{ActiveFault, FaultKind, JournalEntry};
use crate::{Provider, Shared};

/// Bodies above this are refused, as real APIs do; nothing PromoHub sends comes close.
const MAX_BODY: usize = 1024 * 1024;

pub(crate) async fn provider_pipeline(
    State((shared, provider)): State<(Arc<Shared>, Provider)>,
    request: Request,
    next: Next,
) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| m.as_str().strip_prefix(provider.mount()))
        .unwrap_or_default()
        .to_string();
    let method = request.method().clone();
    let operation = shared
        .operations
        .get(&(provider, method.clone(), template.clone()))
        .cloned()
        .unwrap_or_else(|| format!("{method} {template}"));

    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return provider.error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    };
    let seq = record(&shared, provider, &operation, &parts, &bytes);

    if !authorized(&parts.headers, shared.config.key(provider)) {
        let response = provider.error(
            StatusCode::UNAUTHORIZED,
            "Missing or invalid API key: send Authorization: Bearer <key>",
        );
        finish(&shared, seq, response.status(), None);
        return response;
    }

    let fault = take_fault(&shared, provider, &operation)
        .or_else(|| crate::chaos::roll(&shared, provider, &method));
    let request = Request::from_parts(parts, Body::from(bytes));
    let Some(fault) = fault else {
        let response = next.run(request).await;
        finish(&shared, seq, response.status(), None);
        return response;
    };

    let label = Some(fault.label());
    match fault.spec.kind {
        FaultKind::Latency { ms } => {
            // The write lands, the answer is late: a client that times out never learns it.
            let response = next.run(request).await;
            finish(&shared, seq, response.status(), label);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            response
        }
        FaultKind::Status { status } => {
            if fault.spec.apply {
                next.run(request).await;
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let response = provider.error(status, "Injected fault");
            finish(&shared, seq, response.status(), label);
            response
        }
        FaultKind::RateLimit { retry_after_secs } => {
            if fault.spec.apply {
                next.run(request).await;
            }
            let mut response = provider.rate_limited();
            if let Ok(value) = retry_after_secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            finish(&shared, seq, response.status(), label);
            response
        }
        FaultKind::RateLimitHeader { retry_after } => {
            let mut response = provider.rate_limited();
            if let Ok(value) = retry_after.parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            finish(&shared, seq, response.status(), label);
            response
        }
        FaultKind::Html { status, body } => {
            if fault.spec.apply {
                next.run(request).await;
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let response = (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response();
            finish(&shared, seq, response.status(), label);
            response
        }
        FaultKind::SuccessStatus { status } => {
            let mut response = next.run(request).await;
            if response.status().is_success()
                && let Ok(status) = StatusCode::from_u16(status)
            {
                *response.status_mut() = status;
            }
            finish(&shared, seq, response.status(), label);
            response
        }
        FaultKind::Drop => {
            if fault.spec.apply {
                next.run(request).await;
            }
            finish(&shared, seq, StatusCode::OK, label);
            dropped_connection()
        }
    }
}

/// A response whose body fails at once: hyper aborts the connection, and the client sees it
/// drop without a complete answer.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox dropped the connection",
        ))
    });
    Response::new(Body::from_stream(failing))
}

fn authorized(headers: &HeaderMap, key: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given == key)
}

fn record(
    shared: &Shared,
    provider: Provider,
    operation: &str,
    parts: &axum::http::request::Parts,
    bytes: &Bytes,
) -> u64 {
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = if name == header::AUTHORIZATION {
                // The journal is readable by anyone who can reach the sandbox.
                "<redacted>".to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_string(), value)
        })
        .collect();
    let body = if bytes.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        }))
    };
    let mut world = shared.world();
    world.next_seq += 1;
    let seq = world.next_seq;
    world.journal.push(JournalEntry {
        seq,
        at: chrono::Utc::now(),
        provider,
        operation: operation.to_string(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers,
        body,
        status: None,
        fault: None,
    });
    seq
}

fn finish(shared: &Shared, seq: u64, status: StatusCode, fault: Option<String>) {
    let mut world = shared.world();
    if let Some(entry) = world.journal.iter_mut().rev().find(|e| e.seq == seq) {
        entry.status = Some(status.as_u16());
        entry.fault = fault;
    }
}

/// The first matching fault rule, used up by one if it is counted.
fn take_fault(shared: &Shared, provider: Provider, operation: &str) -> Option<ActiveFault> {
    let mut world = shared.world();
    let index = world.faults.iter().position(|f| {
        f.spec.provider == provider
            && f.spec
                .operation
                .as_deref()
                .is_none_or(|wanted| wanted == operation)
    })?;
    let fault = world.faults[index].clone();
    if let Some(remaining) = world.faults[index].remaining.as_mut() {
        *remaining = remaining.saturating_sub(1);
        if *remaining == 0 {
            world.faults.remove(index);
        }
    }
    Some(fault)
}

/// Unknown paths get a body that says so, to tell them apart from a provider's own 404.
pub(crate) async fn no_such_route(request: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "sandbox_error": "no such route",
            "method": request.method().as_str(),
            "path": request.uri().path(),
        })),
    )
        .into_response()
}
