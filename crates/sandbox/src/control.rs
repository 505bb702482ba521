//! The control API under `/_sandbox`: inject faults, simulate redemptions, read the request
//! journal, reset. Not part of any provider's API and needs no key.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{Provider, Shared, World};

/// What goes wrong, for which requests, how often.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FaultSpec {
    pub provider: Provider,
    /// The operationId in `openapi/<provider>.yaml` (e.g. `create_promo_code`); every
    /// operation of the provider when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many requests it hits before it is gone; forever when absent. "Fail twice then
    /// succeed" is `times: 2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Whether the request still takes effect before the failure is returned: a write that
    /// lands although the caller sees an error. Latency faults always apply.
    #[serde(default)]
    pub apply: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (e.g. 500, 503) in the provider's error shape.
    Status { status: u16 },
    /// Answer 429 with `Retry-After: <retry_after_secs>`.
    RateLimit { retry_after_secs: u64 },
    /// Apply the request, then hold the answer this long.
    Latency { ms: u64 },
    /// Close the connection without a complete answer.
    Drop,
    /// Answer 429 with this exact `Retry-After` value (seconds or an HTTP-date, or garbage).
    RateLimitHeader { retry_after: String },
    /// Answer this status with this body as `text/html`, not the provider's JSON error shape
    /// (what a proxy or load balancer in front of a provider sends).
    Html { status: u16, body: String },
    /// Apply the request, and when it succeeds answer this 2xx status instead of the one the
    /// emulator chose (e.g. a create that answers 200 rather than 201).
    SuccessStatus { status: u16 },
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ActiveFault {
    pub(crate) id: u64,
    #[serde(flatten)]
    pub(crate) spec: FaultSpec,
    /// Hits left; None is forever.
    pub(crate) remaining: Option<u32>,
}

impl ActiveFault {
    pub(crate) fn label(&self) -> String {
        match &self.spec.kind {
            FaultKind::Status { status } => format!("status {status}"),
            FaultKind::RateLimit { retry_after_secs } => {
                format!("rate limit, retry after {retry_after_secs}s")
            }
            FaultKind::Latency { ms } => format!("latency {ms}ms"),
            FaultKind::Drop => "dropped connection".to_string(),
            FaultKind::RateLimitHeader { retry_after } => {
                format!("rate limit, Retry-After {retry_after:?}")
            }
            FaultKind::Html { status, .. } => format!("status {status} with an HTML body"),
            FaultKind::SuccessStatus { status } => format!("success answered as {status}"),
        }
    }
}

/// One request a provider API received.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct JournalEntry {
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: chrono::DateTime<chrono::Utc>,
    pub provider: Provider,
    /// The operationId from the provider's spec.
    pub operation: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Request headers; `authorization` is redacted.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (a string when it was not JSON).
    #[schema(value_type = Object)]
    pub body: Option<serde_json::Value>,
    /// The status answered (None while in flight; a dropped connection records 200).
    pub status: Option<u16>,
    /// The injected fault that hit this request, if any.
    pub fault: Option<String>,
}

/// A customer redeeming a code, found by the provider's id or by the code itself.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct Redemption {
    pub id: Option<String>,
    pub code: Option<String>,
    /// The provider-side customer redeeming it.
    pub customer: Option<String>,
}

/// Why a simulated redemption did not happen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedeemError {
    #[error("no such code")]
    NotFound,
    #[error("cannot redeem: {0}")]
    Refused(String),
}

pub(crate) fn add_fault(world: &mut World, spec: FaultSpec) -> u64 {
    world.next_seq += 1;
    let id = world.next_seq;
    world.faults.push(ActiveFault {
        id,
        remaining: spec.times,
        spec,
    });
    id
}

pub(crate) fn redeem(
    world: &mut World,
    provider: Provider,
    redemption: &Redemption,
) -> Result<serde_json::Value, RedeemError> {
    match provider {
        Provider::Flex => world.flex.redeem(redemption),
        Provider::Fynn => world.fynn.redeem(redemption),
        Provider::Whop => world.whop.redeem(redemption),
        // new-provider: redeem
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PromoHub provider sandbox",
        description = "Emulators of the Flex (/flex), Fynn (/fynn) and Whop (/whop/api) APIs, \
                       and the control API under /_sandbox."
    ),
    tags(
        (name = "control", description = "Faults, redemptions, journal, reset"),
        (name = "flex", description = "Flex API emulator, base URL /flex"),
        (name = "fynn", description = "Fynn API emulator, base URL /fynn"),
        (name = "whop", description = "Whop API v2 emulator, base URL /whop/api"),
    )
)]
struct ApiDoc;

pub(crate) fn api_doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(crate) fn routes() -> OpenApiRouter<Arc<Shared>> {
    OpenApiRouter::new()
        .routes(routes!(reset))
        .routes(routes!(list_faults, add_fault_route, clear_faults))
        .routes(routes!(read_journal, clear_journal))
        .routes(routes!(redeem_route))
        .routes(routes!(raw_fynn_coupon))
}

