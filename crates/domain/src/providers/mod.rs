//! Providers: one connector per provider ([`Connector`], in `providers/<name>/`), and the
//! registry the domain reaches them through ([`Providers`], each entry an [`Adapter`] that
//! times and counts every call). This file and the connectors are the only code that knows
//! which providers exist.

pub mod capabilities;
mod connector;
mod error;
pub mod flex;
pub mod fynn;
mod gate;
pub mod limiter;
mod shared_limit;
pub mod whop;
// new-provider: modules

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use promohub_clients::ClientSettings;
use secrecy::{ExposeSecret, SecretString};

use crate::metrics::Metrics;
use crate::model::{PromoCode, PromoCodeStatus, Provider, ProviderSync};
use limiter::RateLimit;

pub use capabilities::{Capabilities, Currencies, Field, FieldSupport, Support};
pub use connector::{Connector, Listing, ProviderResult, Remote, RemoteCode, RemoteSettings};
pub use error::{ErrorKind, ProviderError, RETRY_AFTER_CAP, parse_retry_after};
pub use gate::Gate;

/// What `provider` can hold. The one table per provider, in `providers/<name>/capabilities.rs`.
pub fn capabilities(provider: Provider) -> &'static Capabilities {
    match provider {
        Provider::Flex => &flex::capabilities::CAPABILITIES,
        Provider::Fynn => &fynn::capabilities::CAPABILITIES,
        Provider::Whop => &whop::capabilities::CAPABILITIES,
        // new-provider: capabilities
    }
}

/// The connector for `provider` over its generated client.
fn connector(
    provider: Provider,
    settings: &ClientSettings,
    gate: Gate,
) -> anyhow::Result<Arc<dyn Connector>> {
    Ok(match provider {
        Provider::Flex => Arc::new(flex::Flex::new(settings.flex()?, gate)),
        Provider::Fynn => Arc::new(fynn::Fynn::new(settings.fynn()?, gate)),
        Provider::Whop => Arc::new(whop::Whop::new(settings.whop()?, gate)),
        // new-provider: connectors
    })
}

/// How to reach one provider. `Debug` never shows the key.
#[derive(Clone)]
pub struct ProviderConfig {
    pub base_url: String,
    /// Exposed only to build the client's Authorization header.
    pub api_key: SecretString,
    pub timeout: Duration,
    /// Client-side limit on calls; None sends as fast as asked.
    pub rate_limit: Option<RateLimit>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl ProviderConfig {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: SecretString::from(api_key.into()),
            timeout: Duration::from_secs(10),
            rate_limit: None,
        }
    }
}

/// One provider's connector, with the metrics its calls report to. Everything the domain asks
/// of a provider goes through here.
#[derive(Clone, Debug)]
pub struct Adapter {
    connector: Arc<dyn Connector>,
    metrics: Arc<Metrics>,
    /// The rate limit its calls pass (the same gate the connector holds), to bind it to a
    /// database.
    gate: Gate,
}

fn outcome<T>(result: &Result<T, ProviderError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) if e.is_transient() => "transient",
        Err(_) => "permanent",
    }
}

impl Adapter {
    pub fn new(
        provider: Provider,
        config: &ProviderConfig,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let settings = ClientSettings::new(&config.base_url, config.api_key.expose_secret())
            .with_timeout(config.timeout);
        let gate = Gate::new(provider, config.rate_limit, metrics.clone());
        Ok(Self {
            connector: connector(provider, &settings, gate.clone())?,
            metrics,
            gate,
        })
    }

    pub fn provider(&self) -> Provider {
        self.connector.provider()
    }

