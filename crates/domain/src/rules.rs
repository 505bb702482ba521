//! The code rules and what each provider can hold, as ONE table that both validation and the
//! `providers` query read. Everything here is pure: no database, no network.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::currency;
use crate::error::{ErrorCode, UserError};
use crate::model::{
    CreatePromoCodeInput, Discount, DiscountType, Duration, DurationType, PromoCode,
    PromoCodeStatus, Provider, Restrictions, RestrictionsInput, UpdatePromoCodeInput,
};

/// Which currencies a provider accepts for fixed amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Currencies {
    AnyIso4217,
    Only(&'static [&'static str]),
}

/// What a provider can hold (the contract's ProviderCapabilities, plus the finer points the
/// contract's table has no column for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub discount_types: &'static [DiscountType],
    pub duration_types: &'static [DurationType],
    pub max_redemptions: bool,
    pub max_redemptions_per_customer: bool,
    pub expires_at: bool,
    pub plan_restrictions: bool,
    pub product_restrictions: bool,
    pub customer_restriction: bool,
    pub new_customers_only: bool,
    pub metadata: bool,
    /// Fields (as named in UpdatePromoCodeInput; `restrictions.planIds` for a part of one)
    /// the provider lets change after creation.
    pub updatable_fields: &'static [&'static str],
    pub currencies: Currencies,
    pub whole_percent_only: bool,
    pub metadata_string_values_only: bool,
}

const ALL_DISCOUNTS: &[DiscountType] = &[DiscountType::Percentage, DiscountType::FixedAmount];
const ALL_DURATIONS: &[DurationType] = &[
    DurationType::Once,
    DurationType::Repeating,
    DurationType::Forever,
];

/// Flex: a coupon (discount, duration, products, total limit) behind a promo code (code,
/// customer, limit, metadata). No expiry field exists; `amount_off` has no currency, read as
/// US cents; metadata values are strings; only `active` and `metadata` change after creation.
const FLEX: Capabilities = Capabilities {
    discount_types: ALL_DISCOUNTS,
    duration_types: ALL_DURATIONS,
    max_redemptions: true,
    max_redemptions_per_customer: false,
    expires_at: false,
    plan_restrictions: false,
    product_restrictions: true,
    customer_restriction: true,
    new_customers_only: false,
    metadata: true,
    updatable_fields: &["status", "metadata"],
    currencies: Currencies::Only(&["USD"]),
    whole_percent_only: false,
    metadata_string_values_only: true,
};

/// Fynn: one coupon; whole percents; plan/product lists have an undocumented item shape, so
/// PromoHub does not write them; no metadata, customer or new-customer fields. PUT replaces the
/// whole coupon, so what it holds can change (until it is redeemed: then Fynn refuses).
const FYNN: Capabilities = Capabilities {
    discount_types: ALL_DISCOUNTS,
    duration_types: ALL_DURATIONS,
    max_redemptions: true,
    max_redemptions_per_customer: true,
    expires_at: true,
    plan_restrictions: false,
    product_restrictions: false,
    customer_restriction: false,
    new_customers_only: false,
    metadata: false,
    updatable_fields: &[
        "name",
        "status",
        "maxRedemptions",
        "maxRedemptionsPerCustomer",
        "expiresAt",
    ],
    currencies: Currencies::AnyIso4217,
    whole_percent_only: true,
    metadata_string_values_only: false,
};

