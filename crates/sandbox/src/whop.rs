//! The Whop API v2 emulator: promo codes.
//!
//! Rules (Whop's v2 spec, see openapi/whop.yaml): create answers 201 with the bare object, and so
//! does update; only `plan_ids`, `stock`, `unlimited_stock`, `status` and `metadata` can change;
//! statuses are active, inactive and archived; `stock` counts the uses left unless
//! `unlimited_stock`; a code that was used cannot be deleted; lists page with `page` and `per`
//! (at most 50), and `total_count` is "automatically maxed out at 50" (so is the page count
//! derived from it); `plans` is a string (comma-separated ids here). Timestamps are unix seconds. Errors are `{"error": {"status", "message"}}`,
//! and a throttled caller gets 429 `{"message": "You are being rate limited"}`.
//!
//! Where Whop is silent: a create with neither `stock` nor `unlimited_stock` is unlimited; codes
//! are unique ignoring case among codes not archived; `duration` is derived from
//! `number_of_intervals` (0 forever, 1 once, more repeating).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promohub_clients::whop::types as api;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::control::{RedeemError, Redemption};
use crate::{Provider, Shared, ids};

#[derive(Default)]
pub(crate) struct Store {
    codes: Vec<PromoCode>,
}

#[derive(Clone)]
struct PromoCode {
    id: String,
    code: String,
    amount_off: f64,
    base_currency: api::Currency,
    promo_type: api::PromoType,
    expiration_datetime: Option<i64>,
    new_users_only: bool,
    number_of_intervals: i32,
    plan_ids: Vec<String>,
    stock: i32,
    unlimited_stock: bool,
    uses: i32,
    status: api::Status,
    metadata: Map<String, Value>,
    created_at: i64,
}

impl PromoCode {
    fn render(&self) -> Value {
        let duration = match self.number_of_intervals {
            0 => "forever",
            1 => "once",
            _ => "repeating",
        };
        json!({
            "id": self.id,
            "amount_off": self.amount_off,
            "base_currency": self.base_currency.to_string(),
            "code": self.code,
            "created_at": self.created_at,
            "duration": duration,
            "existing_memberships_only": false,
            "expiration_datetime": self.expiration_datetime,
            "metadata": self.metadata,
            "new_users_only": self.new_users_only,
            "number_of_intervals": self.number_of_intervals,
            // Deprecated, "Please use plans instead": still an array of ids.
            "plan_ids": self.plan_ids,
            // Documented as a string: "By default this will just be the IDs of the Plans".
            // How several ids share one string is not documented; comma-separated is the
            // reading here (docs/providers.md), "" for none.
            "plans": self.plan_ids.join(","),
            "promo_type": self.promo_type.to_string(),
            "status": self.status.to_string(),
            "stock": self.stock,
            "unlimited_stock": self.unlimited_stock,
            "uses": self.uses,
        })
    }
}

impl Store {
    /// What the store holds, for `SandboxState::held_codes`.
    pub(crate) fn held(&self) -> Vec<crate::HeldCode> {
        self.codes
            .iter()
            .map(|c| crate::HeldCode {
                id: c.id.clone(),
                code: c.code.clone(),
                active: c.status == api::Status::Active,
            })
            .collect()
    }

    fn code_taken(&self, code: &str, except: Option<&str>) -> bool {
        self.codes.iter().any(|c| {
            c.status != api::Status::Archived
                && c.code.eq_ignore_ascii_case(code)
                && Some(c.id.as_str()) != except
        })
    }

    pub(crate) fn redeem(&mut self, redemption: &Redemption) -> Result<Value, RedeemError> {
        let code = self
            .codes
            .iter_mut()
            .find(|c| {
                redemption.id.as_deref() == Some(c.id.as_str())
                    || redemption.code.as_deref().is_some_and(|code| {
                        c.status != api::Status::Archived && c.code.eq_ignore_ascii_case(code)
                    })
            })
            .ok_or(RedeemError::NotFound)?;
        if code.status != api::Status::Active {
            return Err(RedeemError::Refused(format!(
                "the promo code is {}",
                code.status
            )));
        }
        if code
            .expiration_datetime
            .is_some_and(|at| at <= chrono::Utc::now().timestamp())
        {
            return Err(RedeemError::Refused("the promo code has expired".into()));
        }
        if !code.unlimited_stock {
            if code.stock <= 0 {
                return Err(RedeemError::Refused(
                    "the promo code is out of stock".into(),
                ));
            }
            code.stock -= 1;
        }
        code.uses += 1;
        Ok(code.render())
    }
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "status": status.as_u16().to_string(), "message": message } })),
    )
        .into_response()
}

