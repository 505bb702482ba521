//! Whop v2: one promo code per code.
//!
//! Units: `amount_off` is the percent for `percentage`, else major units (cents / 100 for USD,
//! per the currency's minor units); `base_currency` is lower case; timestamps are unix seconds;
//! `number_of_intervals` is 0 for forever, so ONCE is 1 and REPEATING n is n. `stock` is the
//! uses LEFT, so a total limit becomes `limit - uses`; no limit is `unlimited_stock`. Create
//! and update answer 201. Undoing a create deletes the code, or archives it once used.

use std::str::FromStr;

use promohub_clients::whop::{Client, types as api};

use promohub_clients::ResponseValue;

use super::{ClientFailure, ErrorBody, Gate, ProviderError, Remote, RemoteCode, RemoteSettings};
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

async fn sorted<T>(
    result: Result<ResponseValue<T>, ClientFailure>,
) -> Result<ResponseValue<T>, ProviderError> {
    super::sorted::<T, api::Error>(Provider::Whop, result).await
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
            Some(i32::try_from(limit.saturating_sub(uses).max(0)).unwrap_or(i32::MAX)),
            false,
        ),
        None => (None, true),
    }
}

/// The total limit a Whop code holds now: the uses left plus the uses made (Whop's own count,
/// so redemptions PromoHub has not synced yet are in it); None when unlimited.
fn whop_limit(promo: &api::PromoCode) -> Option<i64> {
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
        let request = Self::create_request(code)?;
        let _permit = self.gate.pass().await;
        let created = sorted(self.client.create_promo_code(&request).await)
            .await?
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

    async fn read(&self, external_id: &str) -> Result<api::PromoCode, ProviderError> {
        let _permit = self.gate.pass().await;
        Ok(sorted(self.client.retrieve_promo_code(external_id).await)
            .await?
            .into_inner())
    }

    /// Makes Whop hold what `code` says. The code's current state is read from Whop right
    /// before writing, and `stock` (the uses LEFT) is sent only when Whop's limit (stock +
    /// uses, in Whop's own count) differs from ours, computed from Whop's `uses`: redemptions
    /// made on Whop since the last sync are never given back, and a change of anything else
    /// never touches stock.
    ///
    /// Whop has no conditional write, so a redemption between the read and the write would
    /// still be given back; the answer to the write carries `uses`, and when it moved, stock
    /// is written once more from it (docs/providers.md, "Whop stock").
    pub async fn push(&self, external_id: &str, code: &PromoCode) -> Result<i64, ProviderError> {
        let current = self.read(external_id).await?;
        let mut uses = i64::from(current.uses.unwrap_or(0));
        let limit_changed = whop_limit(&current) != code.max_redemptions;
        let (stock_left, unlimited) = stock(code.max_redemptions, uses);
        let request = api::UpdatePromoCode {
            status: Some(status(code)),
            // The documented form: `plan_ids`, string[]. ASSUMPTION: it replaces the list.
            plan_ids: Some(code.restrictions.plan_ids.clone()),
            stock: stock_left.filter(|_| limit_changed),
            unlimited_stock: Some(unlimited).filter(|_| limit_changed),
            // ASSUMPTION: metadata replaces what Whop holds (docs/providers.md).
            metadata: Some(code.metadata.clone()),
        };
        let written = {
            let _permit = self.gate.pass().await;
            sorted(self.client.update_promo_code(external_id, &request).await)
                .await?
                .into_inner()
        };
        if let Some(now_used) = written.uses.map(i64::from)
            && limit_changed
            && code.max_redemptions.is_some()
            && now_used != uses
        {
            uses = now_used;
            let (stock_left, _) = stock(code.max_redemptions, uses);
            let correction = api::UpdatePromoCode {
                status: None,
                plan_ids: None,
                stock: stock_left,
                unlimited_stock: Some(false),
                metadata: None,
            };
            let _permit = self.gate.pass().await;
            sorted(
                self.client
                    .update_promo_code(external_id, &correction)
                    .await,
            )
            .await?;
        }
        Ok(written.uses.map_or(uses, i64::from))
    }

    pub async fn retire(&self, external_id: &str) -> Result<(), ProviderError> {
        let deleted = {
            let _permit = self.gate.pass().await;
            sorted(self.client.delete_promo_code(external_id).await).await
        };
        match deleted {
            Ok(_) => Ok(()),
            // Already gone: nothing is left to retire.
            Err(e) if e.status == Some(404) => Ok(()),
            // A used code cannot be deleted; archived is as retired as Whop allows.
            // ASSUMPTION: the refusal's status is undocumented; any 4xx but 401/403/404/429.
            Err(e)
                if e.status.is_some_and(|s| {
                    (400..500).contains(&s) && !matches!(s, 401 | 403 | 404 | 429)
                }) =>
            {
                let archive = api::UpdatePromoCode {
                    status: Some(api::Status::Archived),
                    plan_ids: None,
                    stock: None,
                    unlimited_stock: None,
                    metadata: None,
                };
                let _permit = self.gate.pass().await;
                sorted(self.client.update_promo_code(external_id, &archive).await).await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Every code, 50 a page (Whop's most), walked to the end: a page with fewer than 50 is
    /// the last. `pagination` cannot end the walk: Whop documents `total_count` as
    /// "automatically maxed out at 50", and the page count follows it.
    pub async fn list_all(&self) -> Result<Vec<RemoteCode>, ProviderError> {
        const PER: usize = 50;
        // A provider that ignored `page` would repeat page 1 for ever: 20,000 pages (a
        // million codes) end the walk with an error instead.
        const MAX_PAGES: i32 = 20_000;
        let mut all = Vec::new();
        let mut previous_first: Option<String> = None;
        for page in 1..=MAX_PAGES {
            let list = {
                let _permit = self.gate.pass().await;
                sorted(
                    self.client
                        .list_promo_codes(Some(page), Some(PER as i32), None)
                        .await,
                )
                .await?
                .into_inner()
            };
            let count = list.data.len();
            let first = list.data.first().and_then(|p| p.id.clone());
            if page > 1 && first.is_some() && first == previous_first {
                return Err(ProviderError::permanent(
                    Provider::Whop,
                    format!("page {page} repeats the page before it; the list cannot be read"),
                ));
            }
            previous_first = first;
            all.extend(list.data.into_iter().filter_map(remote_code));
            if count < PER {
                return Ok(all);
            }
        }
        Err(ProviderError::permanent(
            Provider::Whop,
            format!("more than {MAX_PAGES} pages of promo codes"),
        ))
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
