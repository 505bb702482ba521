//! The Flex emulator: coupons, and promo codes that point at them.
//!
//! Rules (docs.withflex.com, see openapi/flex.yaml): bodies and answers are wrapped in
//! `{"promo_code": ...}` / `{"coupon": ...}`; a coupon has exactly one of `amount_off` (cents)
//! and `percent_off` (0 < p <= 100), and `duration_in_months` exactly when `repeating`; a promo
//! code needs an existing coupon and a code unique (ignoring case) among active codes; only
//! `active` and `metadata` change on update. Errors, undocumented by Flex, are
//! `{"error": {"type", "message"}}` with 400, 401 or 404.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promohub_clients::flex::types as api;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::control::{RedeemError, Redemption};
use crate::{Provider, Shared, ids};

#[derive(Default)]
pub(crate) struct Store {
    coupons: Vec<Coupon>,
    promo_codes: Vec<PromoCode>,
}

#[derive(Clone)]
struct Coupon {
    coupon_id: String,
    name: String,
    amount_off: Option<u64>,
    percent_off: Option<f64>,
    duration: api::Duration,
    duration_in_months: Option<u64>,
    applies_to: Option<api::AppliesTo>,
    max_redemptions: Option<u64>,
    times_redeemed: u64,
    metadata: Map<String, Value>,
    created_at: String,
}

#[derive(Clone)]
struct PromoCode {
    promo_code_id: String,
    code: String,
    coupon_id: String,
    max_redemptions: Option<u64>,
    times_redeemed: u64,
    customer: Option<String>,
    active: bool,
    metadata: Map<String, Value>,
    created_at: String,
}

/// Flex writes UTC timestamps with microseconds: `2025-05-15T18:12:07.309203Z`.
fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn metadata(given: Option<api::Metadata>) -> Map<String, Value> {
    given
        .and_then(|m| m.0)
        .map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
        .unwrap_or_default()
}

impl Coupon {
    fn valid(&self) -> bool {
        self.max_redemptions
            .is_none_or(|max| self.times_redeemed < max)
    }

    fn render(&self) -> Value {
        json!({
            "coupon_id": self.coupon_id,
            "amount_off": self.amount_off,
            "applies_to": self.applies_to.as_ref().map(|a| json!({ "products": a.products })),
            "duration": self.duration.to_string(),
            "duration_in_months": self.duration_in_months,
            "metadata": self.metadata,
            "name": self.name,
            "percent_off": self.percent_off,
            "max_redemptions": self.max_redemptions,
            "times_redeemed": self.times_redeemed,
            "valid": self.valid(),
            "created_at": self.created_at,
            "test_mode": true,
        })
    }
}

impl Store {
    /// What the store holds, for `SandboxState::held_codes`.
    pub(crate) fn held(&self) -> Vec<crate::HeldCode> {
        self.promo_codes
            .iter()
            .map(|p| crate::HeldCode {
                id: p.promo_code_id.clone(),
                code: p.code.clone(),
                active: p.active,
            })
            .collect()
    }

    fn coupon(&self, id: &str) -> Option<&Coupon> {
        self.coupons.iter().find(|c| c.coupon_id == id)
    }

    fn render(&self, code: &PromoCode) -> Value {
        json!({
            "promo_code_id": code.promo_code_id,
            "code": code.code,
            "coupon": self.coupon(&code.coupon_id).map(Coupon::render),
            "max_redemptions": code.max_redemptions,
            "times_redeemed": code.times_redeemed,
            "created_at": code.created_at,
            "customer": code.customer,
            "active": code.active,
            "metadata": code.metadata,
            "test_mode": true,
        })
    }

    fn active_code_taken(&self, code: &str, except: Option<&str>) -> bool {
        self.promo_codes.iter().any(|p| {
            p.active
                && p.code.eq_ignore_ascii_case(code)
                && Some(p.promo_code_id.as_str()) != except
        })
    }

    pub(crate) fn redeem(&mut self, redemption: &Redemption) -> Result<Value, RedeemError> {
        let index = self
            .promo_codes
            .iter()
            .position(|p| {
                redemption.id.as_deref() == Some(p.promo_code_id.as_str())
                    || redemption
                        .code
                        .as_deref()
                        .is_some_and(|c| p.active && p.code.eq_ignore_ascii_case(c))
            })
            .ok_or(RedeemError::NotFound)?;
        let code = &self.promo_codes[index];
        if !code.active {
            return Err(RedeemError::Refused("the promo code is not active".into()));
        }
        if code
            .max_redemptions
            .is_some_and(|max| code.times_redeemed >= max)
        {
            return Err(RedeemError::Refused(
                "the promo code has reached max_redemptions".into(),
            ));
        }
        if code.customer.is_some() && code.customer != redemption.customer {
            return Err(RedeemError::Refused(
                "the promo code is for another customer".into(),
            ));
        }
        let coupon_id = code.coupon_id.clone();
        let coupon = self
            .coupons
            .iter_mut()
            .find(|c| c.coupon_id == coupon_id)
            .ok_or(RedeemError::NotFound)?;
        if !coupon.valid() {
            return Err(RedeemError::Refused("the coupon is no longer valid".into()));
        }
        coupon.times_redeemed += 1;
        self.promo_codes[index].times_redeemed += 1;
        Ok(self.render(&self.promo_codes[index]))
    }
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let kind = match status.as_u16() {
        401 => "authentication_error",
        404 => "not_found",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    };
    (
        status,
        Json(json!({ "error": { "type": kind, "message": message } })),
    )
        .into_response()
}

