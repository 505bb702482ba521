//! The enums of the schema, each the remote of the domain's own.

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::Provider")]
pub enum Provider {
    Flex,
    Fynn,
    Whop,
    // new-provider: variants
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::PromoCodeStatus")]
pub enum PromoCodeStatus {
    /// Redeemable (subject to limits and expiry).
    Active,
    /// Paused; can be made ACTIVE again.
    Inactive,
    /// Retired for good; no further changes are accepted.
    Archived,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::DiscountType")]
pub enum DiscountType {
    Percentage,
    FixedAmount,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::DurationType")]
pub enum DurationType {
    /// Applies to the first payment or billing period only.
    Once,
    /// Applies to a fixed number of billing periods (Duration.periods).
    Repeating,
    /// Applies to every billing period.
    Forever,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::SyncState")]
pub enum SyncState {
    /// Accepted here; the provider write has not succeeded yet and is being retried.
    Pending,
    /// The provider holds exactly what this service holds.
    Synced,
    /// Retries are exhausted or the provider rejected the change; see lastError.
    Failed,
    /// A sync found the code turned off on the provider (inactive or archived there) while it
    /// is ACTIVE here; lastError says what was seen. See resolveDrift.
    DisabledOnProvider,
    /// A sync found the provider no longer holds the code; lastError says so. See resolveDrift.
    DeletedOnProvider,
}

/// How resolveDrift settles a difference between this service and a provider.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::DriftStrategy")]
pub enum DriftStrategy {
    /// Write this service's state to the provider (through the outbox: the provider's entry is
    /// PENDING until written; a code the provider no longer holds is created there again).
    PushOurs,
    /// Take the provider's values (status, and the limits, expiry, plans and metadata it holds)
    /// into this service as a new version, audited; other providers of the code follow.
    AdoptTheirs,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::SortField")]
pub enum PromoCodeSortField {
    CreatedAt,
    Code,
    ExpiresAt,
    TimesRedeemed,
}
