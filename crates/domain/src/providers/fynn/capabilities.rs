//! What Fynn can hold (reference/fynn.md): one coupon; whole percents; the plan and product
//! lists have an undocumented item shape, so PromoHub does not write them (a full-replace PUT
//! sends back what Fynn holds); no metadata, customer or new-customer fields. PUT replaces the
//! whole coupon, so what it holds can change (until it is redeemed: then Fynn refuses).

use crate::providers::capabilities::{
    ALL_DISCOUNTS, ALL_DURATIONS, Capabilities, Currencies, FieldSupport, Support,
};

pub const CAPABILITIES: Capabilities = Capabilities {
    discount_types: ALL_DISCOUNTS,
    duration_types: ALL_DURATIONS,
    fields: FieldSupport {
        name: Support::Updatable,
        status: Support::Updatable,
        max_redemptions: Support::Updatable,
        max_redemptions_per_customer: Support::Updatable,
        expires_at: Support::Updatable,
        plan_ids: Support::Unsupported,
        product_ids: Support::Unsupported,
        customer_id: Support::Unsupported,
        new_customers_only: Support::Unsupported,
        metadata: Support::Unsupported,
    },
    currencies: Currencies::AnyIso4217,
    whole_percent_only: true,
    metadata_string_values_only: false,
    archived_status: false,
    documented_rate_limit: None,
};
