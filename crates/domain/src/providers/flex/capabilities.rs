//! What Flex can hold (reference/flex.md): a coupon (discount, duration, products, total
//! limit) behind a promo code (code, customer, limit, metadata). No expiry field exists;
//! `amount_off` has no currency, read as US cents; metadata values are strings; only `active`
//! and `metadata` change after creation (the coupon's name is set once).

use crate::providers::capabilities::{
    ALL_DISCOUNTS, ALL_DURATIONS, Capabilities, Currencies, FieldSupport, Support,
};

pub const CAPABILITIES: Capabilities = Capabilities {
    discount_types: ALL_DISCOUNTS,
    duration_types: ALL_DURATIONS,
    fields: FieldSupport {
        name: Support::CreateOnly,
        status: Support::Updatable,
        max_redemptions: Support::CreateOnly,
        max_redemptions_per_customer: Support::Unsupported,
        expires_at: Support::Unsupported,
        plan_ids: Support::Unsupported,
        product_ids: Support::CreateOnly,
        customer_id: Support::CreateOnly,
        new_customers_only: Support::Unsupported,
        metadata: Support::Updatable,
    },
    currencies: Currencies::Only(&["USD"]),
    whole_percent_only: false,
    metadata_string_values_only: true,
    archived_status: false,
    documented_rate_limit: None,
};
