//! The code rules: what a create or an update may say, and whether every provider of the code
//! can hold it. Pure: no database, no network. `inputs` checks each input on its own, `fit`
//! holds a code against each provider's capabilities (`providers::capabilities`).

mod fit;
mod inputs;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::{ErrorCode, UserError};
use crate::model::{
    CreatePromoCodeInput, Discount, Duration, PromoCode, PromoCodeStatus, Provider, ProviderSync,
    Restrictions, UpdatePromoCodeInput,
};
use crate::providers::Field;
use inputs::{
    Errors, check_expiry, check_limit, check_name, discount, duration, metadata_object,
    restrictions,
};
pub use inputs::{
    ID_MAX_CHARS, IDS_MAX, METADATA_KEY_MAX_CHARS, METADATA_MAX_BYTES, METADATA_MAX_DEPTH,
    METADATA_MAX_KEYS, METADATA_STRING_MAX_CHARS, NAME_MAX, valid_code,
};

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

impl NewPromoCode {
    /// The code as a create stores it first: version 0 (reserved, not yet visible), active,
    /// every provider PENDING.
    pub fn into_code(self, id: String, now: DateTime<Utc>) -> PromoCode {
        PromoCode {
            id,
            code: self.code,
            name: self.name,
            status: PromoCodeStatus::Active,
            discount: self.discount,
            duration: self.duration,
            max_redemptions: self.max_redemptions,
            max_redemptions_per_customer: self.max_redemptions_per_customer,
            times_redeemed: 0,
            expires_at: self.expires_at,
            restrictions: self.restrictions,
            metadata: self.metadata,
            providers: self
                .providers
                .iter()
                .map(|&provider| ProviderSync::pending(provider))
                .collect(),
            version: 0,
            created_at: now,
            updated_at: now,
        }
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
    let unsupported = fit::unsupported_on_create(&new);
    if unsupported.is_empty() {
        Ok(new)
    } else {
        Err(unsupported)
    }
}

/// The fields of a code an update can touch, with their values; used to find what an update
/// changes and to record it in the audit log.
pub fn snapshot(code: &PromoCode) -> [(Field, Value); 10] {
    Field::ALL.map(|field| {
        let value = match field {
            Field::Name => json!(code.name),
            Field::Status => json!(code.status.as_str()),
            Field::MaxRedemptions => json!(code.max_redemptions),
            Field::MaxRedemptionsPerCustomer => json!(code.max_redemptions_per_customer),
            Field::ExpiresAt => json!(code.expires_at),
            Field::PlanIds => json!(code.restrictions.plan_ids),
            Field::ProductIds => json!(code.restrictions.product_ids),
            Field::CustomerId => json!(code.restrictions.customer_id),
            Field::NewCustomersOnly => json!(code.restrictions.new_customers_only),
            Field::Metadata => Value::Object(code.metadata.clone()),
        };
        (field, value)
    })
}

/// The fields that differ, each with its value before and after.
pub fn changes(before: &PromoCode, after: &PromoCode) -> Vec<(Field, Value, Value)> {
    snapshot(before)
        .into_iter()
        .zip(snapshot(after))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, from), (_, to))| (field, from, to))
        .collect()
}

/// `{field: {"from": .., "to": ..}}` for every field that differs, as the audit log keeps it.
pub fn diff(before: &PromoCode, after: &PromoCode) -> Map<String, Value> {
    changes(before, after)
        .into_iter()
        .map(|(field, from, to)| {
            (
                field.api_name().to_string(),
                json!({ "from": from, "to": to }),
            )
        })
        .collect()
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

    let refused = fit::unsupported_on_update(current, &next);
    if refused.is_empty() {
        Ok(next)
    } else {
        Err(refused)
    }
}
