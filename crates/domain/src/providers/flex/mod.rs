//! Flex (HSA/FSA checkout): a coupon holds the discount, a promo code points at it and holds
//! the code. Coupons can be neither updated nor deleted, so retiring a code deactivates the
//! promo code and leaves its coupon. Only `active` and `metadata` change after creation.

pub mod capabilities;
mod transformers;

use futures::future::BoxFuture;
use promohub_clients::ResponseValue;
use promohub_clients::flex::{Client, types as api};

use super::error::{ClientFailure, sorted as sort_failure};
use super::{
    Capabilities, Connector, Gate, Listing, ProviderError, ProviderResult, Remote, RemoteCode,
};
use crate::model::{PromoCode, PromoCodeStatus, Provider};

#[derive(Clone, Debug)]
pub struct Flex {
    client: Client,
    gate: Gate,
}

fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<api::Error>(body)
        .ok()?
        .error?
        .message
}

async fn sorted<T>(
    result: Result<ResponseValue<T>, ClientFailure>,
) -> Result<ResponseValue<T>, ProviderError> {
    sort_failure(Provider::Flex, error_message, result).await
}

impl Flex {
    pub fn new(client: Client, gate: Gate) -> Self {
        Self { client, gate }
    }

    /// Creates the coupon (unless `coupon_id` names one to reuse) and the promo code.
    async fn create_with(
        &self,
        code: &PromoCode,
        coupon_id: Option<String>,
    ) -> ProviderResult<Remote> {
        let coupon_id = match coupon_id {
            Some(id) => id,
            None => {
                let request = api::CreateCouponRequest::from(code);
                let _permit = self.gate.pass().await?;
                sorted(self.client.create_coupon(&request).await)
                    .await?
                    .into_inner()
                    .coupon
                    .coupon_id
            }
        };
        let request = transformers::promo_code_request(code, coupon_id.clone());
        let _permit = self.gate.pass().await?;
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

    /// Flex's update: only `active` and `metadata` can change.
    async fn set(
        &self,
        external_id: &str,
        active: bool,
        metadata: Option<api::Metadata>,
    ) -> ProviderResult<()> {
        let request = api::UpdatePromoCodeRequest {
            promo_code: api::UpdatePromoCode {
                active: Some(active),
                metadata,
            },
        };
        let _permit = self.gate.pass().await?;
        sorted(self.client.update_promo_code(external_id, &request).await).await?;
        Ok(())
    }

    /// A coupon an interrupted create made for this code (it carries the code's id in its
    /// metadata) and left without a promo code.
    async fn orphan_coupon(&self, code: &PromoCode) -> ProviderResult<Option<String>> {
        let _permit = self.gate.pass().await?;
        let coupons = sorted(self.client.list_coupons(Some(&code.name)).await)
            .await?
            .into_inner()
            .coupons;
        Ok(coupons
            .into_iter()
            .find(|c| transformers::owner(c).is_some_and(|id| *id == code.id))
            .map(|c| c.coupon_id))
    }

    /// Every promo code, through the documented list (no pagination is documented; single
    /// retrieval is not documented at all).
    async fn list_all(&self) -> ProviderResult<Listing> {
        let _permit = self.gate.pass().await?;
        let promo_codes = sorted(self.client.list_promo_codes(None).await)
            .await?
            .into_inner()
            .promo_codes;
        let mut listing = Listing::default();
        for promo in promo_codes {
            match RemoteCode::try_from(promo) {
                Ok(code) => listing.codes.push(code),
                Err(why) => listing.skipped.push(why),
            }
        }
        Ok(listing)
    }
}

impl Connector for Flex {
    fn provider(&self) -> Provider {
        Provider::Flex
    }

    fn capabilities(&self) -> &'static Capabilities {
        &capabilities::CAPABILITIES
    }

    fn create<'a>(&'a self, code: &'a PromoCode) -> BoxFuture<'a, ProviderResult<Remote>> {
        Box::pin(self.create_with(code, None))
    }

    /// Reuses the coupon an interrupted attempt made, if it left one.
    fn create_again<'a>(&'a self, code: &'a PromoCode) -> BoxFuture<'a, ProviderResult<Remote>> {
        Box::pin(async move {
            let orphan = self.orphan_coupon(code).await?;
            self.create_with(code, orphan).await
        })
    }

    fn update<'a>(
        &'a self,
        external_id: &'a str,
        code: &'a PromoCode,
    ) -> BoxFuture<'a, ProviderResult<()>> {
        Box::pin(self.set(
            external_id,
            code.status == PromoCodeStatus::Active,
            Some(transformers::metadata(code)),
        ))
    }

    fn retire<'a>(&'a self, external_id: &'a str) -> BoxFuture<'a, ProviderResult<()>> {
        Box::pin(self.set(external_id, false, None))
    }

    fn list<'a>(&'a self) -> BoxFuture<'a, ProviderResult<Listing>> {
        Box::pin(self.list_all())
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        error_message(body)
    }
}
