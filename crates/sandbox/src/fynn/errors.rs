//! Fynn's answers to bad requests (API Platform problem documents, 422 with `violations`), and
//! the rules a coupon written to Fynn must follow.

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promohub_clients::fynn::types as api;
use serde_json::{Value, json};

use super::NULLABLE;
use crate::Provider;

/// An API Platform problem document.
pub(crate) fn problem(status: StatusCode, detail: &str) -> Response {
    problem_with(status, detail, Vec::new())
}

pub(super) fn problem_with(
    status: StatusCode,
    detail: &str,
    violations: Vec<(&str, String)>,
) -> Response {
    let title = match status.as_u16() {
        422 => "An error occurred",
        _ => status.canonical_reason().unwrap_or("An error occurred"),
    };
    let mut body = json!({
        "type": format!("/errors/{}", status.as_u16()),
        "title": title,
        "detail": detail,
        "status": status.as_u16(),
    });
    if !violations.is_empty() {
        body["violations"] = violations
            .into_iter()
            .map(|(path, message)| json!({ "propertyPath": path, "message": message }))
            .collect();
    }
    (status, Json(body)).into_response()
}

pub(super) fn violation(path: &str, message: impl Into<String>) -> Response {
    let message = message.into();
    problem_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &format!("{path}: {message}"),
        vec![(path, message)],
    )
}

/// Parses a create or replace body: absent nullable fields are null, as their defaults say.
pub(super) fn parse_write(body: &Bytes) -> Result<api::CouponWrite, Response> {
    let mut raw: Value = Provider::Fynn.parse_body(body)?;
    let Some(object) = raw.as_object_mut() else {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "The body must be a JSON object",
        ));
    };
    for field in NULLABLE {
        object.entry(field).or_insert(Value::Null);
    }
    // Read-only fields a client may send back from a GET; Fynn ignores them.
    for field in ["id", "createdAt", "updatedAt", "reedemptions"] {
        object.remove(field);
    }
    serde_json::from_value(raw).map_err(|e| {
        problem_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &e.to_string(),
            vec![("", e.to_string())],
        )
    })
}

/// The rules beyond the schema; the first one broken.
pub(super) fn validate(coupon: &api::CouponWrite) -> Result<(), Response> {
    if coupon.code.trim().is_empty() {
        return Err(violation("code", "This value should not be blank."));
    }
    if coupon.name.trim().is_empty() {
        return Err(violation("name", "This value should not be blank."));
    }
    match coupon.type_ {
        api::CouponType::Percentage => match coupon.percentage {
            None => return Err(violation("percentage", "This value should not be null.")),
            Some(p) if !(1..=100).contains(&p) => {
                return Err(violation(
                    "percentage",
                    "This value should be between 1 and 100.",
                ));
            }
            Some(_) if coupon.fixed_amount.is_some() => {
                return Err(violation("fixedAmount", "This value should be null."));
            }
            Some(_) => {}
        },
        api::CouponType::FixedAmount => match &coupon.fixed_amount {
            None => return Err(violation("fixedAmount", "This value should not be null.")),
            Some(amount) if amount.amount <= 0 => {
                return Err(violation(
                    "fixedAmount.amount",
                    "This value should be positive.",
                ));
            }
            Some(amount)
                if amount.currency.len() != 3
                    || !amount.currency.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                return Err(violation(
                    "fixedAmount.currency",
                    "This value is not a valid currency.",
                ));
            }
            Some(_) if coupon.percentage.is_some() => {
                return Err(violation("percentage", "This value should be null."));
            }
            Some(_) => {}
        },
    }
    match (coupon.frequency, coupon.frequency_interval) {
        (api::Frequency::Limited, None) => {
            return Err(violation(
                "frequencyInterval",
                "This value should not be null.",
            ));
        }
        (api::Frequency::Limited, Some(n)) if n < 1 => {
            return Err(violation(
                "frequencyInterval",
                "This value should be positive.",
            ));
        }
        (api::Frequency::Once | api::Frequency::Lifetime, Some(_)) => {
            return Err(violation("frequencyInterval", "This value should be null."));
        }
        _ => {}
    }
    for (field, value) in [
        ("maxRedemptions", coupon.max_redemptions),
        (
            "maxRedemptionsPerCustomer",
            coupon.max_redemptions_per_customer,
        ),
    ] {
        if value.is_some_and(|v| v < 1) {
            return Err(violation(field, "This value should be positive."));
        }
    }
    Ok(())
}

pub(super) fn not_found(id: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        &format!("Coupon \"{id}\" not found."),
    )
}

pub(super) fn redeemed() -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "This coupon has been redeemed and can no longer be edited or deleted.",
    )
}
