//! Flex: a coupon holds the discount, a promo code points at it and holds the code.
//!
//! Units: `amount_off` is an integer with no currency field, read as US cents (the capability
//! table admits USD only). `repeating` counts months: PromoHub's billing periods. Only `active`
//! and `metadata` change after creation; coupons can be neither updated nor deleted, so undoing a
//! create deactivates the promo code and leaves its coupon.

use std::collections::HashMap;
use std::num::NonZeroU64;

use promohub_clients::flex::{Client, types as api};

use super::{ErrorBody, ProviderError, Remote, classify};
use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Provider};

impl ErrorBody for api::Error {
    fn message(&self) -> Option<String> {
        self.error.as_ref().and_then(|e| e.message.clone())
    }
}

#[derive(Clone, Debug)]
pub struct FlexAdapter {
    client: Client,
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

fn err(error: promohub_clients::Error<api::Error>) -> ProviderError {
    classify(Provider::Flex, error)
}

impl FlexAdapter {
    pub fn new(client: Client) -> Self {
        Self { client }
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

    pub async fn create(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        let coupon = self
            .client
            .create_coupon(&Self::coupon_request(code))
            .await
            .map_err(err)?
            .into_inner()
            .coupon;
        let request = api::CreatePromoCodeRequest {
            promo_code: api::CreatePromoCode {
                coupon_id: coupon.coupon_id.clone(),
                code: code.code.clone(),
                max_redemptions: positive(code.max_redemptions),
                customer: code.restrictions.customer_id.clone(),
                metadata: Some(metadata(code)),
            },
        };
        let created = self
            .client
            .create_promo_code(&request)
            .await
            .map_err(err)?
            .into_inner()
            .promo_code;
        let external_id = created.promo_code_id.ok_or_else(|| {
            ProviderError::permanent(Provider::Flex, "Flex answered without a promo_code_id")
        })?;
        Ok(Remote {
            external_id,
            secondary_id: Some(coupon.coupon_id),
            times_redeemed: created.times_redeemed.unwrap_or(0),
        })
    }

    pub async fn push(&self, external_id: &str, code: &PromoCode) -> Result<(), ProviderError> {
        let request = api::UpdatePromoCodeRequest {
            promo_code: api::UpdatePromoCode {
                active: Some(code.status == PromoCodeStatus::Active),
                metadata: Some(metadata(code)),
            },
        };
        self.client
            .update_promo_code(external_id, &request)
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn retire(&self, external_id: &str) -> Result<(), ProviderError> {
        let request = api::UpdatePromoCodeRequest {
            promo_code: api::UpdatePromoCode {
                active: Some(false),
                metadata: None,
            },
        };
        self.client
            .update_promo_code(external_id, &request)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Through the documented list (single retrieval is undocumented); active codes first,
    /// because Flex keeps codes unique among active ones only.
    pub async fn find(&self, code: &str) -> Result<Option<Remote>, ProviderError> {
        let mut codes = self
            .client
            .list_promo_codes(None)
            .await
            .map_err(err)?
            .into_inner()
            .promo_codes;
        codes.sort_by_key(|p| p.active != Some(true));
        Ok(codes
            .into_iter()
            .find(|p| {
                p.code
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(code))
            })
            .and_then(|p| {
                Some(Remote {
                    external_id: p.promo_code_id?,
                    secondary_id: p.coupon.map(|c| c.coupon_id),
                    times_redeemed: p.times_redeemed.unwrap_or(0),
                })
            }))
    }
}
