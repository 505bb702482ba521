//! What Whop v2 can hold (reference/whop.md): no per-customer limit, products or single
//! customer; `stock` holds the total limit; plans, stock, status and metadata change after
//! creation. Whop has no name field: the name is PromoHub's own and may change freely.
//! Whop documents 100 requests per 10 seconds.

use crate::providers::capabilities::{
    ALL_DISCOUNTS, ALL_DURATIONS, Capabilities, Currencies, FieldSupport, Support,
};

pub const CAPABILITIES: Capabilities = Capabilities {
    discount_types: ALL_DISCOUNTS,
    duration_types: ALL_DURATIONS,
    fields: FieldSupport {
        name: Support::PromoHubOnly,
        status: Support::Updatable,
        max_redemptions: Support::Updatable,
        max_redemptions_per_customer: Support::Unsupported,
        expires_at: Support::CreateOnly,
        plan_ids: Support::Updatable,
        product_ids: Support::Unsupported,
        customer_id: Support::Unsupported,
        new_customers_only: Support::CreateOnly,
        metadata: Support::Updatable,
    },
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
    archived_status: true,
    documented_rate_limit: Some("100/10s"),
};