fn invalid(message: impl AsRef<str>) -> Response {
    error(StatusCode::BAD_REQUEST, message.as_ref())
}

pub(crate) fn routes() -> OpenApiRouter<Arc<Shared>> {
    OpenApiRouter::new()
        .routes(routes!(list_promo_codes, create_promo_code))
        .routes(routes!(get_promo_code, update_promo_code))
        .routes(routes!(list_coupons, create_coupon))
        .routes(routes!(get_coupon))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct PromoCodeFilter {
    /// Only codes with this `active` value.
    active: Option<bool>,
}

/// List Promo Codes (no pagination is documented; all are returned, oldest first).
#[utoipa::path(get, path = "/v1/promo_codes", tag = "flex", operation_id = "flex_list_promo_codes",
    params(PromoCodeFilter), responses((status = 200, description = "`{\"promo_codes\": [...]}`")))]
async fn list_promo_codes(
    State(shared): State<Arc<Shared>>,
    filter: Result<Query<PromoCodeFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(filter)) = filter else {
        return invalid("active must be true or false");
    };
    let world = shared.world();
    let store = &world.flex;
    let codes: Vec<Value> = store
        .promo_codes
        .iter()
        .filter(|p| filter.active.is_none_or(|a| a == p.active))
        .map(|p| store.render(p))
        .collect();
    Json(json!({ "promo_codes": codes })).into_response()
}

/// Create Promo Code for an existing coupon.
#[utoipa::path(post, path = "/v1/promo_codes", tag = "flex", operation_id = "flex_create_promo_code",
    request_body(content = Object, content_type = "application/json", description = "Flex `{\"promo_code\": {coupon_id, code, ...}}`"),
    responses((status = 200, description = "`{\"promo_code\": ...}`"),
              (status = 400, description = "Invalid, duplicate code or unknown coupon")))]
async fn create_promo_code(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: api::CreatePromoCodeRequest = match Provider::Flex.parse_body(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let input = request.promo_code;
    if input.code.trim().is_empty() {
        return invalid("code must not be empty");
    }
    let mut world = shared.world();
    let store = &mut world.flex;
    if store.coupon(&input.coupon_id).is_none() {
        return invalid(format!("No such coupon: '{}'", input.coupon_id));
    }
    if store.active_code_taken(&input.code, None) {
        return invalid(format!(
            "An active promo code with the code '{}' already exists",
            input.code
        ));
    }
    let code = PromoCode {
        promo_code_id: format!("fpromo_{}", ids::ulid()),
        code: input.code,
        coupon_id: input.coupon_id,
        max_redemptions: input.max_redemptions.map(|m| m.get()),
        times_redeemed: 0,
        customer: input.customer,
        active: true,
        metadata: metadata(input.metadata),
        created_at: now(),
    };
    let rendered = store.render(&code);
    store.promo_codes.push(code);
    Json(json!({ "promo_code": rendered })).into_response()
}

/// Get Promo Code (undocumented by Flex; assumed, see openapi/flex.yaml).
#[utoipa::path(get, path = "/v1/promo_codes/{id}", tag = "flex", operation_id = "flex_get_promo_code",
    params(("id" = String, Path)),
    responses((status = 200, description = "`{\"promo_code\": ...}`"), (status = 404, description = "Unknown id")))]
async fn get_promo_code(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let world = shared.world();
    match world
        .flex
        .promo_codes
        .iter()
        .find(|p| p.promo_code_id == id)
    {
        Some(code) => Json(json!({ "promo_code": world.flex.render(code) })).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("No such promo code: '{id}'"),
        ),
    }
}

/// Update Promo Code: only `active` and `metadata` (which is replaced whole).
#[utoipa::path(post, path = "/v1/promo_codes/{id}", tag = "flex", operation_id = "flex_update_promo_code",
    request_body(content = Object, content_type = "application/json", description = "Flex `{\"promo_code\": {active, metadata}}`"),
    params(("id" = String, Path)),
    responses((status = 200, description = "`{\"promo_code\": ...}`"),
              (status = 400, description = "A field other than active or metadata"),
              (status = 404, description = "Unknown id")))]