    pub fn capabilities(&self) -> &'static Capabilities {
        self.connector.capabilities()
    }

    async fn measured<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let started = Instant::now();
        let result = call.await;
        self.metrics.provider_call(
            self.provider(),
            operation,
            outcome(&result),
            started.elapsed(),
        );
        result
    }

    /// Creates the code on the provider.
    pub async fn create(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        self.measured("create", self.connector.create(code)).await
    }

    /// Creates the code after an attempt that may have reached the provider: adopts the copy
    /// the provider already holds, and reuses what an interrupted attempt left behind.
    pub async fn create_again(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        if let Some(remote) = self.find(code).await? {
            return Ok(remote);
        }
        self.measured("create", self.connector.create_again(code))
            .await
    }

    /// Makes the provider hold what `code` says of everything it can change. Idempotent, so a
    /// retry converges to the latest state however many attempts came before.
    pub async fn push(&self, link: &ProviderSync, code: &PromoCode) -> Result<(), ProviderError> {
        let external_id = link.external_id.as_deref().ok_or_else(|| {
            ProviderError::permanent(self.provider(), "the code was never created here")
        })?;
        self.measured("update", self.connector.update(external_id, code))
            .await
    }

    /// Undoes a create: deletes the code where the provider allows it, else deactivates it.
    pub async fn retire(&self, remote: &Remote) -> Result<(), ProviderError> {
        self.measured("retire", self.connector.retire(&remote.external_id))
            .await
    }

    /// The provider's live copy of `code` (same code ignoring case, not archived, and made for
    /// this code where the provider carries our id), if it has one.
    pub async fn find(&self, code: &PromoCode) -> Result<Option<Remote>, ProviderError> {
        self.find_code(&code.code, &code.id).await
    }

    /// The same, by the code and the PromoHub id it was made for.
    pub async fn find_code(&self, code: &str, id: &str) -> Result<Option<Remote>, ProviderError> {
        let all = self.measured("list", self.connector.list_codes()).await?;
        let mut matching: Vec<RemoteCode> = all
            .into_iter()
            .filter(|r| {
                r.code.eq_ignore_ascii_case(code)
                    && r.status != PromoCodeStatus::Archived
                    && r.owner.as_ref().is_none_or(|owner| owner == id)
            })
            .collect();
        // Flex keeps codes unique among active ones only: prefer a live copy.
        matching.sort_by_key(|r| r.status != PromoCodeStatus::Active);
        Ok(matching.into_iter().next().map(|r| r.remote))
    }

    /// Every code the provider holds, page by page; codes that cannot be read are left out
    /// (and logged).
    pub async fn list_all(&self) -> Result<Vec<RemoteCode>, ProviderError> {
        let listing = self.list().await?;
        for why in listing.skipped {
            tracing::warn!(provider = %self.provider(), %why, "skipped a code that cannot be read");
        }
        Ok(listing.codes)
    }

    /// Every code the provider holds, and a note naming each one that could not be read.
    pub async fn list(&self) -> Result<Listing, ProviderError> {
        self.measured("list", self.connector.list()).await
    }
}

/// The configured providers. A provider missing here is not configured.
#[derive(Clone, Debug, Default)]
pub struct Providers {
    adapters: BTreeMap<Provider, Adapter>,
    metrics: Arc<Metrics>,
}

impl Providers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, provider: Provider, config: &ProviderConfig) -> anyhow::Result<Self> {
        let adapter = Adapter::new(provider, config, self.metrics.clone())?;
        self.adapters.insert(provider, adapter);
        Ok(self)
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Binds every rate limit to `db`: on PostgreSQL one limit per provider for every process
    /// on the database (providers/gate.rs); no call waits longer than `max_wait` for it.
    pub fn share_limits_on(&self, db: &sea_orm::DatabaseConnection, max_wait: Duration) {
        for adapter in self.adapters.values() {
            adapter.gate.share_on(db, max_wait);
        }
    }

    pub fn configured(&self) -> impl Iterator<Item = Provider> + '_ {
        self.adapters.keys().copied()
    }

    pub fn get(&self, provider: Provider) -> Option<&Adapter> {
        self.adapters.get(&provider)
    }

    pub fn is_configured(&self, provider: Provider) -> bool {
        self.adapters.contains_key(&provider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_key() {
        let config = ProviderConfig::new("https://api.whop.com/api", "sk_live_very_secret");
        let shown = format!(
            "{config:?} {:?}",
            Providers::new().with(Provider::Whop, &config)
        );
        assert!(!shown.contains("sk_live_very_secret"), "{shown}");
    }
}
