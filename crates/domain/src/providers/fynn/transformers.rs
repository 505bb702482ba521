//! PromoHub's model <-> Fynn's generated types.
//!
//! Units: `percentage` is a whole percent (the capabilities refuse fractions); `fixedAmount` is
//! `{amount, currency}` in minor units (an assumption, see openapi/fynn.yaml); `limited`
//! counts billing periods. A write carries every field: PromoHub's own from the code, and every
//! field it does not manage (the plan and product lists, anything else Fynn holds) as read
//! from `GET /coupons/{id}` right before (docs/providers.md, "Fynn full replace").

use promohub_clients::fynn::types as api;

use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Restrictions};
use crate::providers::{Remote, RemoteCode, RemoteSettings};

/// Fields of a coupon's detail that Fynn sets itself and a write does not carry.
const READ_ONLY: [&str; 4] = ["id", "createdAt", "updatedAt", "reedemptions"];

/// Names a coupon PromoHub cannot read, for the warning.
pub(super) fn describe(value: &serde_json::Value) -> String {
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or("?");
    format!("coupon {} (code {})", field("id"), field("code"))
}

/// Fynn shows only whether a coupon was redeemed, not how often: count it once.
pub(super) fn redemptions(coupon: &api::Coupon) -> i64 {
    i64::from(coupon.reedemptions == Some(true))
}

/// The whole coupon as Fynn should hold it: PromoHub's fields from `code`, the rest from
/// `held` (what Fynn holds now) unchanged; none of those on a create.
pub(super) fn coupon_write(code: &PromoCode, held: Option<&api::Coupon>) -> api::CouponWrite {
    let (type_, percentage, fixed_amount) = match &code.discount {
        // Whole percents only: the capability table guarantees no fraction reaches here.
        Discount::Percentage { percent_off } => (
            api::CouponType::Percentage,
            Some(percent_off.round() as i64),
            None,
        ),
        Discount::FixedAmount {
            amount_off,
            currency,
        } => (
            api::CouponType::FixedAmount,
            None,
            Some(api::FixedAmount {
                amount: *amount_off,
                currency: currency.clone(),
            }),
        ),
    };
    let (frequency, frequency_interval) = match code.duration {
        Duration::Once => (api::Frequency::Once, None),
        Duration::Repeating { periods } => (api::Frequency::Limited, Some(i64::from(periods))),
        Duration::Forever => (api::Frequency::Lifetime, None),
    };
    api::CouponWrite {
        code: code.code.clone(),
        name: code.name.clone(),
        type_,
        percentage,
        fixed_amount,
        frequency,
        frequency_interval,
        max_redemptions: code.max_redemptions,
        max_redemptions_per_customer: code.max_redemptions_per_customer,
        expires_at: code.expires_at,
        is_enabled: code.status == PromoCodeStatus::Active,
        limited_to_plans: held.and_then(|h| h.limited_to_plans.clone()),
        excluded_from_plans: held.and_then(|h| h.excluded_from_plans.clone()),
        limited_to_products: held.and_then(|h| h.limited_to_products.clone()),
        excluded_from_products: held.and_then(|h| h.excluded_from_products.clone()),
        // ASSUMPTION (docs/providers.md, "Fynn full replace"): a field Fynn shows that the
        // docs do not list is Fynn's to keep, so it goes back as it came.
        extra: held
            .map(|h| {
                h.extra
                    .iter()
                    .filter(|(k, _)| !READ_ONLY.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A write that puts back exactly what Fynn holds.
pub(super) fn coupon_from_held(held: &api::Coupon) -> api::CouponWrite {
    api::CouponWrite {
        code: held.code.clone(),
        name: held.name.clone(),
        type_: held.type_,
        percentage: held.percentage,
        fixed_amount: held.fixed_amount.clone(),
        frequency: held.frequency,
        frequency_interval: held.frequency_interval,
        max_redemptions: held.max_redemptions,
        max_redemptions_per_customer: held.max_redemptions_per_customer,
        expires_at: held.expires_at,
        is_enabled: held.is_enabled.unwrap_or(true),
        limited_to_plans: held.limited_to_plans.clone(),
        excluded_from_plans: held.excluded_from_plans.clone(),
        limited_to_products: held.limited_to_products.clone(),
        excluded_from_products: held.excluded_from_products.clone(),
        extra: held
            .extra
            .iter()
            .filter(|(k, _)| !READ_ONLY.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

impl TryFrom<api::Coupon> for RemoteCode {
    /// Why the coupon cannot be placed at all (its settings may still be unreadable inside an
    /// `Ok`: see [`RemoteCode::settings`]).
    type Error = String;

    fn try_from(coupon: api::Coupon) -> Result<Self, String> {
        let discount = match (coupon.type_, coupon.percentage, &coupon.fixed_amount) {
            (api::CouponType::Percentage, Some(percentage), _) => Ok(Discount::Percentage {
                percent_off: percentage as f64,
            }),
            (api::CouponType::FixedAmount, _, Some(fixed)) => Ok(Discount::FixedAmount {
                amount_off: fixed.amount,
                currency: fixed.currency.to_uppercase(),
            }),
            _ => Err("the coupon's type and amount do not match".to_string()),
        };
        let duration = match (coupon.frequency, coupon.frequency_interval) {
            (api::Frequency::Once, _) => Ok(Duration::Once),
            (api::Frequency::Lifetime, _) => Ok(Duration::Forever),
            (api::Frequency::Limited, Some(n)) => u32::try_from(n)
                .map(|periods| Duration::Repeating { periods })
                .map_err(|_| "frequencyInterval out of range".to_string()),
            (api::Frequency::Limited, None) => {
                Err("a limited coupon without frequencyInterval".into())
            }
        };
        let settings = discount.and_then(|discount| {
            Ok(RemoteSettings {
                name: coupon.name.clone(),
                discount,
                duration: duration?,
                max_redemptions: coupon.max_redemptions,
                max_redemptions_per_customer: coupon.max_redemptions_per_customer,
                expires_at: coupon.expires_at,
                restrictions: Restrictions::default(),
                metadata: serde_json::Map::new(),
            })
        });
        let times_redeemed = redemptions(&coupon);
        let external_id = coupon
            .id
            .ok_or_else(|| format!("coupon without an id (code {})", coupon.code))?;
        Ok(RemoteCode {
            owner: None,
            remote: Remote {
                external_id,
                secondary_id: None,
                times_redeemed,
            },
            code: coupon.code,
            status: if coupon.is_enabled != Some(false) {
                PromoCodeStatus::Active
            } else {
                PromoCodeStatus::Inactive
            },
            settings,
        })
    }
}