/// Whop v2: no per-customer limit, products or single customer; `stock` holds the total limit;
/// plans, stock, status and metadata change after creation. Whop has no name field: the name is
/// PromoHub's own and may change freely.
const WHOP: Capabilities = Capabilities {
    discount_types: ALL_DISCOUNTS,
    duration_types: ALL_DURATIONS,
    max_redemptions: true,
    max_redemptions_per_customer: false,
    expires_at: true,
    plan_restrictions: true,
    product_restrictions: false,
    customer_restriction: false,
    new_customers_only: true,
    metadata: true,
    updatable_fields: &[
        "name",
        "status",
        "maxRedemptions",
        "restrictions.planIds",
        "metadata",
    ],
    // Whop's base_currency enum, ISO codes only (it also lists eth, ape and btc).
    currencies: Currencies::Only(&[
        "USD", "SGD", "INR", "AUD", "BRL", "CAD", "DKK", "EUR", "NOK", "GBP", "SEK", "CHF", "HKD",
        "HUF", "JPY", "MXN", "MYR", "PLN", "CZK", "NZD", "AED", "COP", "RON", "THB", "BGN", "IDR",
        "DOP", "PHP", "TRY", "KRW", "TWD", "VND", "PKR", "CLP", "UYU", "ARS", "ZAR", "DZD", "TND",
        "MAD", "KES", "KWD", "JOD", "ALL", "XCD", "AMD", "BSD", "BHD", "BOB", "BAM", "KHR", "CRC",
        "XOF", "EGP", "ETB", "GMD", "GHS", "GTQ", "GYD", "ILS", "JMD", "MOP", "MGA", "MUR", "MDL",
        "MNT", "NAD", "NGN", "MKD", "OMR", "PYG", "PEN", "QAR", "RWF", "SAR", "RSD", "LKR", "TZS",
        "TTD", "UZS", "RUB",
    ]),
    whole_percent_only: false,
    metadata_string_values_only: false,
};

pub fn capabilities(provider: Provider) -> &'static Capabilities {
    match provider {
        Provider::Flex => &FLEX,
        Provider::Fynn => &FYNN,
        Provider::Whop => &WHOP,
    }
}

impl Capabilities {
    pub fn accepts_currency(&self, code: &str) -> bool {
        match self.currencies {
            Currencies::AnyIso4217 => true,
            Currencies::Only(codes) => codes.contains(&code),
        }
    }

    /// Whether the provider can hold this field at all.
    fn holds(&self, field: &str) -> bool {
        match field {
            "maxRedemptions" => self.max_redemptions,
            "maxRedemptionsPerCustomer" => self.max_redemptions_per_customer,
            "expiresAt" => self.expires_at,
            "restrictions.planIds" => self.plan_restrictions,
            "restrictions.productIds" => self.product_restrictions,
            "restrictions.customerId" => self.customer_restriction,
            "restrictions.newCustomersOnly" => self.new_customers_only,
            "metadata" => self.metadata,
            _ => true,
        }
    }
}

