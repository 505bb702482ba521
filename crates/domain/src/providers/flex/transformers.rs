//! PromoHub's model <-> Flex's generated types.
//!
//! Units: `amount_off` is an integer with no currency field, read as US cents (the
//! capabilities admit USD only). `repeating` counts months: PromoHub's billing periods.

use std::collections::HashMap;
use std::num::NonZeroU64;

use promohub_clients::flex::types as api;

use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Restrictions};
use crate::providers::{Remote, RemoteCode, RemoteSettings};

/// The coupon metadata key that carries the PromoHub id: lets a later attempt find and reuse a
/// coupon an interrupted one left behind, and tells our copy of a code from an older one.
pub(super) const OWNER_KEY: &str = "promohub_id";

fn positive(value: Option<i64>) -> Option<NonZeroU64> {
    value
        .and_then(|v| u64::try_from(v).ok())
        .and_then(NonZeroU64::new)
}

/// Flex metadata holds strings only; the capabilities refuse anything else up front.
pub(super) fn metadata(code: &PromoCode) -> api::Metadata {
    let map: HashMap<String, String> = code
        .metadata
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    api::Metadata(Some(map))
}

impl From<&PromoCode> for api::CreateCouponRequest {
    fn from(code: &PromoCode) -> Self {
        let (amount_off, percent_off) = match &code.discount {
            Discount::Percentage { percent_off } => (None, Some(*percent_off)),
            Discount::FixedAmount { amount_off, .. } => (positive(Some(*amount_off)), None),
        };
        let (duration, duration_in_months) = match code.duration {
            Duration::Once => (api::Duration::Once, None),
            Duration::Repeating { periods } => (
                api::Duration::Repeating,
                NonZeroU64::new(u64::from(periods)),
            ),
            Duration::Forever => (api::Duration::Forever, None),
        };
        let applies_to = (!code.restrictions.product_ids.is_empty()).then(|| api::AppliesTo {
            products: code.restrictions.product_ids.clone(),
        });
        api::CreateCouponRequest {
            coupon: api::CreateCoupon {
                name: code.name.clone(),
                amount_off,
                percent_off,
                duration,
                duration_in_months,
                applies_to,
                // The limit lives on the promo code, which counts this code's redemptions.
                max_redemptions: None,
                metadata: Some(api::Metadata(Some(HashMap::from([(
                    OWNER_KEY.to_string(),
                    code.id.clone(),
                )])))),
            },
        }
    }
}

/// The promo code pointing at `coupon_id`.
pub(super) fn promo_code_request(
    code: &PromoCode,
    coupon_id: String,
) -> api::CreatePromoCodeRequest {
    api::CreatePromoCodeRequest {
        promo_code: api::CreatePromoCode {
            coupon_id,
            code: code.code.clone(),
            max_redemptions: positive(code.max_redemptions),
            customer: code.restrictions.customer_id.clone(),
            metadata: Some(metadata(code)),
        },
    }
}

/// The PromoHub id a coupon carries, if any.
pub(super) fn owner(coupon: &api::Coupon) -> Option<&String> {
    coupon
        .metadata
        .as_ref()
        .and_then(|m| m.0.as_ref())
        .and_then(|m| m.get(OWNER_KEY))
}

fn settings(promo: &api::PromoCode) -> Result<RemoteSettings, String> {
    let coupon = promo
        .coupon
        .as_ref()
        .ok_or_else(|| "Flex sent the promo code without its coupon".to_string())?;
    let discount = match (coupon.percent_off, coupon.amount_off) {
        (Some(percent_off), _) => Discount::Percentage { percent_off },
        (None, Some(amount_off)) => Discount::FixedAmount {
            amount_off,
            currency: "USD".into(),
        },
        (None, None) => return Err("the coupon has no amount".to_string()),
    };
    let duration = match coupon.duration {
        api::Duration::Once => Duration::Once,
        api::Duration::Forever => Duration::Forever,
        api::Duration::Repeating => Duration::Repeating {
            periods: coupon
                .duration_in_months
                .and_then(|m| u32::try_from(m).ok())
                .ok_or("a repeating coupon without duration_in_months")?,
        },
    };
    Ok(RemoteSettings {
        name: coupon.name.clone(),
        discount,
        duration,
        max_redemptions: promo.max_redemptions,
        max_redemptions_per_customer: None,
        expires_at: None,
        restrictions: Restrictions {
            product_ids: coupon
                .applies_to
                .as_ref()
                .map(|a| a.products.clone())
                .unwrap_or_default(),
            customer_id: promo.customer.clone(),
            ..Restrictions::default()
        },
        metadata: promo
            .metadata
            .as_ref()
            .and_then(|m| m.0.as_ref())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl TryFrom<api::PromoCode> for RemoteCode {
    /// Why the promo code cannot be placed at all (its settings may still be unreadable
    /// inside an `Ok`: see [`RemoteCode::settings`]).
    type Error = String;

    fn try_from(promo: api::PromoCode) -> Result<Self, String> {
        let settings = settings(&promo);
        let owner = promo.coupon.as_ref().and_then(owner).cloned();
        let external_id = promo
            .promo_code_id
            .ok_or_else(|| format!("a promo code without promo_code_id (code {:?})", promo.code))?;
        let code = promo
            .code
            .ok_or_else(|| format!("promo code {external_id} without a code"))?;
        Ok(RemoteCode {
            owner,
            remote: Remote {
                external_id,
                secondary_id: promo.coupon.map(|c| c.coupon_id),
                times_redeemed: promo.times_redeemed.unwrap_or(0),
            },
            code,
            status: if promo.active == Some(true) {
                PromoCodeStatus::Active
            } else {
                PromoCodeStatus::Inactive
            },
            settings,
        })
    }
}
