//! One adapter per provider over the generated clients. An adapter alone knows its provider's
//! field names, units and quirks; everything above it speaks the unified model.

pub mod flex;
pub mod fynn;
pub mod whop;

use std::collections::BTreeMap;
use std::time::Duration;

use promohub_clients::{ClientSettings, Error as ClientError};

use crate::model::{PromoCode, Provider, ProviderSync};

/// Where a code lives on a provider, as the provider reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub external_id: String,
    /// Flex: the coupon behind the promo code.
    pub secondary_id: Option<String>,
    pub times_redeemed: i64,
}

/// A provider call that did not succeed, sorted for the write-through rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{provider}: {message}")]
pub struct ProviderError {
    pub provider: Provider,
    /// Timeouts, connection errors, 5xx, 408 and 429 may succeed later; the rest will not.
    pub transient: bool,
    pub status: Option<u16>,
    /// The provider's own message when it gave one. Never contains the key.
    pub message: String,
    /// What a 429 or 503 asked for in Retry-After.
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub(crate) fn permanent(provider: Provider, message: impl Into<String>) -> Self {
        Self {
            provider,
            transient: false,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The provider's own message in its error body.
pub(crate) trait ErrorBody {
    fn message(&self) -> Option<String>;
}

fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429) || status >= 500
}

/// Sorts a client error into permanent or transient, keeping the provider's message.
pub(crate) fn classify<E: ErrorBody>(provider: Provider, error: ClientError<E>) -> ProviderError {
    let (transient, status, message, retry_after) = match error {
        ClientError::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let message = response
                .into_inner()
                .message()
                .unwrap_or_else(|| format!("HTTP {status}"));
            (
                is_transient_status(status),
                Some(status),
                message,
                retry_after,
            )
        }
        ClientError::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            (
                is_transient_status(status),
                Some(status),
                format!("unexpected HTTP {status}"),
                None,
            )
        }
        ClientError::CommunicationError(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "connection error"
            };
            (true, None, what.to_string(), None)
        }
        ClientError::ResponseBodyError(_) => {
            (true, None, "the answer was cut off".to_string(), None)
        }
        // An answer we cannot read (an HTML error page from a proxy, say): it may well be
        // passing, and retries are bounded.
        ClientError::InvalidResponsePayload(_, e) => {
            (true, None, format!("unreadable answer: {e}"), None)
        }
        ClientError::InvalidRequest(message) | ClientError::Custom(message) => {
            (false, None, message, None)
        }
        ClientError::InvalidUpgrade(_) => (false, None, "unexpected upgrade".to_string(), None),
    };
    ProviderError {
        provider,
        transient,
        status,
        message,
        retry_after,
    }
}

/// How to reach one provider.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub base_url: String,
    pub api_key: String,
    pub timeout: Duration,
}

#[derive(Clone, Debug)]
pub enum Adapter {
    Flex(flex::FlexAdapter),
    Fynn(fynn::FynnAdapter),
    Whop(whop::WhopAdapter),
}

impl Adapter {
    pub fn new(provider: Provider, config: &ProviderConfig) -> anyhow::Result<Self> {
        let settings =
            ClientSettings::new(&config.base_url, &config.api_key).with_timeout(config.timeout);
        Ok(match provider {
            Provider::Flex => Adapter::Flex(flex::FlexAdapter::new(settings.flex()?)),
            Provider::Fynn => Adapter::Fynn(fynn::FynnAdapter::new(settings.fynn()?)),
            Provider::Whop => Adapter::Whop(whop::WhopAdapter::new(settings.whop()?)),
        })
    }

    pub fn provider(&self) -> Provider {
        match self {
            Adapter::Flex(_) => Provider::Flex,
            Adapter::Fynn(_) => Provider::Fynn,
            Adapter::Whop(_) => Provider::Whop,
        }
    }

    /// Creates the code on the provider.
    pub async fn create(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        match self {
            Adapter::Flex(a) => a.create(code).await,
            Adapter::Fynn(a) => a.create(code).await,
            Adapter::Whop(a) => a.create(code).await,
        }
    }

    /// Makes the provider hold what `code` says of everything it can change. Idempotent, so a
    /// retry converges to the latest state however many attempts came before.
    pub async fn push(&self, link: &ProviderSync, code: &PromoCode) -> Result<(), ProviderError> {
        let external_id = link.external_id.as_deref().ok_or_else(|| {
            ProviderError::permanent(self.provider(), "the code was never created here")
        })?;
        match self {
            Adapter::Flex(a) => a.push(external_id, code).await,
            Adapter::Fynn(a) => a.push(external_id, code).await,
            Adapter::Whop(a) => a.push(external_id, link.times_redeemed, code).await,
        }
    }

    /// Undoes a create: deletes the code where the provider allows it, else deactivates it.
    pub async fn retire(&self, remote: &Remote) -> Result<(), ProviderError> {
        match self {
            Adapter::Flex(a) => a.retire(&remote.external_id).await,
            Adapter::Fynn(a) => a.retire(&remote.external_id).await,
            Adapter::Whop(a) => a.retire(&remote.external_id).await,
        }
    }

    /// The provider's copy of `code`, if it has one (compared ignoring case).
    pub async fn find(&self, code: &str) -> Result<Option<Remote>, ProviderError> {
        match self {
            Adapter::Flex(a) => a.find(code).await,
            Adapter::Fynn(a) => a.find(code).await,
            Adapter::Whop(a) => a.find(code).await,
        }
    }
}

/// The configured providers. A provider missing here is not configured.
#[derive(Clone, Debug, Default)]
pub struct Providers {
    adapters: BTreeMap<Provider, Adapter>,
}

impl Providers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, provider: Provider, config: &ProviderConfig) -> anyhow::Result<Self> {
        self.adapters
            .insert(provider, Adapter::new(provider, config)?);
        Ok(self)
    }

    pub fn get(&self, provider: Provider) -> Option<&Adapter> {
        self.adapters.get(&provider)
    }

    pub fn is_configured(&self, provider: Provider) -> bool {
        self.adapters.contains_key(&provider)
    }
}
