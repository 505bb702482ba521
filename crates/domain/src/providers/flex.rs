//! Flex: a coupon holds the discount, a promo code points at it and holds the code.
//!
//! Units: `amount_off` is an integer with no currency field, read as US cents (the capability
//! table admits USD only). `repeating` counts months: PromoHub's billing periods. Only `active`
//! and `metadata` change after creation; coupons can be neither updated nor deleted, so undoing a
//! create deactivates the promo code and leaves its coupon.

use std::collections::HashMap;
use std::num::NonZeroU64;

use promohub_clients::flex::{Client, types as api};

use promohub_clients::ResponseValue;

use super::{ClientFailure, ErrorBody, Gate, ProviderError, Remote, RemoteCode, RemoteSettings};
use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Provider, Restrictions};

impl ErrorBody for api::Error {
    fn message(&self) -> Option<String> {
        self.error.as_ref().and_then(|e| e.message.clone())
    }
}

#[derive(Clone, Debug)]
pub struct FlexAdapter {
    client: Client,
    gate: Gate,
}

fn positive(value: Option<i64>) -> Option<NonZeroU64> {
    value
        .and_then(|v| u64::try_from(v).ok())
        .and_then(NonZeroU64::new)
}

/// Flex metadata holds strings only; the capability table refuses anything else up front.
fn metadata(code: &PromoCode) -> api::Metadata {
    let map: HashMap<String, String> = code
        .metadata
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    api::Metadata(Some(map))
}

async fn sorted<T>(
    result: Result<ResponseValue<T>, ClientFailure>,
) -> Result<ResponseValue<T>, ProviderError> {
    super::sorted::<T, api::Error>(Provider::Flex, result).await
}

impl FlexAdapter {
    pub(crate) fn new(client: Client, gate: Gate) -> Self {
        Self { client, gate }
    }

    fn coupon_request(code: &PromoCode) -> api::CreateCouponRequest {
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
                // Lets a later attempt find and reuse a coupon an interrupted one left behind.
                metadata: Some(api::Metadata(Some(HashMap::from([(
                    "promohub_id".to_string(),
                    code.id.clone(),
                )])))),
            },
        }
    }

    /// Creates the coupon (unless `coupon_id` names one to reuse) and the promo code.
    pub async fn create(
        &self,
        code: &PromoCode,
        coupon_id: Option<String>,
    ) -> Result<Remote, ProviderError> {
        let coupon_id = match coupon_id {
            Some(id) => id,
            None => {
                let _permit = self.gate.pass().await;
                sorted(self.client.create_coupon(&Self::coupon_request(code)).await)
                    .await?
                    .into_inner()
                    .coupon
                    .coupon_id
            }
        };
        let request = api::CreatePromoCodeRequest {
            promo_code: api::CreatePromoCode {
                coupon_id: coupon_id.clone(),
                code: code.code.clone(),
                max_redemptions: positive(code.max_redemptions),
                customer: code.restrictions.customer_id.clone(),
                metadata: Some(metadata(code)),
            },
        };
        let _permit = self.gate.pass().await;
        let created = sorted(self.client.create_promo_code(&request).await)
            .await?
            .into_inner()
            .promo_code;
        let external_id = created.promo_code_id.ok_or_else(|| {
            ProviderError::permanent(Provider::Flex, "Flex answered without a promo_code_id")
        })?;
        Ok(Remote {
            external_id,
            secondary_id: Some(coupon_id),
            times_redeemed: created.times_redeemed.unwrap_or(0),
        })
    }

    pub async fn push(&self, external_id: &str, code: &PromoCode) -> Result<(), ProviderError> {
        self.update(
            external_id,
            code.status == PromoCodeStatus::Active,
            Some(metadata(code)),
        )
        .await
    }

    pub async fn retire(&self, external_id: &str) -> Result<(), ProviderError> {
        self.update(external_id, false, None).await
    }

    /// Flex's update: only `active` and `metadata` can change.
    async fn update(
        &self,
        external_id: &str,
        active: bool,
        metadata: Option<api::Metadata>,
    ) -> Result<(), ProviderError> {
        let request = api::UpdatePromoCodeRequest {
            promo_code: api::UpdatePromoCode {
                active: Some(active),
                metadata,
            },
        };
        let _permit = self.gate.pass().await;
        sorted(self.client.update_promo_code(external_id, &request).await).await?;
        Ok(())
    }

    /// A coupon an interrupted create made for this code (it carries the code's id in its
    /// metadata) and left without a promo code.
    pub async fn orphan_coupon(&self, code: &PromoCode) -> Result<Option<String>, ProviderError> {
        let _permit = self.gate.pass().await;
        let coupons = sorted(self.client.list_coupons(Some(&code.name)).await)
            .await?
            .into_inner()
            .coupons;
        Ok(coupons
            .into_iter()
            .find(|c| {
                c.metadata
                    .as_ref()
                    .and_then(|m| m.0.as_ref())
                    .and_then(|m| m.get("promohub_id"))
                    .is_some_and(|id| *id == code.id)
            })
            .map(|c| c.coupon_id))
    }

    /// Every promo code, through the documented list (no pagination is documented; single
    /// retrieval is not documented at all).
    pub async fn list_all(&self) -> Result<Vec<RemoteCode>, ProviderError> {
        let _permit = self.gate.pass().await;
        let codes = sorted(self.client.list_promo_codes(None).await)
            .await?
            .into_inner()
            .promo_codes;
        Ok(codes.into_iter().filter_map(remote_code).collect())
    }
}

fn remote_code(promo: api::PromoCode) -> Option<RemoteCode> {
    let settings = promo
        .coupon
        .as_ref()
        .ok_or_else(|| "Flex sent the promo code without its coupon".to_string())
        .and_then(|coupon| {
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
        });
    let owner = promo
        .coupon
        .as_ref()
        .and_then(|c| c.metadata.as_ref())
        .and_then(|m| m.0.as_ref())
        .and_then(|m| m.get("promohub_id").cloned());
    Some(RemoteCode {
        owner,
        remote: Remote {
            external_id: promo.promo_code_id?,
            secondary_id: promo.coupon.map(|c| c.coupon_id),
            times_redeemed: promo.times_redeemed.unwrap_or(0),
        },
        code: promo.code?,
        status: if promo.active == Some(true) {
            PromoCodeStatus::Active
        } else {
            PromoCodeStatus::Inactive
        },
        settings,
    })
}
