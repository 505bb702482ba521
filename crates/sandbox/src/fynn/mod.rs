//! The Fynn emulator: coupons.
//!
//! Rules (docs.fynn.eu, see openapi/fynn.yaml): `type` decides which of `percentage` (whole
//! percent) and `fixedAmount` is required and the other must be null; `frequency: limited` needs
//! `frequencyInterval`; PUT replaces the whole coupon (an omitted field takes its default); once a
//! coupon is redeemed it can be neither changed nor deleted; the list is paged with `page` and
//! `limit` (0 < limit < 100) and shows fewer fields than the detail. Errors follow API Platform:
//! 400 for malformed input, 404, 422 with `violations` for rule breaks.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promohub_clients::fynn::types as api;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Shared;
use crate::control::{RedeemError, Redemption};

mod errors;

pub(crate) use errors::problem;
use errors::{not_found, parse_write, redeemed, validate, violation};

#[derive(Default)]
pub(crate) struct Store {
    coupons: Vec<Coupon>,
    /// Coupons stored exactly as a test gave them (a kind the emulator does not model), shown
    /// in lists and detail reads after the others.
    raw: Vec<Value>,
}

#[derive(Clone)]
struct Coupon {
    id: String,
    fields: api::CouponWrite,
    created_at: String,
    updated_at: String,
    redemptions: u64,
    redemptions_by_customer: HashMap<String, u64>,
}

/// Fynn writes timestamps with an explicit offset: `2021-01-01T00:00:00+00:00`.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Fields that are nullable with a `null` default: absent on the wire means null.
const NULLABLE: [&str; 6] = [
    "percentage",
    "fixedAmount",
    "frequencyInterval",
    "maxRedemptions",
    "maxRedemptionsPerCustomer",
    "expiresAt",
];
const REFERENCES: [&str; 4] = [
    "limitedToPlans",
    "excludedFromPlans",
    "limitedToProducts",
    "excludedFromProducts",
];

impl Coupon {
    fn detail(&self) -> Value {
        let mut value = serde_json::to_value(&self.fields).unwrap_or_else(|_| json!({}));
        if let Some(object) = value.as_object_mut() {
            for field in REFERENCES {
                object.entry(field).or_insert_with(|| json!([]));
            }
            object.insert("id".into(), json!(self.id));
            object.insert("createdAt".into(), json!(self.created_at));
            object.insert("updatedAt".into(), json!(self.updated_at));
            object.insert("reedemptions".into(), json!(self.redemptions > 0));
        }
        value
    }

    /// The list view leaves out what the documented list example does not show.
    fn summary(&self) -> Value {
        let mut value = self.detail();
        if let Some(object) = value.as_object_mut() {
            object.remove("maxRedemptionsPerCustomer");
            for field in REFERENCES {
                object.remove(field);
            }
        }
        value
    }
}

impl Store {
    /// What the store holds, for `SandboxState::held_codes`.
    pub(crate) fn held(&self) -> Vec<crate::HeldCode> {
        self.coupons
            .iter()
            .map(|c| crate::HeldCode {
                id: c.id.clone(),
                code: c.fields.code.clone(),
                active: c.fields.is_enabled,
            })
            .collect()
    }

    pub(crate) fn insert_raw(&mut self, mut coupon: Value) -> Option<Value> {
        let object = coupon.as_object_mut()?;
        object
            .entry("id")
            .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
        self.raw.push(coupon.clone());
        Some(coupon)
    }

    fn code_taken(&self, code: &str, except: Option<&str>) -> bool {
        self.coupons
            .iter()
            .any(|c| c.fields.code.eq_ignore_ascii_case(code) && Some(c.id.as_str()) != except)
    }

    pub(crate) fn redeem(&mut self, redemption: &Redemption) -> Result<Value, RedeemError> {
        let coupon = self
            .coupons
            .iter_mut()
            .find(|c| {
                redemption.id.as_deref() == Some(c.id.as_str())
                    || redemption
                        .code
                        .as_deref()
                        .is_some_and(|code| c.fields.code.eq_ignore_ascii_case(code))
            })
            .ok_or(RedeemError::NotFound)?;
        let fields = &coupon.fields;
        if !fields.is_enabled {
            return Err(RedeemError::Refused("the coupon is disabled".into()));
        }
        if fields.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
            return Err(RedeemError::Refused("the coupon has expired".into()));
        }
        if fields
            .max_redemptions
            .is_some_and(|max| coupon.redemptions >= u64::try_from(max).unwrap_or(0))
        {
            return Err(RedeemError::Refused(
                "the coupon has reached maxRedemptions".into(),
            ));
        }
        let customer = redemption.customer.clone().unwrap_or_default();
        let by_customer = coupon
            .redemptions_by_customer
            .get(&customer)
            .copied()
            .unwrap_or(0);
        if fields
            .max_redemptions_per_customer
            .is_some_and(|max| by_customer >= u64::try_from(max).unwrap_or(0))
        {
            return Err(RedeemError::Refused(
                "the customer has reached maxRedemptionsPerCustomer".into(),
            ));
        }
        coupon.redemptions += 1;
        *coupon.redemptions_by_customer.entry(customer).or_default() += 1;
        Ok(coupon.detail())
    }
}

