//! Whether a code fits each of its providers: what a provider cannot hold is UNSUPPORTED on
//! create, and on update too unless the change empties it; what it holds but cannot change
//! after creation is IMMUTABLE. Read from each provider's capabilities, nothing else.

use serde_json::Value;

use super::{NewPromoCode, changes, snapshot};
use crate::error::{ErrorCode, UserError};
use crate::model::{Discount, PromoCode, Restrictions};
use crate::providers::{Field, capabilities};

/// The optional fields a create gives, each with whether it is set.
fn given(new: &NewPromoCode) -> [(Field, bool); 8] {
    let Restrictions {
        plan_ids,
        product_ids,
        customer_id,
        new_customers_only,
    } = &new.restrictions;
    [
        (Field::MaxRedemptions, new.max_redemptions.is_some()),
        (
            Field::MaxRedemptionsPerCustomer,
            new.max_redemptions_per_customer.is_some(),
        ),
        (Field::ExpiresAt, new.expires_at.is_some()),
        (Field::Metadata, !new.metadata.is_empty()),
        (Field::PlanIds, !plan_ids.is_empty()),
        (Field::ProductIds, !product_ids.is_empty()),
        (Field::CustomerId, customer_id.is_some()),
        (Field::NewCustomersOnly, *new_customers_only),
    ]
}

/// Every setting of `new` that one of its providers cannot hold.
pub(super) fn unsupported_on_create(new: &NewPromoCode) -> Vec<UserError> {
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
        for (field, set) in given(new) {
            if set && !caps.holds(field) {
                refuse(&field.input_path(), field.api_name());
            }
        }
        if caps.holds(Field::Metadata)
            && caps.metadata_string_values_only
            && new.metadata.values().any(|v| !v.is_string())
        {
            refuse(&["input", "metadata"], "metadata values other than strings");
        }
    }
    errors
}

/// Every change from `current` to `next` that one of the code's providers cannot make.
pub(super) fn unsupported_on_update(current: &PromoCode, next: &PromoCode) -> Vec<UserError> {
    let changed = changes(current, next);
    let after = snapshot(next);
    let mut refused = Vec::new();
    for provider in current.provider_names() {
        let caps = capabilities(provider);
        for (field, _, to) in &changed {
            let support = caps.support(*field);
            if !support.holds() {
                // Emptying a field the provider never held changes nothing there.
                if !is_empty_value(to) {
                    refused.push(UserError::unsupported(
                        provider,
                        &field.input_path(),
                        field.api_name(),
                    ));
                }
            } else if !support.changes() {
                refused.push(UserError::new(
                    &field.input_path(),
                    ErrorCode::Immutable,
                    format!(
                        "{provider} cannot change {} after creation",
                        field.api_name()
                    ),
                ));
            }
        }
        let metadata_changed = changed.iter().any(|(f, _, _)| *f == Field::Metadata);
        if caps.metadata_string_values_only
            && metadata_changed
            && after
                .iter()
                .any(|(f, v)| *f == Field::Metadata && has_non_string_value(v))
        {
            refused.push(UserError::unsupported(
                provider,
                &["input", "metadata"],
                "metadata values other than strings",
            ));
        }
    }
    refused
}

fn has_non_string_value(metadata: &Value) -> bool {
    metadata
        .as_object()
        .is_some_and(|map| map.values().any(|v| !v.is_string()))
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}
