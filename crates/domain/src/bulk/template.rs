//! The settings every code of a job shares, as validated when the job was accepted, stored
//! as JSON on the job so a restart makes the same codes.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{
    Discount, Duration, PromoCode, PromoCodeStatus, Provider, ProviderSync, Restrictions,
};
use crate::rules::NewPromoCode;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Template {
    /// None: each code is named after itself (as a create without a name is).
    name: Option<String>,
    percent_off: Option<f64>,
    amount_off: Option<i64>,
    currency: Option<String>,
    /// None once, Some(None) forever, Some(Some(n)) n periods.
    duration: Option<Option<u32>>,
    max_redemptions: Option<i64>,
    max_redemptions_per_customer: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
    plan_ids: Vec<String>,
    product_ids: Vec<String>,
    customer_id: Option<String>,
    new_customers_only: bool,
    metadata: Map<String, Value>,
    providers: Vec<String>,
}

impl Template {
    /// From a create that passed the rules; `named` tells whether the caller gave a name.
    pub(crate) fn new(new: &NewPromoCode, named: bool) -> Self {
        let (percent_off, amount_off, currency) = match &new.discount {
            Discount::Percentage { percent_off } => (Some(*percent_off), None, None),
            Discount::FixedAmount {
                amount_off,
                currency,
            } => (None, Some(*amount_off), Some(currency.clone())),
        };
        Self {
            name: named.then(|| new.name.clone()),
            percent_off,
            amount_off,
            currency,
            duration: match new.duration {
                Duration::Once => None,
                Duration::Forever => Some(None),
                Duration::Repeating { periods } => Some(Some(periods)),
            },
            max_redemptions: new.max_redemptions,
            max_redemptions_per_customer: new.max_redemptions_per_customer,
            expires_at: new.expires_at,
            plan_ids: new.restrictions.plan_ids.clone(),
            product_ids: new.restrictions.product_ids.clone(),
            customer_id: new.restrictions.customer_id.clone(),
            new_customers_only: new.restrictions.new_customers_only,
            metadata: new.metadata.clone(),
            providers: new
                .providers
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        }
    }

    /// Whether the job gave a name (else each code is named after itself).
    pub(crate) fn named(&self) -> bool {
        self.name.is_some()
    }

    pub(crate) fn providers(&self) -> anyhow::Result<Vec<Provider>> {
        self.providers
            .iter()
            .map(|p| Provider::parse(p).with_context(|| format!("unknown provider {p:?}")))
            .collect()
    }

    /// A visible code (version 1), PENDING on every provider: the outbox creates it there.
    pub(crate) fn code(
        &self,
        id: String,
        code: String,
        providers: &[Provider],
        now: DateTime<Utc>,
    ) -> anyhow::Result<PromoCode> {
        let discount = match (self.percent_off, self.amount_off, &self.currency) {
            (Some(percent_off), None, None) => Discount::Percentage { percent_off },
            (None, Some(amount_off), Some(currency)) => Discount::FixedAmount {
                amount_off,
                currency: currency.clone(),
            },
            _ => anyhow::bail!("a bulk job's stored discount is not readable"),
        };
        Ok(PromoCode {
            id,
            name: self.name.clone().unwrap_or_else(|| code.clone()),
            code,
            status: PromoCodeStatus::Active,
            discount,
            duration: match self.duration {
                None => Duration::Once,
                Some(None) => Duration::Forever,
                Some(Some(periods)) => Duration::Repeating { periods },
            },
            max_redemptions: self.max_redemptions,
            max_redemptions_per_customer: self.max_redemptions_per_customer,
            times_redeemed: 0,
            expires_at: self.expires_at,
            restrictions: Restrictions {
                plan_ids: self.plan_ids.clone(),
                product_ids: self.product_ids.clone(),
                customer_id: self.customer_id.clone(),
                new_customers_only: self.new_customers_only,
            },
            metadata: self.metadata.clone(),
            providers: providers
                .iter()
                .map(|&provider| ProviderSync::pending(provider))
                .collect(),
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }
}