pub(crate) fn rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({ "message": "You are being rate limited" })),
    )
        .into_response()
}

fn invalid(message: impl AsRef<str>) -> Response {
    error(StatusCode::BAD_REQUEST, message.as_ref())
}

fn not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("Promo code {id} not found"))
}

pub(crate) fn routes() -> OpenApiRouter<Arc<Shared>> {
    OpenApiRouter::new()
        .routes(routes!(list_promo_codes, create_promo_code))
        .routes(routes!(
            retrieve_promo_code,
            update_promo_code,
            delete_promo_code
        ))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListParams {
    /// The page number to retrieve (default 1).
    page: Option<i32>,
    /// Results per page (default 10, at most 50).
    per: Option<i32>,
    /// Only codes with this status.
    #[param(value_type = Option<String>)]
    status: Option<api::Status>,
}

/// List Promo Codes, oldest first.
#[utoipa::path(get, path = "/v2/promo_codes", tag = "whop", operation_id = "whop_list_promo_codes",
    params(ListParams),
    responses((status = 200, description = "`{\"pagination\": ..., \"data\": [...]}`"),
              (status = 400, description = "Bad parameters")))]
async fn list_promo_codes(
    State(shared): State<Arc<Shared>>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return invalid("page and per must be integers; status active, inactive or archived");
    };
    let page = params.page.unwrap_or(1);
    if page < 1 {
        return invalid("page must be at least 1");
    }
    let per = params.per.unwrap_or(10);
    if per < 1 {
        return invalid("per must be at least 1");
    }
    let per = per.min(50);
    let world = shared.world();
    let matching: Vec<&PromoCode> = world
        .whop
        .codes
        .iter()
        .filter(|c| params.status.is_none_or(|s| s == c.status))
        .collect();
    let (page, per) = (page as usize, per as usize);
    let data: Vec<Value> = matching
        .iter()
        .skip((page - 1).saturating_mul(per))
        .take(per)
        .map(|c| c.render())
        .collect();
    // Whop: total_count is "automatically maxed out at 50"; the page count derived from it
    // is capped with it, so neither can tell a caller where the list ends.
    let total_count = matching.len().min(50);
    Json(json!({
        "pagination": {
            "current_page": page,
            "total_page": total_count.div_ceil(per),
            "total_count": total_count,
        },
        "data": data,
    }))
    .into_response()
}

/// Create a promo code.
#[utoipa::path(post, path = "/v2/promo_codes", tag = "whop", operation_id = "whop_create_promo_code",
    request_body(content = Object, content_type = "application/json", description = "Whop create_promo_code"),
    responses((status = 201, description = "The promo code"),
              (status = 400, description = "Invalid or duplicate code")))]
async fn create_promo_code(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let input: api::CreatePromoCode = match Provider::Whop.parse_body(&body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    if input.code.trim().is_empty() {
        return invalid("code can't be blank");
    }
    let amount_ok = match input.promo_type {
        api::PromoType::Percentage => input.amount_off > 0.0 && input.amount_off <= 100.0,
        api::PromoType::FlatAmount => input.amount_off > 0.0,
    };
    if !amount_ok || !input.amount_off.is_finite() {
        return invalid("amount_off must be above 0 (and at most 100 for a percentage)");
    }
    if input.number_of_intervals < 0 {
        return invalid("number_of_intervals must not be negative");
    }
    if input.stock.is_some_and(|s| s < 0) {
        return invalid("stock must not be negative");
    }
    let unlimited_stock = input.unlimited_stock.unwrap_or(input.stock.is_none());
    if !unlimited_stock && input.stock.is_none() {
        return invalid("stock is required unless unlimited_stock is true");
    }
    if input
        .expiration_datetime
        .is_some_and(|at| at <= chrono::Utc::now().timestamp())
    {
        return invalid("expiration_datetime must be in the future");
    }
    let mut world = shared.world();
    if world.whop.code_taken(&input.code, None) {
        return invalid(format!("Code {} has already been taken", input.code));
    }
    let code = PromoCode {
        id: format!("promo_{}", ids::alphanumeric(13)),
        code: input.code,
        amount_off: input.amount_off,
        base_currency: input.base_currency,
        promo_type: input.promo_type,
        expiration_datetime: input.expiration_datetime,
        new_users_only: input.new_users_only,
        number_of_intervals: input.number_of_intervals,
        plan_ids: input.plan_ids,
        stock: input.stock.unwrap_or(0),
        unlimited_stock,
        uses: 0,
        status: api::Status::Active,
        metadata: input.metadata.unwrap_or_default(),
        created_at: chrono::Utc::now().timestamp(),
    };
    let rendered = code.render();
    world.whop.codes.push(code);
    (StatusCode::CREATED, Json(rendered)).into_response()
}

/// Retrieve a promo code.
#[utoipa::path(get, path = "/v2/promo_codes/{id}", tag = "whop", operation_id = "whop_retrieve_promo_code",
    params(("id" = String, Path)),
    responses((status = 200, description = "The promo code"), (status = 404, description = "Unknown id")))]