/// Codes are 3 to 64 letters, digits, `-` and `_`: what every provider takes, what buyers can
/// type, and safe in URLs and logs.
pub fn valid_code(code: &str) -> bool {
    (3..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const NAME_MAX: usize = 200;

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

/// A create request that passed every rule: ready to store and send.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPromoCode {
    pub code: String,
    pub name: String,
    pub discount: Discount,
    pub duration: Duration,
    pub max_redemptions: Option<i64>,
    pub max_redemptions_per_customer: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub restrictions: Restrictions,
    pub metadata: Map<String, Value>,
    pub providers: Vec<Provider>,
}

struct Errors(Vec<UserError>);

impl Errors {
    fn push(&mut self, field: &[&str], code: ErrorCode, message: impl Into<String>) {
        self.0.push(UserError::new(field, code, message));
    }
}

fn check_limit(errors: &mut Errors, field: &str, value: Option<i64>) {
    if value.is_some_and(|v| v < 1) {
        errors.push(
            &["input", field],
            ErrorCode::Invalid,
            "must be at least 1 (leave it out for no limit)",
        );
    }
}

fn check_name(errors: &mut Errors, name: &str) {
    let length = name.trim().chars().count();
    if length == 0 || length > NAME_MAX {
        errors.push(
            &["input", "name"],
            ErrorCode::Invalid,
            format!("must be 1 to {NAME_MAX} characters"),
        );
    }
}

fn check_expiry(errors: &mut Errors, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
    if expires_at.is_some_and(|at| at <= now) {
        errors.push(
            &["input", "expiresAt"],
            ErrorCode::Invalid,
            "must be in the future",
        );
    }
}

fn check_ids(errors: &mut Errors, field: &str, ids: &[String]) {
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
fn json_depth(value: &Value) -> usize {
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
fn has_long_string(value: &Value, max: usize) -> bool {
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

fn check_metadata(errors: &mut Errors, map: &Map<String, Value>) {
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

fn metadata_object(errors: &mut Errors, metadata: Option<&Value>) -> Map<String, Value> {
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
fn restrictions(
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

fn discount(errors: &mut Errors, input: &crate::model::DiscountInput) -> Option<Discount> {
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

fn duration(errors: &mut Errors, input: Option<&crate::model::DurationInput>) -> Option<Duration> {
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

/// Checks a create request against the code rules and against what every named provider can
/// hold. Returns every problem found, each with its field path.
pub fn validate_create(
    input: &CreatePromoCodeInput,
    now: DateTime<Utc>,
) -> Result<NewPromoCode, Vec<UserError>> {
    let mut errors = Errors(Vec::new());
    if input.code.is_empty() {
        errors.push(&["input", "code"], ErrorCode::Required, "is required");
    } else if !valid_code(&input.code) {
        errors.push(
            &["input", "code"],
            ErrorCode::Invalid,
            "must be 3 to 64 letters, digits, '-' or '_'",
        );
    }
    if let Some(name) = &input.name {
        check_name(&mut errors, name);
    }
    let discount = discount(&mut errors, &input.discount);
    let duration = duration(&mut errors, input.duration.as_ref());
    check_limit(&mut errors, "maxRedemptions", input.max_redemptions);
    check_limit(
        &mut errors,
        "maxRedemptionsPerCustomer",
        input.max_redemptions_per_customer,
    );
    check_expiry(&mut errors, input.expires_at, now);
    let restrictions = restrictions(
        &mut errors,
        input.restrictions.as_ref(),
        &Restrictions::default(),
    );
    let metadata = metadata_object(&mut errors, input.metadata.as_ref());
    if input.providers.is_empty() {
        errors.push(
            &["input", "providers"],
            ErrorCode::Required,
            "name at least one provider",
        );
    }
    // One error per repeated provider, in one pass: a list of 100,000 repeats is answered at
    // once (comparing each with all before it took minutes).
    let mut seen = std::collections::BTreeSet::new();
    let mut repeated = std::collections::BTreeSet::new();
    for provider in &input.providers {
        if !seen.insert(*provider) {
            repeated.insert(*provider);
        }
    }
    for provider in repeated {
        errors.push(
            &["input", "providers"],
            ErrorCode::Invalid,
            format!("{provider} is named more than once"),
        );
    }
    let (Some(discount), Some(duration)) = (discount, duration) else {
        return Err(errors.0);
    };
    if !errors.0.is_empty() {
        return Err(errors.0);
    }
    let new = NewPromoCode {
        code: input.code.clone(),
        name: input
            .name
            .as_ref()
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|| input.code.clone()),
        discount,
        duration,
        max_redemptions: input.max_redemptions,
        max_redemptions_per_customer: input.max_redemptions_per_customer,
        expires_at: input.expires_at,
        restrictions,
        metadata,
        providers: input.providers.clone(),
    };
    let unsupported = unsupported_on_create(&new);
    if unsupported.is_empty() {
        Ok(new)
    } else {
        Err(unsupported)
    }
}

/// Every setting of `new` that one of its providers cannot hold.
fn unsupported_on_create(new: &NewPromoCode) -> Vec<UserError> {
    let mut errors = Vec::new();
    for &provider in &new.providers {
        let caps = capabilities(provider);
        let mut refuse = |field: &[&str], what: &str| {
            errors.push(UserError::unsupported(provider, field, what));
        };
        if !caps.discount_types.contains(&new.discount.kind()) {
            refuse(
                &["input", "discount", "type"],
                &format!("{} discounts", new.discount.kind()),
            );
        }
        match &new.discount {
            Discount::Percentage { percent_off }
                if caps.whole_percent_only && percent_off.fract() != 0.0 =>
            {
                refuse(
                    &["input", "discount", "percentOff"],
                    "fractional percents (whole percents only)",
                );
            }
            Discount::FixedAmount { currency, .. } if !caps.accepts_currency(currency) => {
                refuse(
                    &["input", "discount", "currency"],
                    &format!("the currency {currency}"),
                );
            }
            _ => {}
        }
        if !caps.duration_types.contains(&new.duration.kind()) {
            refuse(
                &["input", "duration", "type"],
                &format!("{} durations", new.duration.kind()),
            );
        }
        for (field, given) in [
            ("maxRedemptions", new.max_redemptions.is_some()),
            (
                "maxRedemptionsPerCustomer",
                new.max_redemptions_per_customer.is_some(),
            ),
            ("expiresAt", new.expires_at.is_some()),
            ("metadata", !new.metadata.is_empty()),
        ] {
            if given && !caps.holds(field) {
                refuse(&["input", field], field);
            }
        }
        for (field, given) in restriction_fields(&new.restrictions) {
            if given && !caps.holds(&format!("restrictions.{field}")) {
                refuse(
                    &["input", "restrictions", field],
                    &format!("restrictions.{field}"),
                );
            }
        }
        if caps.metadata
            && caps.metadata_string_values_only
            && new.metadata.values().any(|v| !v.is_string())
        {
            refuse(&["input", "metadata"], "metadata values other than strings");
        }
    }
    errors
}

fn restriction_fields(r: &Restrictions) -> [(&'static str, bool); 4] {
    [
        ("planIds", !r.plan_ids.is_empty()),
        ("productIds", !r.product_ids.is_empty()),
        ("customerId", r.customer_id.is_some()),
        ("newCustomersOnly", r.new_customers_only),
    ]
}

/// The fields of a code an update can touch, as the API names them, with their values; used to
/// find what an update changes and to record it in the audit log.
pub fn updatable_snapshot(code: &PromoCode) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(code.name)),
        ("status", json!(code.status.as_str())),
        ("maxRedemptions", json!(code.max_redemptions)),
        (
            "maxRedemptionsPerCustomer",
            json!(code.max_redemptions_per_customer),
        ),
        ("expiresAt", json!(code.expires_at)),
        ("restrictions.planIds", json!(code.restrictions.plan_ids)),
        (
            "restrictions.productIds",
            json!(code.restrictions.product_ids),
        ),
        (
            "restrictions.customerId",
            json!(code.restrictions.customer_id),
        ),
        (
            "restrictions.newCustomersOnly",
            json!(code.restrictions.new_customers_only),
        ),
        ("metadata", Value::Object(code.metadata.clone())),
    ]
}

/// `{field: {"from": .., "to": ..}}` for every field that differs.
pub fn diff(before: &PromoCode, after: &PromoCode) -> Map<String, Value> {
    updatable_snapshot(before)
        .into_iter()
        .zip(updatable_snapshot(after))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, from), (_, to))| (field.to_string(), json!({ "from": from, "to": to })))
        .collect()
}

fn input_path(field: &'static str) -> Vec<&'static str> {
    let mut path = vec!["input"];
    path.extend(field.split('.'));
    path
}

/// Checks an update against the rules and the code's providers; returns the code as it will be.
pub fn validate_update(
    current: &PromoCode,
    input: &UpdatePromoCodeInput,
    now: DateTime<Utc>,
) -> Result<PromoCode, Vec<UserError>> {
    if current.status == PromoCodeStatus::Archived {
        return Err(vec![UserError::new(
            &[],
            ErrorCode::Archived,
            "the code is archived; no further changes are accepted",
        )]);
    }
    let mut errors = Errors(Vec::new());
    if let Some(name) = &input.name {
        check_name(&mut errors, name);
    }
    if input.status == Some(PromoCodeStatus::Archived) {
        errors.push(
            &["input", "status"],
            ErrorCode::Invalid,
            "use archivePromoCode to archive",
        );
    }
    for (field, patch) in [
        ("maxRedemptions", &input.max_redemptions),
        (
            "maxRedemptionsPerCustomer",
            &input.max_redemptions_per_customer,
        ),
    ] {
        if let crate::model::Patch::Set(value) = patch {
            check_limit(&mut errors, field, Some(*value));
        }
    }
    if let crate::model::Patch::Set(at) = input.expires_at {
        check_expiry(&mut errors, Some(at), now);
    }
    let restrictions = restrictions(
        &mut errors,
        input.restrictions.as_ref(),
        &current.restrictions,
    );
    let metadata = match &input.metadata {
        Some(value) => metadata_object(&mut errors, Some(value)),
        None => current.metadata.clone(),
    };
    if !errors.0.is_empty() {
        return Err(errors.0);
    }

    let mut next = current.clone();
    if let Some(name) = &input.name {
        next.name = name.trim().to_string();
    }
    if let Some(status) = input.status {
        next.status = status;
    }
    next.max_redemptions = input.max_redemptions.clone().apply(current.max_redemptions);
    next.max_redemptions_per_customer = input
        .max_redemptions_per_customer
        .clone()
        .apply(current.max_redemptions_per_customer);
    next.expires_at = input.expires_at.clone().apply(current.expires_at);
    next.restrictions = restrictions;
    next.metadata = metadata;

    let changed: Vec<&'static str> = updatable_snapshot(current)
        .into_iter()
        .zip(updatable_snapshot(&next))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, _), _)| field)
        .collect();
    let mut refused = Vec::new();
    for provider in current.provider_names() {
        let caps = capabilities(provider);
        for &field in &changed {
            let emptied = updatable_snapshot(&next)
                .into_iter()
                .find(|(f, _)| *f == field)
                .is_some_and(|(_, v)| is_empty_value(&v));
            if !caps.holds(field) {
                if !emptied {
                    refused.push(UserError::unsupported(provider, &input_path(field), field));
                }
            } else if !caps.updatable_fields.contains(&field) {
                refused.push(UserError::new(
                    &input_path(field),
                    ErrorCode::Immutable,
                    format!("{provider} cannot change {field} after creation"),
                ));
            }
        }
        if caps.metadata_string_values_only
            && changed.contains(&"metadata")
            && next.metadata.values().any(|v| !v.is_string())
        {
            refused.push(UserError::unsupported(
                provider,
                &["input", "metadata"],
                "metadata values other than strings",
            ));
        }
    }
    if refused.is_empty() {
        Ok(next)
    } else {
        Err(refused)
    }
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CreatePromoCodeInput, DiscountInput, DiscountType};

    fn create_with(
        metadata: Option<Value>,
        restrictions: Option<RestrictionsInput>,
    ) -> Result<NewPromoCode, Vec<UserError>> {
        let input = CreatePromoCodeInput {
            code: "CAPS-1".into(),
            discount: DiscountInput {
                kind: Some(DiscountType::Percentage),
                percent_off: Some(10.0),
                ..Default::default()
            },
            metadata,
            restrictions,
            providers: vec![Provider::Whop],
            ..Default::default()
        };
        validate_create(&input, Utc::now())
    }

    /// The field path and code of the only error, or None when accepted.
    fn refusal(result: Result<NewPromoCode, Vec<UserError>>) -> Option<(String, ErrorCode)> {
        match result {
            Ok(_) => None,
            Err(errors) => {
                assert_eq!(errors.len(), 1, "{errors:?}");
                Some((errors[0].field.join("."), errors[0].code))
            }
        }
    }

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!("leaf"), |inner, _| json!({ "n": inner }))
    }

    fn ids(count: usize, chars: usize) -> Vec<String> {
        (0..count)
            .map(|i| format!("{i:0>width$}", width = chars))
            .collect()
    }

    /// A case: its name, the metadata and restrictions given, and the refusal expected.
    type Case = (
        &'static str,
        Option<Value>,
        Option<RestrictionsInput>,
        Option<(String, ErrorCode)>,
    );

    #[test]
    fn input_caps_just_under_and_just_over() {
        let keys = |n: usize| {
            Value::Object(
                (0..n)
                    .map(|i| (format!("k{i}"), json!("v")))
                    .collect::<Map<String, Value>>(),
            )
        };
        let with_plans = |plan_ids: Vec<String>| {
            Some(RestrictionsInput {
                plan_ids: Some(plan_ids),
                ..Default::default()
            })
        };
        let invalid = |field: &str| Some((field.to_string(), ErrorCode::Invalid));
        let cases: Vec<Case> = vec![
            ("50 keys", Some(keys(METADATA_MAX_KEYS)), None, None),
            (
                "51 keys",
                Some(keys(METADATA_MAX_KEYS + 1)),
                None,
                invalid("input.metadata"),
            ),
            (
                "40-char key",
                Some(json!({ "k".repeat(40): 1 })),
                None,
                None,
            ),
            (
                "41-char key",
                Some(json!({ "k".repeat(41): 1 })),
                None,
                invalid("input.metadata"),
            ),
            (
                "500-char value",
                Some(json!({ "a": "v".repeat(500) })),
                None,
                None,
            ),
            (
                "501-char value",
                Some(json!({ "a": "v".repeat(501) })),
                None,
                invalid("input.metadata.a"),
            ),
            (
                "501 chars deep inside",
                Some(json!({ "a": [{ "b": "v".repeat(501) }] })),
                None,
                invalid("input.metadata.a"),
            ),
            ("nested 5", Some(json!({ "a": nested(5) })), None, None),
            (
                "nested 6",
                Some(json!({ "a": nested(6) })),
                None,
                invalid("input.metadata.a"),
            ),
            (
                "nested 150",
                Some(json!({ "a": nested(150) })),
                None,
                invalid("input.metadata.a"),
            ),
            (
                "8 KiB in all",
                Some(Value::Object(
                    (0..20)
                        .map(|i| (format!("k{i:02}"), json!("v".repeat(400))))
                        .collect(),
                )),
                None,
                None,
            ),
            (
                "over 8 KiB in all",
                Some(Value::Object(
                    (0..21)
                        .map(|i| (format!("k{i:02}"), json!("v".repeat(400))))
                        .collect(),
                )),
                None,
                invalid("input.metadata"),
            ),
            ("100 plans", None, with_plans(ids(IDS_MAX, 5)), None),
            (
                "101 plans",
                None,
                with_plans(ids(IDS_MAX + 1, 5)),
                invalid("input.restrictions.planIds"),
            ),
            (
                "100,000 plans",
                None,
                with_plans(ids(100_000, 6)),
                invalid("input.restrictions.planIds"),
            ),
            ("200-char plan", None, with_plans(ids(1, 200)), None),
            (
                "201-char plan",
                None,
                with_plans(ids(1, 201)),
                invalid("input.restrictions.planIds"),
            ),
            (
                "201-char customer",
                None,
                Some(RestrictionsInput {
                    customer_id: Some("c".repeat(201)),
                    ..Default::default()
                }),
                invalid("input.restrictions.customerId"),
            ),
        ];
        for (name, metadata, restrictions, expected) in cases {
            assert_eq!(
                refusal(create_with(metadata, restrictions)),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn a_hundred_thousand_repeated_providers_are_one_error_each() {
        let input = CreatePromoCodeInput {
            code: "MANY-1".into(),
            discount: DiscountInput {
                kind: Some(DiscountType::Percentage),
                percent_off: Some(10.0),
                ..Default::default()
            },
            providers: [Provider::Whop, Provider::Fynn].repeat(50_000),
            ..Default::default()
        };
        let errors = validate_create(&input, Utc::now()).expect_err("repeats");
        let fields: Vec<(String, ErrorCode)> =
            errors.iter().map(|e| (e.field.join("."), e.code)).collect();
        assert_eq!(
            fields,
            vec![("input.providers".to_string(), ErrorCode::Invalid); 2]
        );
    }

    #[test]
    fn json_depth_counts_levels_without_recursion() {
        assert_eq!(json_depth(&json!("x")), 0);
        assert_eq!(json_depth(&json!({ "a": 1 })), 1);
        assert_eq!(json_depth(&json!({ "a": [1, { "b": [] }] })), 4);
        assert_eq!(json_depth(&nested(1_000)), 1_000);
    }
}
