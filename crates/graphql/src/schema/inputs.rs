//! The input types of mutations and filters, converted into the domain's.

use async_graphql::{InputObject, Json, MaybeUndefined};

use super::context::DateTime;
use super::enums::{DiscountType, DurationType, PromoCodeStatus, Provider, SyncState};
use promohub_domain as domain;
use serde_json::Value;

#[derive(InputObject)]
pub struct PromoCodeFilter {
    pub(crate) status: Option<Vec<PromoCodeStatus>>,
    /// Codes that live on this provider.
    pub(crate) provider: Option<Provider>,
    pub(crate) sync_state: Option<SyncState>,
    /// Case-insensitive prefix of the code.
    pub(crate) code_prefix: Option<String>,
    pub(crate) expires_before: Option<DateTime>,
    pub(crate) expires_after: Option<DateTime>,
}

#[derive(InputObject)]
pub struct DiscountInput {
    #[graphql(name = "type")]
    pub(crate) kind: DiscountType,
    pub(crate) percent_off: Option<f64>,
    pub(crate) amount_off: Option<i32>,
    pub(crate) currency: Option<String>,
}

#[derive(InputObject)]
pub struct DurationInput {
    #[graphql(name = "type")]
    pub(crate) kind: DurationType,
    pub(crate) periods: Option<i32>,
}

#[derive(InputObject)]
pub struct RestrictionsInput {
    pub(crate) plan_ids: Option<Vec<String>>,
    pub(crate) product_ids: Option<Vec<String>>,
    pub(crate) customer_id: Option<String>,
    pub(crate) new_customers_only: Option<bool>,
}

impl From<DiscountInput> for domain::DiscountInput {
    fn from(d: DiscountInput) -> Self {
        Self {
            kind: Some(d.kind.into()),
            percent_off: d.percent_off,
            amount_off: d.amount_off.map(i64::from),
            currency: d.currency,
        }
    }
}

impl From<DurationInput> for domain::DurationInput {
    fn from(d: DurationInput) -> Self {
        Self {
            kind: d.kind.into(),
            periods: d.periods.map(i64::from),
        }
    }
}

impl From<RestrictionsInput> for domain::RestrictionsInput {
    fn from(r: RestrictionsInput) -> Self {
        Self {
            plan_ids: r.plan_ids,
            product_ids: r.product_ids,
            customer_id: r.customer_id,
            new_customers_only: r.new_customers_only,
        }
    }
}

#[derive(InputObject)]
pub struct CreatePromoCodeInput {
    pub(crate) code: String,
    pub(crate) name: Option<String>,
    #[graphql(flatten)]
    pub(crate) terms: CodeTermsInput,
    /// The providers to create the code on; at least one, no repeats.
    pub(crate) providers: Vec<Provider>,
}

/// What a new code offers and how it may be used: the fields createPromoCode and
/// generatePromoCodes share, flattened into both (not a type of the API).
#[derive(InputObject)]
pub struct CodeTermsInput {
    pub(crate) discount: DiscountInput,
    /// Defaults to ONCE.
    pub(crate) duration: Option<DurationInput>,
    pub(crate) max_redemptions: Option<i32>,
    pub(crate) max_redemptions_per_customer: Option<i32>,
    pub(crate) expires_at: Option<DateTime>,
    pub(crate) restrictions: Option<RestrictionsInput>,
    pub(crate) metadata: Option<Json<Value>>,
}

impl CodeTermsInput {
    /// The domain's create input: these terms for `code` on `providers`.
    pub(crate) fn into_create(
        self,
        code: String,
        name: Option<String>,
        providers: Vec<Provider>,
    ) -> domain::CreatePromoCodeInput {
        domain::CreatePromoCodeInput {
            code,
            name,
            discount: self.discount.into(),
            duration: self.duration.map(Into::into),
            max_redemptions: self.max_redemptions.map(i64::from),
            max_redemptions_per_customer: self.max_redemptions_per_customer.map(i64::from),
            expires_at: self.expires_at.map(|t| t.0),
            restrictions: self.restrictions.map(Into::into),
            metadata: self.metadata.map(|m| m.0),
            providers: providers.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<CreatePromoCodeInput> for domain::CreatePromoCodeInput {
    fn from(input: CreatePromoCodeInput) -> Self {
        input
            .terms
            .into_create(input.code, input.name, input.providers)
    }
}

/// Only the fields given change. Fields that a provider of the code cannot change give IMMUTABLE.
#[derive(InputObject)]
pub struct UpdatePromoCodeInput {
    pub(crate) name: Option<String>,
    /// ACTIVE or INACTIVE; use archivePromoCode to archive.
    pub(crate) status: Option<PromoCodeStatus>,
    /// null removes the limit.
    pub(crate) max_redemptions: MaybeUndefined<i32>,
    /// null removes the limit.
    pub(crate) max_redemptions_per_customer: MaybeUndefined<i32>,
    /// null removes the expiry.
    pub(crate) expires_at: MaybeUndefined<DateTime>,
    pub(crate) restrictions: Option<RestrictionsInput>,
    pub(crate) metadata: Option<Json<Value>>,
    /// When given and different from the stored version, the update is refused with VERSION_CONFLICT.
    pub(crate) expected_version: Option<i32>,
}

pub(crate) fn patch<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> domain::Patch<U> {
    match value {
        MaybeUndefined::Undefined => domain::Patch::Keep,
        MaybeUndefined::Null => domain::Patch::Clear,
        MaybeUndefined::Value(v) => domain::Patch::Set(map(v)),
    }
}
