//! PromoHub's model <-> Whop's generated types.
//!
//! Units: `amount_off` is the percent for `percentage`, else major units (cents / 100 for USD,
//! per the currency's minor units); `base_currency` is lower case; timestamps are unix seconds;
//! `number_of_intervals` is 0 for forever, so ONCE is 1 and REPEATING n is n. `stock` is the
//! uses LEFT, so a total limit becomes `limit - uses`; no limit is `unlimited_stock`.

use std::str::FromStr;

use promohub_clients::whop::types as api;

use crate::currency;
use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Provider, Restrictions};
use crate::providers::{ProviderError, Remote, RemoteCode, RemoteSettings};

pub(super) fn status(code: &PromoCode) -> api::Status {
    match code.status {
        PromoCodeStatus::Active => api::Status::Active,
        PromoCodeStatus::Inactive => api::Status::Inactive,
        PromoCodeStatus::Archived => api::Status::Archived,
    }
}

/// Whop's `stock` for a total limit, given the uses so far; None is unlimited.
pub(super) fn stock(limit: Option<i64>, uses: i64) -> (Option<i32>, bool) {
    match limit {
        Some(limit) => (
            Some(i32::try_from(limit.saturating_sub(uses).max(0)).unwrap_or(i32::MAX)),
            false,
        ),
        None => (None, true),
    }
}

/// The total limit a Whop code holds now: the uses left plus the uses made (Whop's own count,
/// so redemptions PromoHub has not synced yet are in it); None when unlimited.
pub(super) fn whop_limit(promo: &api::PromoCode) -> Option<i64> {
    match promo.unlimited_stock {
        Some(false) => Some(
            i64::from(promo.stock.unwrap_or(0)).saturating_add(i64::from(promo.uses.unwrap_or(0))),
        ),
        // ASSUMPTION (docs/providers.md, "Whop stock"): absent unlimited_stock is unlimited,
        // as a create with neither stock nor unlimited_stock is.
        _ => None,
    }
}

/// The plan ids of a Whop code. `plans` is documented as a string ("By default this will just
/// be the IDs of the Plans"); it is read as comma-separated ids, and an array (of ids, or of
/// expanded plans with an `id`) is accepted too. The deprecated `plan_ids` is the fallback.
/// An empty list means every plan (docs/providers.md, "Whop plans").
fn plan_ids(promo: &api::PromoCode) -> Vec<String> {
    fn from_value(value: &serde_json::Value) -> Option<Vec<String>> {
        match value {
            serde_json::Value::String(text) => {
                let text = text.trim();
                if text.starts_with('[') {
                    // A JSON array sent as a string.
                    return serde_json::from_str::<serde_json::Value>(text)
                        .ok()
                        .and_then(|v| from_value(&v));
                }
                Some(
                    text.split(',')
                        .map(str::trim)
                        .filter(|id| !id.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|item| match item {
                        serde_json::Value::String(id) => Some(id.clone()),
                        serde_json::Value::Object(plan) => plan
                            .get("id")
                            .and_then(|id| id.as_str())
                            .map(str::to_string),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
    promo
        .plans
        .as_ref()
        .and_then(from_value)
        .or_else(|| from_value(&serde_json::Value::Array(promo.plan_ids.clone())))
        .unwrap_or_default()
}

impl TryFrom<&PromoCode> for api::CreatePromoCode {
    type Error = ProviderError;

    fn try_from(code: &PromoCode) -> Result<Self, ProviderError> {
        let (promo_type, amount_off, currency) = match &code.discount {
            // Whop requires a currency even for percentages; USD is a neutral default.
            Discount::Percentage { percent_off } => {
                (api::PromoType::Percentage, *percent_off, "usd".to_string())
            }
            Discount::FixedAmount {
                amount_off,
                currency,
            } => (
                api::PromoType::FlatAmount,
                *amount_off as f64 / currency::minor_units_per_major(currency) as f64,
                currency.to_lowercase(),
            ),
        };
        let base_currency = api::Currency::from_str(&currency).map_err(|_| {
            ProviderError::permanent(Provider::Whop, format!("Whop has no currency {currency}"))
        })?;
        let number_of_intervals = match code.duration {
            Duration::Once => 1,
            Duration::Repeating { periods } => i32::try_from(periods).unwrap_or(i32::MAX),
            Duration::Forever => 0,
        };
        let (stock, unlimited_stock) = stock(code.max_redemptions, 0);
        Ok(api::CreatePromoCode {
            code: code.code.clone(),
            amount_off,
            base_currency,
            promo_type,
            expiration_datetime: code.expires_at.map(|at| at.timestamp()),
            new_users_only: code.restrictions.new_customers_only,
            number_of_intervals,
            plan_ids: code.restrictions.plan_ids.clone(),
            stock,
            unlimited_stock: Some(unlimited_stock),
            metadata: Some(code.metadata.clone()),
        })
    }
}

impl TryFrom<api::PromoCode> for RemoteCode {
    /// Why the promo code cannot be placed at all (its settings may still be unreadable
    /// inside an `Ok`: see [`RemoteCode::settings`]).
    type Error = String;

    fn try_from(promo: api::PromoCode) -> Result<Self, String> {
        let uses = i64::from(promo.uses.unwrap_or(0));
        let currency = promo
            .base_currency
            .map(|c| c.to_string().to_uppercase())
            .unwrap_or_else(|| "USD".into());
        let discount = match (promo.promo_type, promo.amount_off) {
            (Some(api::PromoType::Percentage), Some(percent_off)) => {
                Ok(Discount::Percentage { percent_off })
            }
            (Some(api::PromoType::FlatAmount), Some(amount))
                if currency::is_iso_4217(&currency) =>
            {
                Ok(Discount::FixedAmount {
                    amount_off: (amount * currency::minor_units_per_major(&currency) as f64).round()
                        as i64,
                    currency,
                })
            }
            (Some(api::PromoType::FlatAmount), Some(_)) => {
                Err(format!("{currency} is not an ISO 4217 currency"))
            }
            _ => Err("no promo_type or amount_off".to_string()),
        };
        let plan_ids = plan_ids(&promo);
        let settings = discount.map(|discount| RemoteSettings {
            name: promo.code.clone().unwrap_or_default(),
            discount,
            duration: match promo.number_of_intervals.unwrap_or(0) {
                0 => Duration::Forever,
                1 => Duration::Once,
                n => Duration::Repeating {
                    periods: u32::try_from(n).unwrap_or(1),
                },
            },
            max_redemptions: whop_limit(&promo),
            max_redemptions_per_customer: None,
            expires_at: promo
                .expiration_datetime
                .and_then(|at| chrono::DateTime::from_timestamp(at, 0)),
            restrictions: Restrictions {
                plan_ids,
                new_customers_only: promo.new_users_only.unwrap_or(false),
                ..Restrictions::default()
            },
            metadata: promo.metadata.clone().unwrap_or_default(),
        });
        let external_id = promo
            .id
            .ok_or_else(|| format!("a promo code without an id (code {:?})", promo.code))?;
        let code = promo
            .code
            .ok_or_else(|| format!("promo code {external_id} without a code"))?;
        Ok(RemoteCode {
            owner: None,
            remote: Remote {
                external_id,
                secondary_id: None,
                times_redeemed: uses,
            },
            code,
            status: match promo.status {
                Some(api::Status::Inactive) => PromoCodeStatus::Inactive,
                Some(api::Status::Archived) => PromoCodeStatus::Archived,
                _ => PromoCodeStatus::Active,
            },
            settings,
        })
    }
}