async fn retrieve_promo_code(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    match shared.world().whop.codes.iter().find(|c| c.id == id) {
        Some(code) => Json(code.render()).into_response(),
        None => not_found(&id),
    }
}

/// Update a promo code's plans, stock, status or metadata. Answers 201, as Whop documents.
#[utoipa::path(post, path = "/v2/promo_codes/{id}", tag = "whop", operation_id = "whop_update_promo_code",
    request_body(content = Object, content_type = "application/json", description = "Whop update_promo_code"),
    params(("id" = String, Path)),
    responses((status = 201, description = "The promo code"),
              (status = 400, description = "A field that cannot change, or invalid"),
              (status = 404, description = "Unknown id")))]
async fn update_promo_code(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    const UPDATABLE: [&str; 5] = ["plan_ids", "stock", "unlimited_stock", "status", "metadata"];
    let raw: Value = match Provider::Whop.parse_body(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if let Some(other) = raw
        .as_object()
        .and_then(|o| o.keys().find(|k| !UPDATABLE.contains(&k.as_str())))
    {
        return invalid(format!(
            "{other} cannot be updated; only {} can",
            UPDATABLE.join(", ")
        ));
    }
    let update: api::UpdatePromoCode = match Provider::Whop.parse_body(&body) {
        Ok(update) => update,
        Err(response) => return response,
    };
    if update.stock.is_some_and(|s| s < 0) {
        return invalid("stock must not be negative");
    }
    let mut world = shared.world();
    let Some(index) = world.whop.codes.iter().position(|c| c.id == id) else {
        return not_found(&id);
    };
    let unarchiving = update.status.is_some_and(|s| s != api::Status::Archived)
        && world.whop.codes[index].status == api::Status::Archived;
    if unarchiving
        && world
            .whop
            .code_taken(&world.whop.codes[index].code, Some(&id))
    {
        return invalid("Another promo code has this code");
    }
    let code = &mut world.whop.codes[index];
    if let Some(plan_ids) = update.plan_ids {
        code.plan_ids = plan_ids;
    }
    if let Some(stock) = update.stock {
        code.stock = stock;
    }
    if let Some(unlimited) = update.unlimited_stock {
        code.unlimited_stock = unlimited;
    }
    if let Some(status) = update.status {
        code.status = status;
    }
    if let Some(metadata) = update.metadata {
        code.metadata = metadata;
    }
    (StatusCode::CREATED, Json(code.render())).into_response()
}

/// Delete a promo code that has never been used.
#[utoipa::path(delete, path = "/v2/promo_codes/{id}", tag = "whop", operation_id = "whop_delete_promo_code",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Already used"),
              (status = 404, description = "Unknown id")))]
async fn delete_promo_code(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut world = shared.world();
    let Some(index) = world.whop.codes.iter().position(|c| c.id == id) else {
        return not_found(&id);
    };
    if world.whop.codes[index].uses > 0 {
        return invalid(
            "You can only delete a promo code that has not been used yet; archive it instead",
        );
    }
    world.whop.codes.remove(index);
    StatusCode::NO_CONTENT.into_response()
}