/// Store a Fynn coupon exactly as given, unchecked: it appears in lists and detail reads as
/// sent, like a coupon of a kind the emulator (and PromoHub) does not know. Gets an id when it
/// has none; answers the stored object.
#[utoipa::path(post, path = "/_sandbox/fynn/raw_coupons", tag = "control",
    request_body(content = Object, description = "Any JSON object"),
    responses((status = 201, description = "Stored as given"),
              (status = 400, description = "Not a JSON object")))]
async fn raw_fynn_coupon(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(value)) = body else {
        return bad_request("send a JSON object");
    };
    match shared.world().fynn.insert_raw(value) {
        Some(stored) => (StatusCode::CREATED, Json(stored)).into_response(),
        None => bad_request("send a JSON object"),
    }
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "sandbox_error": message.into() })),
    )
        .into_response()
}

/// Forget every object, fault and journal entry.
#[utoipa::path(post, path = "/_sandbox/reset", tag = "control",
    responses((status = 204, description = "Everything is gone")))]
async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    *shared.world() = World::default();
    StatusCode::NO_CONTENT
}

/// The fault rules in force.
#[utoipa::path(get, path = "/_sandbox/faults", tag = "control",
    responses((status = 200, description = "Fault rules", body = [ActiveFault])))]
async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<Vec<ActiveFault>> {
    Json(shared.world().faults.clone())
}

/// Add a fault rule. Rules are tried in the order they were added.
#[utoipa::path(post, path = "/_sandbox/faults", tag = "control", request_body = FaultSpec,
    responses((status = 201, description = "Added; the answer holds its id"),
              (status = 400, description = "Not a valid rule")))]
async fn add_fault_route(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<FaultSpec>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(spec) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    if let Some(operation) = &spec.operation {
        let known = shared
            .operations
            .iter()
            .any(|((p, _, _), id)| *p == spec.provider && id == operation);
        if !known {
            return bad_request(format!(
                "{} has no operation {operation:?} in openapi/{}.yaml",
                spec.provider.name(),
                spec.provider.name()
            ));
        }
    }
    match spec.kind {
        FaultKind::Status { status } | FaultKind::Html { status, .. }
            if !(400..=599).contains(&status) =>
        {
            return bad_request("status must be 400..=599");
        }
        FaultKind::SuccessStatus { status } if !(200..=299).contains(&status) => {
            return bad_request("a success status must be 200..=299");
        }
        _ => {}
    }
    let id = add_fault(&mut shared.world(), spec);
    (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response()
}

/// Remove every fault rule.
#[utoipa::path(delete, path = "/_sandbox/faults", tag = "control",
    responses((status = 204, description = "No faults remain")))]
async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.world().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize, IntoParams)]
struct JournalFilter {
    provider: Option<Provider>,
    operation: Option<String>,
}

/// Requests received by the provider APIs, oldest first.
#[utoipa::path(get, path = "/_sandbox/journal", tag = "control", params(JournalFilter),
    responses((status = 200, description = "Journal entries", body = [JournalEntry])))]
async fn read_journal(
    State(shared): State<Arc<Shared>>,
    Query(filter): Query<JournalFilter>,
) -> Json<Vec<JournalEntry>> {
    let world = shared.world();
    Json(
        world
            .journal
            .iter()
            .filter(|e| filter.provider.is_none_or(|p| p == e.provider))
            .filter(|e| filter.operation.as_ref().is_none_or(|o| *o == e.operation))
            .cloned()
            .collect(),
    )
}

/// Empty the journal.
#[utoipa::path(delete, path = "/_sandbox/journal", tag = "control",
    responses((status = 204, description = "Journal emptied")))]
async fn clear_journal(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.world().journal.clear();
    StatusCode::NO_CONTENT
}

/// Redeem a code as one of the provider's customers would: its redemption counters change,
/// and limits, status and expiry are enforced.
#[utoipa::path(post, path = "/_sandbox/{provider}/redemptions", tag = "control",
    params(("provider" = Provider, Path, description = "flex, fynn or whop")),
    request_body = Redemption,
    responses((status = 200, description = "The code as the provider now shows it"),
              (status = 404, description = "No such code"),
              (status = 409, description = "The code cannot be redeemed now")))]
async fn redeem_route(
    State(shared): State<Arc<Shared>>,
    Path(provider): Path<String>,
    body: Result<Json<Redemption>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let provider: Provider = match provider.parse() {
        Ok(p) => p,
        Err(message) => return bad_request(message),
    };
    let Json(redemption) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    if redemption.id.is_none() && redemption.code.is_none() {
        return bad_request("give the code's id or its code");
    }
    match redeem(&mut shared.world(), provider, &redemption) {
        Ok(object) => Json(object).into_response(),
        Err(err) => {
            let status = match err {
                RedeemError::NotFound => StatusCode::NOT_FOUND,
                RedeemError::Refused(_) => StatusCode::CONFLICT,
            };
            (
                status,
                Json(serde_json::json!({ "sandbox_error": err.to_string() })),
            )
                .into_response()
        }
    }
}
