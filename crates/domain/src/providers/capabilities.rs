//! What a provider can hold, as typed data. Each provider states its own in
//! `providers/<name>/capabilities.rs`; validation (`rules`), the outbox, drift and the GraphQL
//! `providers` query all read that one value.

use crate::model::{DiscountType, DurationType};

/// A setting of a code that a provider may or may not hold, or let change after creation.
/// Discount and duration are not here: no provider changes them after creation, and what each
/// takes is `discount_types` / `duration_types`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Name,
    Status,
    MaxRedemptions,
    MaxRedemptionsPerCustomer,
    ExpiresAt,
    PlanIds,
    ProductIds,
    CustomerId,
    NewCustomersOnly,
    Metadata,
}

impl Field {
    /// In the order the API lists them (`updatableFields` keeps this order).
    pub const ALL: [Field; 10] = [
        Field::Name,
        Field::Status,
        Field::MaxRedemptions,
        Field::MaxRedemptionsPerCustomer,
        Field::ExpiresAt,
        Field::PlanIds,
        Field::ProductIds,
        Field::CustomerId,
        Field::NewCustomersOnly,
        Field::Metadata,
    ];

    /// The field as UpdatePromoCodeInput names it (dotted for a part of `restrictions`).
    pub fn api_name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Status => "status",
            Field::MaxRedemptions => "maxRedemptions",
            Field::MaxRedemptionsPerCustomer => "maxRedemptionsPerCustomer",
            Field::ExpiresAt => "expiresAt",
            Field::PlanIds => "restrictions.planIds",
            Field::ProductIds => "restrictions.productIds",
            Field::CustomerId => "restrictions.customerId",
            Field::NewCustomersOnly => "restrictions.newCustomersOnly",
            Field::Metadata => "metadata",
        }
    }

    /// The input path of the field, as user errors name it.
    pub fn input_path(self) -> Vec<&'static str> {
        let mut path = vec!["input"];
        path.extend(self.api_name().split('.'));
        path
    }
}

/// How far a provider holds one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// The provider has no place for it: a code that sets it cannot live there.
    Unsupported,
    /// Sent on create; the provider refuses to change it afterwards.
    CreateOnly,
    /// Sent on create and on every change.
    Updatable,
    /// The provider has no such field, and none is needed: PromoHub keeps it alone, it may
    /// change freely, and changing it writes nothing to the provider (Whop has no name).
    PromoHubOnly,
}

impl Support {
    /// A code may carry the field on this provider.
    pub fn holds(self) -> bool {
        self != Support::Unsupported
    }

    /// An update may change the field on a code that lives on this provider.
    pub fn changes(self) -> bool {
        matches!(self, Support::Updatable | Support::PromoHubOnly)
    }

    /// A change of the field must be written to the provider.
    pub fn needs_write(self) -> bool {
        matches!(self, Support::CreateOnly | Support::Updatable)
    }
}

/// One member per [`Field`], so a provider must say something of each (a struct literal with a
/// member left out does not compile; there is no fallback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSupport {
    pub name: Support,
    pub status: Support,
    pub max_redemptions: Support,
    pub max_redemptions_per_customer: Support,
    pub expires_at: Support,
    pub plan_ids: Support,
    pub product_ids: Support,
    pub customer_id: Support,
    pub new_customers_only: Support,
    pub metadata: Support,
}

impl FieldSupport {
    pub fn of(&self, field: Field) -> Support {
        match field {
            Field::Name => self.name,
            Field::Status => self.status,
            Field::MaxRedemptions => self.max_redemptions,
            Field::MaxRedemptionsPerCustomer => self.max_redemptions_per_customer,
            Field::ExpiresAt => self.expires_at,
            Field::PlanIds => self.plan_ids,
            Field::ProductIds => self.product_ids,
            Field::CustomerId => self.customer_id,
            Field::NewCustomersOnly => self.new_customers_only,
            Field::Metadata => self.metadata,
        }
    }
}

/// Which currencies a provider accepts for fixed amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Currencies {
    AnyIso4217,
    Only(&'static [&'static str]),
}

/// Everything PromoHub must know of a provider before it writes to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub discount_types: &'static [DiscountType],
    pub duration_types: &'static [DurationType],
    pub fields: FieldSupport,
    pub currencies: Currencies,
    pub whole_percent_only: bool,
    /// Metadata values must be strings (when metadata is held at all).
    pub metadata_string_values_only: bool,
    /// The provider has an archived status of its own; without one, inactive there is as
    /// retired as the provider gets, and an archived code here matches an inactive one there.
    pub archived_status: bool,
    /// The rate limit the provider documents, in `PROMOHUB_<PROVIDER>_RATE_LIMIT` syntax.
    pub documented_rate_limit: Option<&'static str>,
}

pub const ALL_DISCOUNTS: &[DiscountType] = &[DiscountType::Percentage, DiscountType::FixedAmount];
pub const ALL_DURATIONS: &[DurationType] = &[
    DurationType::Once,
    DurationType::Repeating,
    DurationType::Forever,
];

impl Capabilities {
    pub fn support(&self, field: Field) -> Support {
        self.fields.of(field)
    }

    pub fn holds(&self, field: Field) -> bool {
        self.support(field).holds()
    }

    pub fn accepts_currency(&self, code: &str) -> bool {
        match self.currencies {
            Currencies::AnyIso4217 => true,
            Currencies::Only(codes) => codes.contains(&code),
        }
    }

    /// The fields an update may change, in API order (the GraphQL `updatableFields`).
    pub fn updatable_fields(&self) -> impl Iterator<Item = Field> + '_ {
        Field::ALL
            .into_iter()
            .filter(|&field| self.support(field).changes())
    }
}