pub(crate) fn routes() -> OpenApiRouter<Arc<Shared>> {
    OpenApiRouter::new()
        .routes(routes!(get_coupons, create_coupon))
        .routes(routes!(get_coupon, update_coupon, delete_coupon))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct Page {
    /// The collection page number (default 1).
    page: Option<i64>,
    /// The number of items per page (default 30, 0 < limit < 100).
    limit: Option<i64>,
}

/// Get all coupons, paged, oldest first.
#[utoipa::path(get, path = "/coupons", tag = "fynn", operation_id = "fynn_get_coupons",
    params(Page),
    responses((status = 200, description = "`{\"data\": [...], \"meta\": {\"pagination\": ...}}`"),
              (status = 400, description = "Bad page or limit")))]
async fn get_coupons(
    State(shared): State<Arc<Shared>>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(page)) = page else {
        return problem(StatusCode::BAD_REQUEST, "page and limit must be integers");
    };
    let number = page.page.unwrap_or(1);
    let limit = page.limit.unwrap_or(30);
    if number < 1 {
        return problem(StatusCode::BAD_REQUEST, "Page should not be less than 1");
    }
    if !(1..100).contains(&limit) {
        return problem(StatusCode::BAD_REQUEST, "Limit should be between 1 and 99");
    }
    let world = shared.world();
    let all: Vec<Value> = world
        .fynn
        .coupons
        .iter()
        .map(Coupon::summary)
        .chain(world.fynn.raw.iter().cloned())
        .collect();
    let (number, limit) = (number as usize, limit as usize);
    let items: Vec<Value> = all
        .iter()
        .skip((number - 1).saturating_mul(limit))
        .take(limit)
        .cloned()
        .collect();
    Json(json!({
        "data": items,
        "meta": { "pagination": {
            "totalItems": all.len(),
            "itemsPerPage": limit,
            "currentPage": number,
            "lastPage": all.len().div_ceil(limit).max(1),
            "pageTotalItems": items.len(),
        }},
    }))
    .into_response()
}

/// Create a coupon.
#[utoipa::path(post, path = "/coupons", tag = "fynn", operation_id = "fynn_create_coupon",
    request_body(content = Object, content_type = "application/json", description = "Fynn Coupon-CouponWrite"),
    responses((status = 201, description = "The coupon"), (status = 400, description = "Malformed"),
              (status = 422, description = "Rule broken, e.g. code already used")))]
async fn create_coupon(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fields = match parse_write(&body).and_then(|f| validate(&f).map(|()| f)) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let mut world = shared.world();
    if world.fynn.code_taken(&fields.code, None) {
        return violation("code", "This value is already used.");
    }
    let at = now();
    let coupon = Coupon {
        id: uuid::Uuid::new_v4().to_string(),
        fields,
        created_at: at.clone(),
        updated_at: at,
        redemptions: 0,
        redemptions_by_customer: HashMap::new(),
    };
    let detail = coupon.detail();
    world.fynn.coupons.push(coupon);
    (StatusCode::CREATED, Json(detail)).into_response()
}

/// Get a coupon (undocumented by Fynn; assumed, see openapi/fynn.yaml).
#[utoipa::path(get, path = "/coupons/{id}", tag = "fynn", operation_id = "fynn_get_coupon",
    params(("id" = String, Path)),
    responses((status = 200, description = "The coupon"), (status = 404, description = "Unknown id")))]
async fn get_coupon(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let world = shared.world();
    if let Some(coupon) = world.fynn.coupons.iter().find(|c| c.id == id) {
        return Json(coupon.detail()).into_response();
    }
    match world.fynn.raw.iter().find(|c| c["id"] == json!(id)) {
        Some(raw) => Json(raw.clone()).into_response(),
        None => not_found(&id),
    }
}

/// Update a coupon: replaces it whole. Refused once the coupon was redeemed.
#[utoipa::path(put, path = "/coupons/{id}", tag = "fynn", operation_id = "fynn_update_coupon",
    request_body(content = Object, content_type = "application/json", description = "Fynn Coupon-CouponWrite (full replacement)"),
    params(("id" = String, Path)),
    responses((status = 200, description = "The coupon"), (status = 400, description = "Malformed, or redeemed"),
              (status = 404, description = "Unknown id"), (status = 422, description = "Rule broken")))]
async fn update_coupon(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut world = shared.world();
    let Some(index) = world.fynn.coupons.iter().position(|c| c.id == id) else {
        return not_found(&id);
    };
    if world.fynn.coupons[index].redemptions > 0 {
        return redeemed();
    }
    let fields = match parse_write(&body).and_then(|f| validate(&f).map(|()| f)) {
        Ok(f) => f,
        Err(response) => return response,
    };
    if world.fynn.code_taken(&fields.code, Some(&id)) {
        return violation("code", "This value is already used.");
    }
    let coupon = &mut world.fynn.coupons[index];
    coupon.fields = fields;
    coupon.updated_at = now();
    Json(coupon.detail()).into_response()
}

/// Delete a coupon (undocumented by Fynn; assumed). Refused once the coupon was redeemed.
#[utoipa::path(delete, path = "/coupons/{id}", tag = "fynn", operation_id = "fynn_delete_coupon",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Redeemed"),
              (status = 404, description = "Unknown id")))]
async fn delete_coupon(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut world = shared.world();
    let Some(index) = world.fynn.coupons.iter().position(|c| c.id == id) else {
        return not_found(&id);
    };
    if world.fynn.coupons[index].redemptions > 0 {
        return redeemed();
    }
    world.fynn.coupons.remove(index);
    StatusCode::NO_CONTENT.into_response()
}
