//! The one shape every provider takes: what the domain may ask of it, and what comes back.

use futures::future::BoxFuture;

use super::capabilities::Capabilities;
use super::error::ProviderError;
use crate::model::{
    Discount, Duration as CodeDuration, PromoCode, PromoCodeStatus, Provider, Restrictions,
};

pub type ProviderResult<T> = Result<T, ProviderError>;

/// The domain's only way to a provider. Each provider implements it once, in
/// `providers/<name>/mod.rs`, over its generated client; model <-> API types are converted in
/// `providers/<name>/transformers.rs`. Calls are not measured here: the registry
/// ([`super::Adapter`]) times and counts every one.
///
/// Futures are boxed so connectors can sit behind `dyn Connector` in one registry.
pub trait Connector: Send + Sync + std::fmt::Debug {
    fn provider(&self) -> Provider;

    /// What this provider can hold; a `&'static` table in its `capabilities.rs`.
    fn capabilities(&self) -> &'static Capabilities;

    /// Creates the code on the provider.
    fn create<'a>(&'a self, code: &'a PromoCode) -> BoxFuture<'a, ProviderResult<Remote>>;

    /// Creates the code after an attempt that may have left something behind (the registry
    /// has already looked for a finished copy). By default, a plain create.
    fn create_again<'a>(&'a self, code: &'a PromoCode) -> BoxFuture<'a, ProviderResult<Remote>> {
        self.create(code)
    }

    /// Makes the provider hold what `code` says of everything it can change. Idempotent, so a
    /// retry converges to the latest state however many attempts came before.
    fn update<'a>(
        &'a self,
        external_id: &'a str,
        code: &'a PromoCode,
    ) -> BoxFuture<'a, ProviderResult<()>>;

    /// Undoes a create or archives: deletes the code where the provider allows it, else turns
    /// it off as far as the provider allows. A code already gone is retired.
    fn retire<'a>(&'a self, external_id: &'a str) -> BoxFuture<'a, ProviderResult<()>>;

    /// Every code the provider holds, with every field; codes that cannot be read are named
    /// in `skipped`, never spoiling the rest.
    fn list<'a>(&'a self) -> BoxFuture<'a, ProviderResult<Listing>>;

    /// Enough of every code to find one by its code (status, ids, owner). By default the full
    /// list; a provider whose list lacks fields may answer from the list view alone.
    fn list_codes<'a>(&'a self) -> BoxFuture<'a, ProviderResult<Vec<RemoteCode>>> {
        Box::pin(async move { Ok(self.list().await?.codes) })
    }

    /// The provider's own message in an error body of its documented shape, if it is one.
    /// Used to classify every failed call (see `error::classify`).
    fn error_message(&self, body: &[u8]) -> Option<String>;
}

/// Where a code lives on a provider, as the provider reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub external_id: String,
    /// Flex: the coupon behind the promo code.
    pub secondary_id: Option<String>,
    pub times_redeemed: i64,
}

/// A code as a provider holds it, mapped back into the unified model where it can be.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteCode {
    pub remote: Remote,
    pub code: String,
    /// The PromoHub id the provider's copy carries, where the provider can hold one (Flex's
    /// coupon metadata): tells our copy from an older one with the same code.
    pub owner: Option<String>,
    pub status: PromoCodeStatus,
    /// The provider's settings; why not, when they cannot be read as PromoHub's.
    pub settings: Result<RemoteSettings, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RemoteSettings {
    pub name: String,
    pub discount: Discount,
    pub duration: CodeDuration,
    pub max_redemptions: Option<i64>,
    pub max_redemptions_per_customer: Option<i64>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub restrictions: Restrictions,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// Every code a provider listed, and a note naming each one that could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    pub codes: Vec<RemoteCode>,
    pub skipped: Vec<String>,
}

impl From<Vec<RemoteCode>> for Listing {
    fn from(codes: Vec<RemoteCode>) -> Self {
        Self {
            codes,
            skipped: Vec::new(),
        }
    }
}
