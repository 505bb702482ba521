//! The rules for each input on its own: code, name, limits, expiry, restrictions, metadata,
//! discount and duration. Provider-independent; every problem is pushed with its field path.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::currency;
use crate::error::{ErrorCode, UserError};
use crate::model::{
    Discount, DiscountType, Duration, DurationType, Restrictions, RestrictionsInput,
};

/// Codes are 3 to 64 letters, digits, `-` and `_`: what every provider takes, what buyers can
/// type, and safe in URLs and logs.
pub fn valid_code(code: &str) -> bool {
    (3..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub const NAME_MAX: usize = 200;

/// Caps on what one code may carry, so no single request can store (and send to a provider)
/// more than a provider could reasonably hold. Metadata follows the limits Stripe documents for
/// its own metadata (50 keys, 40-character keys, 500-character values), the strictest of the
/// well-known payment APIs; none of our three providers documents its own.
pub const METADATA_MAX_KEYS: usize = 50;
pub const METADATA_KEY_MAX_CHARS: usize = 40;
pub const METADATA_STRING_MAX_CHARS: usize = 500;
/// Levels of objects and lists inside one metadata value (a flat value is level 0).
pub const METADATA_MAX_DEPTH: usize = 5;
/// The whole metadata object as JSON.
pub const METADATA_MAX_BYTES: usize = 8 * 1024;
/// Plan ids and product ids, each.
pub const IDS_MAX: usize = 100;
pub const ID_MAX_CHARS: usize = 200;

pub(super) struct Errors(pub(super) Vec<UserError>);

impl Errors {
    pub(super) fn push(&mut self, field: &[&str], code: ErrorCode, message: impl Into<String>) {
        self.0.push(UserError::new(field, code, message));
    }
}

pub(super) fn check_limit(errors: &mut Errors, field: &str, value: Option<i64>) {
    if value.is_some_and(|v| v < 1) {
        errors.push(
            &["input", field],
            ErrorCode::Invalid,
            "must be at least 1 (leave it out for no limit)",
        );
    }
}

pub(super) fn check_name(errors: &mut Errors, name: &str) {
    let length = name.trim().chars().count();
    if length == 0 || length > NAME_MAX {
        errors.push(
            &["input", "name"],
            ErrorCode::Invalid,
            format!("must be 1 to {NAME_MAX} characters"),
        );
    }
}

pub(super) fn check_expiry(
    errors: &mut Errors,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    if expires_at.is_some_and(|at| at <= now) {
        errors.push(
            &["input", "expiresAt"],
            ErrorCode::Invalid,
            "must be in the future",
        );
    }
}

pub(super) fn check_ids(errors: &mut Errors, field: &str, ids: &[String]) {
    if ids.len() > IDS_MAX {
        errors.push(
            &["input", "restrictions", field],
            ErrorCode::Invalid,
            format!("at most {IDS_MAX} ids, not {}", ids.len()),
        );
    } else if ids
        .iter()
        .any(|id| id.trim().is_empty() || id.chars().count() > ID_MAX_CHARS)
    {
        errors.push(
            &["input", "restrictions", field],
            ErrorCode::Invalid,
            format!("ids must be 1 to {ID_MAX_CHARS} characters"),
        );
    }
}

/// Depth of nested objects and lists in a JSON value, counted without recursion so no input
/// can exhaust the stack.
pub(super) fn json_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// The first string inside a JSON value longer than `max` characters, if any.
pub(super) fn has_long_string(value: &Value, max: usize) -> bool {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) if text.chars().count() > max => return true,
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    false
}

pub(super) fn check_metadata(errors: &mut Errors, map: &Map<String, Value>) {
    let mut refuse = |path: &[&str], message: String| {
        let mut field = vec!["input", "metadata"];
        field.extend_from_slice(path);
        errors.push(&field, ErrorCode::Invalid, message);
    };
    if map.len() > METADATA_MAX_KEYS {
        refuse(
            &[],
            format!("at most {METADATA_MAX_KEYS} keys, not {}", map.len()),
        );
        return;
    }
    for (key, value) in map {
        if key.is_empty() || key.chars().count() > METADATA_KEY_MAX_CHARS {
            refuse(
                &[],
                format!("keys must be 1 to {METADATA_KEY_MAX_CHARS} characters"),
            );
        } else if json_depth(value) > METADATA_MAX_DEPTH {
            refuse(
                &[key],
                format!("values may nest at most {METADATA_MAX_DEPTH} levels deep"),
            );
        } else if has_long_string(value, METADATA_STRING_MAX_CHARS) {
            refuse(
                &[key],
                format!("strings must be at most {METADATA_STRING_MAX_CHARS} characters"),
            );
        }
    }
    let bytes = Value::Object(map.clone()).to_string().len();
    if bytes > METADATA_MAX_BYTES {
        refuse(
            &[],
            format!("at most {METADATA_MAX_BYTES} bytes as JSON, not {bytes}"),
        );
    }
}

pub(super) fn metadata_object(errors: &mut Errors, metadata: Option<&Value>) -> Map<String, Value> {
    match metadata {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => {
            check_metadata(errors, map);
            map.clone()
        }
        Some(_) => {
            errors.push(
                &["input", "metadata"],
                ErrorCode::Invalid,
                "must be a JSON object",
            );
            Map::new()
        }
    }
}

/// Applies restriction input on top of `base` (each part given replaces that part).
pub(super) fn restrictions(
    errors: &mut Errors,
    input: Option<&RestrictionsInput>,
    base: &Restrictions,
) -> Restrictions {
    let Some(input) = input else {
        return base.clone();
    };
    let result = Restrictions {
        plan_ids: input.plan_ids.clone().unwrap_or(base.plan_ids.clone()),
        product_ids: input
            .product_ids
            .clone()
            .unwrap_or(base.product_ids.clone()),
        customer_id: match &input.customer_id {
            Some(id) if id.is_empty() => None,
            Some(id) => Some(id.clone()),
            None => base.customer_id.clone(),
        },
        new_customers_only: input.new_customers_only.unwrap_or(base.new_customers_only),
    };
    check_ids(errors, "planIds", &result.plan_ids);
    check_ids(errors, "productIds", &result.product_ids);
    if result
        .customer_id
        .as_ref()
        .is_some_and(|id| id.chars().count() > ID_MAX_CHARS)
    {
        errors.push(
            &["input", "restrictions", "customerId"],
            ErrorCode::Invalid,
            format!("must be at most {ID_MAX_CHARS} characters"),
        );
    }
    result
}

pub(super) fn discount(
    errors: &mut Errors,
    input: &crate::model::DiscountInput,
) -> Option<Discount> {
    let path = |field: &'static str| ["input", "discount", field];
    match input.kind {
        None => {
            errors.push(&path("type"), ErrorCode::Required, "is required");
            None
        }
        Some(DiscountType::Percentage) => {
            if input.amount_off.is_some() || input.currency.is_some() {
                errors.push(
                    &path("amountOff"),
                    ErrorCode::Invalid,
                    "amountOff and currency go only with FIXED_AMOUNT",
                );
            }
            match input.percent_off {
                None => {
                    errors.push(
                        &path("percentOff"),
                        ErrorCode::Required,
                        "is required for PERCENTAGE",
                    );
                    None
                }
                Some(p) if !(p.is_finite() && p > 0.0 && p <= 100.0) => {
                    errors.push(
                        &path("percentOff"),
                        ErrorCode::Invalid,
                        "must be greater than 0 and at most 100",
                    );
                    None
                }
                Some(percent_off) => Some(Discount::Percentage { percent_off }),
            }
        }
        Some(DiscountType::FixedAmount) => {
            if input.percent_off.is_some() {
                errors.push(
                    &path("percentOff"),
                    ErrorCode::Invalid,
                    "percentOff goes only with PERCENTAGE",
                );
            }
            let amount = match input.amount_off {
                None => {
                    errors.push(
                        &path("amountOff"),
                        ErrorCode::Required,
                        "is required for FIXED_AMOUNT",
                    );
                    None
                }
                Some(a) if a <= 0 => {
                    errors.push(
                        &path("amountOff"),
                        ErrorCode::Invalid,
                        "must be a positive amount in minor units (cents)",
                    );
                    None
                }
                Some(a) => Some(a),
            };
            let currency = match &input.currency {
                None => {
                    errors.push(
                        &path("currency"),
                        ErrorCode::Required,
                        "is required for FIXED_AMOUNT",
                    );
                    None
                }
                Some(c) if !currency::is_iso_4217(c) => {
                    errors.push(
                        &path("currency"),
                        ErrorCode::Invalid,
                        "must be an ISO 4217 code in upper case, e.g. USD",
                    );
                    None
                }
                Some(c) => Some(c.clone()),
            };
            Some(Discount::FixedAmount {
                amount_off: amount?,
                currency: currency?,
            })
        }
    }
}

pub(super) fn duration(
    errors: &mut Errors,
    input: Option<&crate::model::DurationInput>,
) -> Option<Duration> {
    let Some(input) = input else {
        return Some(Duration::Once);
    };
    let path = ["input", "duration", "periods"];
    match (input.kind, input.periods) {
        (DurationType::Repeating, None) => {
            errors.push(&path, ErrorCode::Required, "is required for REPEATING");
            None
        }
        (DurationType::Repeating, Some(periods)) => match u32::try_from(periods) {
            Ok(periods @ 1..=1200) => Some(Duration::Repeating { periods }),
            _ => {
                errors.push(&path, ErrorCode::Invalid, "must be 1 to 1200");
                None
            }
        },
        (_, Some(_)) => {
            errors.push(&path, ErrorCode::Invalid, "goes only with REPEATING");
            None
        }
        (DurationType::Once, None) => Some(Duration::Once),
        (DurationType::Forever, None) => Some(Duration::Forever),
    }
}
