//! Whop v2: one promo code per code.
//!
//! Units: `amount_off` is the percent for `percentage`, else major units (cents / 100 for USD,
//! per the currency's minor units); `base_currency` is lower case; timestamps are unix seconds;
//! `number_of_intervals` is 0 for forever, so ONCE is 1 and REPEATING n is n. `stock` is the
//! uses LEFT, so a total limit becomes `limit - uses`; no limit is `unlimited_stock`. Create
//! and update answer 201. Undoing a create deletes the code, or archives it once used.

use std::str::FromStr;

use promohub_clients::whop::{Client, types as api};

use super::{ErrorBody, Gate, ProviderError, Remote, RemoteCode, RemoteSettings, classify};
use crate::currency;
use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Provider, Restrictions};

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
    gate: Gate,
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
    pub(crate) fn new(client: Client, gate: Gate) -> Self {
        Self { client, gate }
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
        let _permit = self.gate.pass().await;
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
        let _permit = self.gate.pass().await;
        self.client
            .update_promo_code(external_id, &request)
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn retire(&self, external_id: &str) -> Result<(), ProviderError> {
        let deleted = {
            let _permit = self.gate.pass().await;
            self.client.delete_promo_code(external_id).await
        };
        match deleted {
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
                let _permit = self.gate.pass().await;
                self.client
                    .update_promo_code(external_id, &archive)
                    .await
                    .map_err(err)?;
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Every code, 50 a page (Whop's most).
    pub async fn list_all(&self) -> Result<Vec<RemoteCode>, ProviderError> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let _permit = self.gate.pass().await;
            let list = self
                .client
                .list_promo_codes(Some(page), Some(50), None)
                .await
                .map_err(err)?
                .into_inner();
            let total_pages = list
                .pagination
                .as_ref()
                .and_then(|p| p.total_page)
                .unwrap_or(1);
            let empty = list.data.is_empty();
            all.extend(list.data.into_iter().filter_map(remote_code));
            if empty || page >= total_pages {
                return Ok(all);
            }
            page += 1;
        }
    }
}

fn remote_code(promo: api::PromoCode) -> Option<RemoteCode> {
    let uses = i64::from(promo.uses.unwrap_or(0));
    let currency = promo
        .base_currency
        .map(|c| c.to_string().to_uppercase())
        .unwrap_or_else(|| "USD".into());
    let discount = match (promo.promo_type, promo.amount_off) {
        (Some(api::PromoType::Percentage), Some(percent_off)) => {
            Ok(Discount::Percentage { percent_off })
        }
        (Some(api::PromoType::FlatAmount), Some(amount)) if currency::is_iso_4217(&currency) => {
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
    // `plans` holds plan ids, or plan objects when expanded (never asked for here).
    let plan_ids = promo
        .plans
        .as_ref()
        .and_then(|p| p.as_array())
        .map(|plans| {
            plans
                .iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
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
        max_redemptions: match promo.unlimited_stock {
            Some(false) => Some(i64::from(promo.stock.unwrap_or(0)) + uses),
            _ => None,
        },
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
    Some(RemoteCode {
        owner: None,
        remote: Remote {
            external_id: promo.id?,
            secondary_id: None,
            times_redeemed: uses,
        },
        code: promo.code?,
        status: match promo.status {
            Some(api::Status::Inactive) => PromoCodeStatus::Inactive,
            Some(api::Status::Archived) => PromoCodeStatus::Archived,
            _ => PromoCodeStatus::Active,
        },
        settings,
    })
}
