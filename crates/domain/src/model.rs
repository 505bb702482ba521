//! The unified promo-code model: what a code is, whichever providers it lives on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database and used in the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// A payment provider PromoHub writes through to.
    Provider {
        Flex => "FLEX",
        Fynn => "FYNN",
        Whop => "WHOP",
        // new-provider: variants
    }
);
string_enum!(PromoCodeStatus { Active => "ACTIVE", Inactive => "INACTIVE", Archived => "ARCHIVED" });
string_enum!(DiscountType { Percentage => "PERCENTAGE", FixedAmount => "FIXED_AMOUNT" });
string_enum!(DurationType { Once => "ONCE", Repeating => "REPEATING", Forever => "FOREVER" });
string_enum!(
    /// How far a provider holds what PromoHub holds.
    ///
    /// The last two are found by a sync, never by a write: the provider turned the code off
    /// (inactive or archived there) or no longer holds it, though PromoHub did not ask it to.
    /// `lastError` says what was seen; a write (an update, `resolveDrift`) replaces them.
    SyncState {
        Pending => "PENDING",
        Synced => "SYNCED",
        Failed => "FAILED",
        DisabledOnProvider => "DISABLED_ON_PROVIDER",
        DeletedOnProvider => "DELETED_ON_PROVIDER",
    }
);
string_enum!(
    /// How `resolve_drift` settles a difference between PromoHub and a provider.
    DriftStrategy { PushOurs => "PUSH_OURS", AdoptTheirs => "ADOPT_THEIRS" }
);

/// What the code takes off.
#[derive(Clone, Debug, PartialEq)]
pub enum Discount {
    /// 0 < percent_off <= 100.
    Percentage { percent_off: f64 },
    /// In the currency's minor units (cents); currency is ISO 4217, upper case.
    FixedAmount { amount_off: i64, currency: String },
}

impl Discount {
    pub fn kind(&self) -> DiscountType {
        match self {
            Discount::Percentage { .. } => DiscountType::Percentage,
            Discount::FixedAmount { .. } => DiscountType::FixedAmount,
        }
    }
}

/// For how many billing periods the discount applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duration {
    Once,
    Repeating { periods: u32 },
    Forever,
}

impl Duration {
    pub fn kind(&self) -> DurationType {
        match self {
            Duration::Once => DurationType::Once,
            Duration::Repeating { .. } => DurationType::Repeating,
            Duration::Forever => DurationType::Forever,
        }
    }

    pub fn periods(&self) -> Option<u32> {
        match self {
            Duration::Repeating { periods } => Some(*periods),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restrictions {
    pub plan_ids: Vec<String>,
    pub product_ids: Vec<String>,
    /// Only this provider-side customer may redeem the code.
    pub customer_id: Option<String>,
    pub new_customers_only: bool,
}

/// The state of one code on one provider.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderSync {
    pub provider: Provider,
    /// The provider's id for the code (Flex promo code, Fynn coupon, Whop promo code).
    pub external_id: Option<String>,
    /// A second provider object the code needs (Flex: its coupon).
    pub secondary_id: Option<String>,
    pub state: SyncState,
    pub last_error: Option<String>,
    pub attempts: i32,
    pub synced_at: Option<DateTime<Utc>>,
    /// Redemptions as the provider last reported them.
    pub times_redeemed: i64,
}

impl ProviderSync {
    /// A link not yet written: what a new code has on each of its providers.
    pub fn pending(provider: Provider) -> Self {
        Self {
            provider,
            external_id: None,
            secondary_id: None,
            state: SyncState::Pending,
            last_error: None,
            attempts: 0,
            synced_at: None,
            times_redeemed: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromoCode {
    pub id: String,
    pub code: String,
    pub name: String,
    pub status: PromoCodeStatus,
    pub discount: Discount,
    pub duration: Duration,
    pub max_redemptions: Option<i64>,
    pub max_redemptions_per_customer: Option<i64>,
    pub times_redeemed: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub restrictions: Restrictions,
    pub metadata: Map<String, Value>,
    pub providers: Vec<ProviderSync>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PromoCode {
    pub fn provider(&self, provider: Provider) -> Option<&ProviderSync> {
        self.providers.iter().find(|p| p.provider == provider)
    }

    pub fn provider_names(&self) -> Vec<Provider> {
        self.providers.iter().map(|p| p.provider).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Input, as callers send it: unchecked until `rules::validate_*` accepts it.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiscountInput {
    pub kind: Option<DiscountType>,
    pub percent_off: Option<f64>,
    pub amount_off: Option<i64>,
    pub currency: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DurationInput {
    pub kind: DurationType,
    pub periods: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RestrictionsInput {
    pub plan_ids: Option<Vec<String>>,
    pub product_ids: Option<Vec<String>>,
    pub customer_id: Option<String>,
    pub new_customers_only: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreatePromoCodeInput {
    pub code: String,
    pub name: Option<String>,
    pub discount: DiscountInput,
    pub duration: Option<DurationInput>,
    pub max_redemptions: Option<i64>,
    pub max_redemptions_per_customer: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub restrictions: Option<RestrictionsInput>,
    pub metadata: Option<Value>,
    pub providers: Vec<Provider>,
}

/// A change to one optional field: leave it, clear it, or set it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// The value after the patch, given the current one.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(value) => Some(value),
        }
    }
}

/// Only the fields given change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdatePromoCodeInput {
    pub name: Option<String>,
    pub status: Option<PromoCodeStatus>,
    pub max_redemptions: Patch<i64>,
    pub max_redemptions_per_customer: Patch<i64>,
    pub expires_at: Patch<DateTime<Utc>>,
    pub restrictions: Option<RestrictionsInput>,
    pub metadata: Option<Value>,
    pub expected_version: Option<i64>,
}

/// Why a code cannot be redeemed now (the contract's reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidReason {
    NotFound,
    Inactive,
    Archived,
    Expired,
    Exhausted,
    NotOnProvider,
    PlanNotEligible,
    CustomerNotEligible,
    /// The provider asked about turned the code off on its side (a sync saw it).
    DisabledOnProvider,
    /// The provider asked about no longer holds the code (a sync saw it).
    DeletedOnProvider,
}

impl InvalidReason {
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::NotFound => "NOT_FOUND",
            InvalidReason::Inactive => "INACTIVE",
            InvalidReason::Archived => "ARCHIVED",
            InvalidReason::Expired => "EXPIRED",
            InvalidReason::Exhausted => "EXHAUSTED",
            InvalidReason::NotOnProvider => "NOT_ON_PROVIDER",
            InvalidReason::PlanNotEligible => "PLAN_NOT_ELIGIBLE",
            InvalidReason::CustomerNotEligible => "CUSTOMER_NOT_ELIGIBLE",
            InvalidReason::DisabledOnProvider => "DISABLED_ON_PROVIDER",
            InvalidReason::DeletedOnProvider => "DELETED_ON_PROVIDER",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Validation {
    pub promo_code: Option<PromoCode>,
    /// None when the code can be redeemed.
    pub invalid: Option<InvalidReason>,
}