async fn update_promo_code(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    // Flex's update body has only these two fields; anything else is refused rather than
    // ignored, so a caller that believes it changed something else finds out.
    let raw: Value = match Provider::Flex.parse_body(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if let Some(fields) = raw.get("promo_code").and_then(Value::as_object)
        && let Some(other) = fields
            .keys()
            .find(|k| !["active", "metadata"].contains(&k.as_str()))
    {
        return invalid(format!(
            "Received unknown parameter: promo_code[{other}]; only active and metadata can be updated"
        ));
    }
    let request: api::UpdatePromoCodeRequest = match Provider::Flex.parse_body(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let mut world = shared.world();
    let store = &mut world.flex;
    let Some(index) = store.promo_codes.iter().position(|p| p.promo_code_id == id) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No such promo code: '{id}'"),
        );
    };
    let update = request.promo_code;
    if update.active == Some(true)
        && !store.promo_codes[index].active
        && store.active_code_taken(&store.promo_codes[index].code, Some(&id))
    {
        return invalid("Another active promo code has this code");
    }
    let code = &mut store.promo_codes[index];
    if let Some(active) = update.active {
        code.active = active;
    }
    if update.metadata.is_some() {
        code.metadata = metadata(update.metadata);
    }
    let rendered = store.render(&store.promo_codes[index]);
    Json(json!({ "promo_code": rendered })).into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
struct CouponFilter {
    /// Only coupons with exactly this name.
    name: Option<String>,
}

/// List Coupons.
#[utoipa::path(get, path = "/v1/coupons", tag = "flex", operation_id = "flex_list_coupons",
    params(CouponFilter), responses((status = 200, description = "`{\"coupons\": [...]}`")))]
async fn list_coupons(
    State(shared): State<Arc<Shared>>,
    Query(filter): Query<CouponFilter>,
) -> Response {
    let world = shared.world();
    let coupons: Vec<Value> = world
        .flex
        .coupons
        .iter()
        .filter(|c| filter.name.as_ref().is_none_or(|n| *n == c.name))
        .map(Coupon::render)
        .collect();
    Json(json!({ "coupons": coupons })).into_response()
}

/// Create Coupon.
#[utoipa::path(post, path = "/v1/coupons", tag = "flex", operation_id = "flex_create_coupon",
    request_body(content = Object, content_type = "application/json", description = "Flex `{\"coupon\": {...}}`"),
    responses((status = 200, description = "`{\"coupon\": ...}`"), (status = 400, description = "Invalid")))]
async fn create_coupon(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: api::CreateCouponRequest = match Provider::Flex.parse_body(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let input = request.coupon;
    match (input.amount_off, input.percent_off) {
        (Some(_), Some(_)) | (None, None) => {
            return invalid("Exactly one of amount_off or percent_off must be provided");
        }
        (None, Some(p)) if !(p > 0.0 && p <= 100.0) => {
            return invalid("percent_off must be greater than 0 and at most 100");
        }
        _ => {}
    }
    match (input.duration, input.duration_in_months) {
        (api::Duration::Repeating, None) => {
            return invalid("duration_in_months is required when duration is repeating");
        }
        (api::Duration::Once | api::Duration::Forever, Some(_)) => {
            return invalid("duration_in_months is only allowed when duration is repeating");
        }
        _ => {}
    }
    if input.name.trim().is_empty() {
        return invalid("name must not be empty");
    }
    let coupon = Coupon {
        coupon_id: format!("fcoup_{}", ids::ulid()),
        name: input.name,
        amount_off: input.amount_off.map(|a| a.get()),
        percent_off: input.percent_off,
        duration: input.duration,
        duration_in_months: input.duration_in_months.map(|d| d.get()),
        applies_to: input.applies_to,
        max_redemptions: input.max_redemptions.map(|m| m.get()),
        times_redeemed: 0,
        metadata: metadata(input.metadata),
        created_at: now(),
    };
    let rendered = coupon.render();
    shared.world().flex.coupons.push(coupon);
    Json(json!({ "coupon": rendered })).into_response()
}

/// Get Coupon.
#[utoipa::path(get, path = "/v1/coupons/{id}", tag = "flex", operation_id = "flex_get_coupon",
    params(("id" = String, Path)),
    responses((status = 200, description = "`{\"coupon\": ...}`"), (status = 404, description = "Unknown id")))]
async fn get_coupon(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.world().flex.coupon(&id) {
        Some(coupon) => Json(json!({ "coupon": coupon.render() })).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("No such coupon: '{id}'")),
    }
}
