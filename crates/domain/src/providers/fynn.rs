//! Fynn: one coupon per code.
//!
//! Units: `percentage` is a whole percent (the capability table refuses fractions);
//! `fixedAmount` is `{amount, currency}` in minor units (an assumption, see openapi/fynn.yaml).
//! `limited` counts billing periods. PUT replaces the whole coupon, so every push sends every
//! field. Once redeemed, Fynn refuses changes and deletion: those surface as permanent errors
//! with Fynn's message.

use std::num::NonZeroU64;

use promohub_clients::fynn::{Client, types as api};

use super::{ErrorBody, Gate, ProviderError, Remote, RemoteCode, RemoteSettings, classify};
use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Provider, Restrictions};

impl ErrorBody for api::Problem {
    fn message(&self) -> Option<String> {
        self.detail.clone().or_else(|| self.title.clone())
    }
}

#[derive(Clone, Debug)]
pub struct FynnAdapter {
    client: Client,
    gate: Gate,
}

fn err(error: promohub_clients::Error<api::Problem>) -> ProviderError {
    classify(Provider::Fynn, error)
}

/// Fynn shows only whether a coupon was redeemed, not how often: count it once.
fn redemptions(coupon: &api::Coupon) -> i64 {
    i64::from(coupon.reedemptions == Some(true))
}

impl FynnAdapter {
    pub(crate) fn new(client: Client, gate: Gate) -> Self {
        Self { client, gate }
    }

    /// The whole coupon as Fynn should hold it.
    fn coupon(code: &PromoCode) -> api::CouponWrite {
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
            limited_to_plans: None,
            excluded_from_plans: None,
            limited_to_products: None,
            excluded_from_products: None,
        }
    }

    pub async fn create(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        let _permit = self.gate.pass().await;
        let created = self
            .client
            .create_coupon(&Self::coupon(code))
            .await
            .map_err(err)?
            .into_inner();
        let times_redeemed = redemptions(&created);
        let external_id = created.id.ok_or_else(|| {
            ProviderError::permanent(Provider::Fynn, "Fynn answered without a coupon id")
        })?;
        Ok(Remote {
            external_id,
            secondary_id: None,
            times_redeemed,
        })
    }

    pub async fn push(&self, external_id: &str, code: &PromoCode) -> Result<(), ProviderError> {
        let _permit = self.gate.pass().await;
        self.client
            .update_coupon(external_id, &Self::coupon(code))
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn retire(&self, external_id: &str) -> Result<(), ProviderError> {
        let _permit = self.gate.pass().await;
        self.client.delete_coupon(external_id).await.map_err(err)?;
        Ok(())
    }

    /// Every coupon, page by page (the largest page Fynn allows is 99).
    pub async fn list_all(&self) -> Result<Vec<RemoteCode>, ProviderError> {
        let limit = NonZeroU64::new(99);
        let mut all = Vec::new();
        let mut page = 1u64;
        loop {
            let _permit = self.gate.pass().await;
            let collection = self
                .client
                .get_coupons(limit, NonZeroU64::new(page))
                .await
                .map_err(err)?
                .into_inner();
            let last_page = collection
                .meta
                .as_ref()
                .and_then(|m| m.pagination.as_ref())
                .and_then(|p| p.last_page)
                .and_then(|p| u64::try_from(p).ok())
                .unwrap_or(1);
            let empty = collection.data.is_empty();
            all.extend(collection.data.into_iter().filter_map(remote_code));
            if empty || page >= last_page {
                return Ok(all);
            }
            page += 1;
        }
    }
}

fn remote_code(coupon: api::Coupon) -> Option<RemoteCode> {
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
        (api::Frequency::Limited, None) => Err("a limited coupon without frequencyInterval".into()),
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
    Some(RemoteCode {
        owner: None,
        remote: Remote {
            external_id: coupon.id?,
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
