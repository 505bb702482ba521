//! `Idempotency-Key` on `POST /graphql` (runtime.md, "Idempotent requests"): a mutation sent
//! again with the same key gets the first answer, byte for byte, and runs nothing.
//!
//! The row store is `promohub_domain::idempotency`; its unique (scope, key) decides which of
//! several requests (on any replica) runs. The others poll it until the answer is there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use promohub_domain::idempotency::{self as store, Answer, Entry};
use serde_json::Value;

use super::execute::{self as plain, selects_mutation};
use super::request::{Incoming, request_error};
use super::state::AppState;
use crate::schema::Caller;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set (to `true`) on an answer replayed from the store.
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key, in bytes (visible ASCII only).
pub const MAX_KEY_LEN: usize = 255;
/// A request still "in progress" this long past the request timeout is taken to have died
/// (a crash or SIGKILL between its claim and its answer) and may be taken over.
pub const TAKEOVER_MARGIN: Duration = Duration::from_secs(60);
/// How often a repeat looks whether the first request has answered.
const POLL: Duration = Duration::from_millis(50);

/// The key of a request: None without the header, an error answer when it is malformed.
// The error is the answer itself, on a path taken once per request: boxing buys nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn key_of(headers: &HeaderMap, media: &'static str) -> Result<Option<String>, Response> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let valid = values.next().is_none()
        && (1..=MAX_KEY_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    if !valid {
        return Err(request_error(
            StatusCode::BAD_REQUEST,
            media,
            "Idempotency-Key must be one header of 1 to 255 visible ASCII characters (no spaces), e.g. a UUID",
            "INVALID_IDEMPOTENCY_KEY",
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// The hash a repeat must match: the document, the operation name and the variables (keys
/// sorted, so the same variables in another order are the same request).
pub fn request_hash(
    query: &str,
    operation_name: Option<&str>,
    variables: Option<&Value>,
) -> String {
    let variables = variables.map(canonical).unwrap_or_default();
    let name = operation_name.map_or(b"\0".as_slice(), str::as_bytes);
    store::fingerprint(&[query.as_bytes(), name, variables.as_bytes()])
}

/// JSON with every object's keys in order, whatever order the client sent them in.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

/// Runs `request` under `key`. A request that is not a mutation just runs.
pub(crate) async fn execute(
    state: &AppState,
    media: &'static str,
    caller: Caller,
    headers: &HeaderMap,
    key: String,
    request: Incoming,
) -> Response {
    let started = Instant::now();
    let is_mutation = async_graphql::parser::parse_query(&request.query).is_ok_and(|document| {
        selects_mutation(&document.operations, request.operation_name.as_deref())
    });
    if !is_mutation {
        return plain::execute(state, media, caller, request, false).await;
    }
    // The caller is authenticated already: this is the token it matched.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let held = Held {
        scope: store::token_scope(token),
        key,
        hash: request_hash(
            &request.query,
            request.operation_name.as_deref(),
            request.variables.as_ref(),
        ),
    };
    let db = state.service.db().clone();
    let deadline = started + state.config.request_timeout;
    let stale_after = chrono::Duration::from_std(state.config.request_timeout + TAKEOVER_MARGIN)
        .unwrap_or(chrono::Duration::hours(1));
    loop {
        match store::claim(&db, &held.scope, &held.key, &held.hash, Utc::now()).await {
            Ok(Some(claim)) => {
                return run(state, media, caller, request, held, claim, started).await;
            }
            Ok(None) => {}
            Err(error) => return store_error(media, &error),
        }
        // Taken: by an earlier request, or one running now (here or on another replica).
        loop {
            let entry = match store::find(&db, &held.scope, &held.key, Utc::now()).await {
                Ok(entry) => entry,
                Err(error) => return store_error(media, &error),
            };
            match entry {
                // Expired or pruned since: claim it afresh.
                Entry::Free => break,
                Entry::Done { request_hash, .. } | Entry::InProgress { request_hash, .. }
                    if request_hash != held.hash =>
                {
                    return reused(media);
                }
                Entry::Done { answer, .. } => return respond(answer, true),
                Entry::InProgress {
                    claim, claimed_at, ..
                } => {
                    if Utc::now() - claimed_at > stale_after {
                        match store::take_over(&db, &held.scope, &held.key, &claim, Utc::now())
                            .await
                        {
                            Ok(Some(claim)) => {
                                tracing::warn!(key = %held.key, "taking over an idempotent request left in progress");
                                return run(state, media, caller, request, held, claim, started)
                                    .await;
                            }
                            // Another request took it over first: wait for its answer.
                            Ok(None) => {}
                            Err(error) => return store_error(media, &error),
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return in_progress(media, state.config.request_timeout);
            }
            tokio::time::sleep(POLL).await;
        }
        if Instant::now() >= deadline {
            return in_progress(media, state.config.request_timeout);
        }
    }
}

/// Which row a request holds.
struct Held {
    scope: String,
    key: String,
    hash: String,
}

/// Runs the request holding `claim` and records its answer. It runs in a task of its own to
/// its end, also past the request timeout (then the caller is answered REQUEST_TIMEOUT and a
/// repeat later gets the real answer).
async fn run(
    state: &AppState,
    media: &'static str,
    caller: Caller,
    request: Incoming,
    held: Held,
    claim: String,
    started: Instant,
) -> Response {
    let mut config = (*state.config).clone();
    // The timeout is applied below, around the recording as well.
    config.request_timeout = Duration::from_secs(24 * 60 * 60);
    let inner = AppState {
        config: Arc::new(config),
        ..state.clone()
    };
    let db = state.service.db().clone();
    let mut task = tokio::spawn(async move {
        let answer = capture(plain::execute(&inner, media, caller, request, false).await).await;
        match store::finish(&db, &held.scope, &held.key, &claim, &answer).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(key = %held.key, "an idempotent request was taken over while it ran; the other answer is kept");
            }
            // The change is made: the caller gets its answer; a repeat waits, then may
            // take the key over (runtime.md says why that is safe).
            Err(error) => {
                tracing::error!(key = %held.key, %error, "cannot record the answer of an idempotent request");
            }
        }
        answer
    });
    let left = state
        .config
        .request_timeout
        .saturating_sub(started.elapsed());
    match tokio::time::timeout(left, &mut task).await {
        Ok(Ok(answer)) => respond(answer, false),
        Ok(Err(error)) => {
            tracing::error!(%error, "an idempotent request failed unexpectedly");
            request_error(StatusCode::OK, media, "internal error", "INTERNAL")
        }
        Err(_) => request_error(
            StatusCode::OK,
            media,
            &format!(
                "the request ran past {} ms (PROMOHUB_REQUEST_TIMEOUT_MS); the change goes on and its answer is kept: send it again with the same Idempotency-Key to get it",
                state.config.request_timeout.as_millis()
            ),
            "REQUEST_TIMEOUT",
        ),
    }
}

/// The answer as bytes, to store and to send.
async fn capture(response: Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json; charset=utf-8")
        .to_string();
    // The body is built in memory by the handler: reading it back cannot block.
    match axum::body::to_bytes(response.into_body(), usize::MAX).await {
        Ok(body) => Answer {
            status,
            content_type,
            body: body.to_vec(),
        },
        Err(_) => Answer {
            status: 200,
            content_type,
            body: br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#
                .to_vec(),
        },
    }
}

fn respond(answer: Answer, replayed: bool) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(axum::body::Body::from(answer.body));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&answer.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

fn reused(media: &'static str) -> Response {
    request_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        media,
        "this Idempotency-Key was used with a different request (document, operation name or variables) in the last 24 hours: use a new key for a new request",
        "IDEMPOTENCY_KEY_REUSED",
    )
}

fn in_progress(media: &'static str, waited: Duration) -> Response {
    let mut response = request_error(
        StatusCode::CONFLICT,
        media,
        &format!(
            "a request with this Idempotency-Key is still running (waited {} ms for it); nothing was done by this one: send it again later",
            waited.as_millis()
        ),
        "IDEMPOTENCY_KEY_IN_PROGRESS",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn store_error(media: &'static str, error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "the idempotency store does not answer");
    request_error(
        StatusCode::SERVICE_UNAVAILABLE,
        media,
        "the Idempotency-Key cannot be checked now (database unavailable); nothing was done: send it again",
        "INTERNAL",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        let with = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER, HeaderValue::from_bytes(value).expect("header"));
            key_of(&headers, "application/json").map_err(|r| r.status())
        };
        assert_eq!(with(b"abc-123_~!"), Ok(Some("abc-123_~!".into())));
        assert_eq!(
            with(&[b'k'; 255]).map(|k| k.map(|k| k.len())),
            Ok(Some(255))
        );
        assert_eq!(with(&[b'k'; 256]), Err(StatusCode::BAD_REQUEST));
        assert_eq!(with(b"a b"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(with(b""), Err(StatusCode::BAD_REQUEST));
        assert_eq!(with("cl\u{e9}".as_bytes()), Err(StatusCode::BAD_REQUEST));
        assert_eq!(
            key_of(&HeaderMap::new(), "application/json").ok(),
            Some(None)
        );
    }

    #[test]
    fn the_same_variables_in_another_order_are_the_same_request() {
        let a = serde_json::json!({"input": {"code": "A", "n": [1, {"y": 1, "x": 2}]}});
        let b = serde_json::json!({"input": {"n": [1, {"x": 2, "y": 1}], "code": "A"}});
        assert_eq!(
            request_hash("q", None, Some(&a)),
            request_hash("q", None, Some(&b))
        );
        assert_ne!(
            request_hash("q", None, Some(&a)),
            request_hash("q", Some("Q"), Some(&a))
        );
        assert_ne!(
            request_hash("q", None, Some(&a)),
            request_hash("q", None, None)
        );
    }
}
