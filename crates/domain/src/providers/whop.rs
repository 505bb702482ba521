//! Whop v2: one promo code per code.
//!
//! Units: `amount_off` is the percent for `percentage`, else major units (cents / 100 for USD,
//! per the currency's minor units); `base_currency` is lower case; timestamps are unix seconds;
//! `number_of_intervals` is 0 for forever, so ONCE is 1 and REPEATING n is n. `stock` is the
//! uses LEFT, so a total limit becomes `limit - uses`; no limit is `unlimited_stock`. Create
//! and update answer 201. Undoing a create deletes the code, or archives it once used.

use std::str::FromStr;

use promohub_clients::whop::{Client, types as api};

use super::{ErrorBody, ProviderError, Remote, classify};
use crate::currency;
use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Provider};

impl ErrorBody for api::Error {
    fn message(&self) -> Option<String> {
        self.error
            .as_ref()
            .and_then(|e| e.message.clone())
            .or_else(|| self.message.clone())
    }
}

#[derive(Clone, Debug)]
pub struct WhopAdapter {
    client: Client,
}

fn err(error: promohub_clients::Error<api::Error>) -> ProviderError {
    classify(Provider::Whop, error)
}

fn status(code: &PromoCode) -> api::Status {
    match code.status {
        PromoCodeStatus::Active => api::Status::Active,
        PromoCodeStatus::Inactive => api::Status::Inactive,
        PromoCodeStatus::Archived => api::Status::Archived,
    }
}

/// Whop's `stock` for a total limit, given the uses so far; None is unlimited.
fn stock(limit: Option<i64>, uses: i64) -> (Option<i32>, bool) {
    match limit {
        Some(limit) => (
            Some(i32::try_from((limit - uses).max(0)).unwrap_or(i32::MAX)),
            false,
        ),
        None => (None, true),
    }
}

impl WhopAdapter {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn create_request(code: &PromoCode) -> Result<api::CreatePromoCode, ProviderError> {
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

    pub async fn create(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        let created = self
            .client
            .create_promo_code(&Self::create_request(code)?)
            .await
            .map_err(err)?
            .into_inner();
        let external_id = created.id.ok_or_else(|| {
            ProviderError::permanent(Provider::Whop, "Whop answered without an id")
        })?;
        Ok(Remote {
            external_id,
            secondary_id: None,
            times_redeemed: i64::from(created.uses.unwrap_or(0)),
        })
    }

    pub async fn push(
        &self,
        external_id: &str,
        uses: i64,
        code: &PromoCode,
    ) -> Result<(), ProviderError> {
        let (stock, unlimited_stock) = stock(code.max_redemptions, uses);
        let request = api::UpdatePromoCode {
            status: Some(status(code)),
            plan_ids: Some(code.restrictions.plan_ids.clone()),
            stock,
            unlimited_stock: Some(unlimited_stock),
            metadata: Some(code.metadata.clone()),
        };
        self.client
            .update_promo_code(external_id, &request)
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn retire(&self, external_id: &str) -> Result<(), ProviderError> {
        match self.client.delete_promo_code(external_id).await {
            Ok(_) => Ok(()),
            // A used code cannot be deleted; archived is as retired as Whop allows.
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 400) => {
                let archive = api::UpdatePromoCode {
                    status: Some(api::Status::Archived),
                    plan_ids: None,
                    stock: None,
                    unlimited_stock: None,
                    metadata: None,
                };
                self.client
                    .update_promo_code(external_id, &archive)
                    .await
                    .map_err(err)?;
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Pages through every code, 50 at a time (Whop's most).
    pub async fn find(&self, code: &str) -> Result<Option<Remote>, ProviderError> {
        let mut page = 1;
        loop {
            let list = self
                .client
                .list_promo_codes(Some(page), Some(50), None)
                .await
                .map_err(err)?
                .into_inner();
            if let Some(found) = list.data.iter().find(|p| {
                p.status != Some(api::Status::Archived)
                    && p.code
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(code))
            }) {
                return Ok(found.id.clone().map(|external_id| Remote {
                    external_id,
                    secondary_id: None,
                    times_redeemed: i64::from(found.uses.unwrap_or(0)),
                }));
            }
            let total_pages = list.pagination.and_then(|p| p.total_page).unwrap_or(1);
            if list.data.is_empty() || page >= total_pages {
                return Ok(None);
            }
            page += 1;
        }
    }
}
