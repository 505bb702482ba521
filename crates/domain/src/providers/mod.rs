//! One adapter per provider over the generated clients. An adapter alone knows its provider's
//! field names, units and quirks; everything above it speaks the unified model.

pub mod flex;
pub mod fynn;
pub mod limiter;
pub mod whop;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use promohub_clients::{ClientSettings, Error as ClientError};
use secrecy::{ExposeSecret, SecretString};

use crate::metrics::Metrics;
use crate::model::{
    Discount, Duration as CodeDuration, PromoCode, PromoCodeStatus, Provider, ProviderSync,
    Restrictions,
};
use limiter::{RateLimit, RateLimiter};

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
    /// The provider holds the code but refuses every change to it now (Fynn, once redeemed).
    pub immutable: bool,
    /// What a 429 or 503 asked for in Retry-After, capped at [`RETRY_AFTER_CAP`].
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub(crate) fn permanent(provider: Provider, message: impl Into<String>) -> Self {
        Self {
            provider,
            transient: false,
            immutable: false,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The provider refuses every change to the code now; says what it still holds.
    pub(crate) fn immutable(provider: Provider, message: impl Into<String>) -> Self {
        Self {
            immutable: true,
            ..Self::permanent(provider, message)
        }
    }
}

/// The provider's own message in its error body.
pub(crate) trait ErrorBody {
    fn message(&self) -> Option<String>;
}

/// What a generated client call fails with: error bodies are read raw (see openapi/*.yaml),
/// so the status survives a body that is not the provider's JSON.
pub(crate) type ClientFailure = ClientError<promohub_clients::whop::ByteStream>;

fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429) || status >= 500
}

/// The longest wait a provider's `Retry-After` can impose: a larger value (or a date further
/// away) waits this long. An hour keeps a confused or hostile provider from parking writes for
/// days, and keeps every date computed from it far from chrono's limits.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// Reads `Retry-After` (RFC 9110 10.2.3): delay-seconds or an HTTP-date, capped at
/// [`RETRY_AFTER_CAP`]. A date in the past is no wait; anything else unreadable is ignored.
/// No arithmetic here can overflow: seconds are parsed as u64 (longer digit runs are "very
/// long"), and dates are only compared.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(match value.parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs).min(RETRY_AFTER_CAP),
            Err(_) => RETRY_AFTER_CAP,
        });
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is RFC 2822 with GMT; the two obsolete
    // forms, RFC 850 and asctime, are accepted as the RFC asks recipients to.
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT")
                .ok()
                .map(|d| d.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y")
                .ok()
                .map(|d| d.and_utc())
        })?;
    if at <= now {
        return Some(Duration::ZERO);
    }
    // Both ends are valid dates, so the difference is in range; an error is "far away".
    Some(
        (at - now)
            .to_std()
            .unwrap_or(RETRY_AFTER_CAP)
            .min(RETRY_AFTER_CAP),
    )
}

/// The most of an error body read to find the provider's message.
const MAX_ERROR_BODY: usize = 64 * 1024;

async fn read_capped(stream: promohub_clients::whop::ByteStream) -> Vec<u8> {
    use futures::StreamExt;
    let mut stream = stream.into_inner();
    let mut body = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    body
}

/// A client call's answer, its failure sorted into permanent or transient: by HTTP status
/// first (408, 429 and 5xx transient, every other 4xx permanent, whatever the body), then the
/// provider's own message from its documented error body `B` when the body is one.
pub(crate) async fn sorted<T, B: ErrorBody + serde::de::DeserializeOwned>(
    provider: Provider,
    result: Result<promohub_clients::ResponseValue<T>, ClientFailure>,
) -> Result<promohub_clients::ResponseValue<T>, ProviderError> {
    match result {
        Ok(value) => Ok(value),
        Err(error) => Err(classify::<B>(provider, error).await),
    }
}

/// Sorts a client error into permanent or transient, keeping the provider's message.
pub(crate) async fn classify<B: ErrorBody + serde::de::DeserializeOwned>(
    provider: Provider,
    error: ClientFailure,
) -> ProviderError {
    let (transient, status, message, retry_after) = match error {
        ClientError::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            let body = read_capped(response.into_inner()).await;
            let message = serde_json::from_slice::<B>(&body)
                .ok()
                .and_then(|b| b.message())
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
        // Only a success answer is parsed now (errors are read raw): the provider said yes in
        // a body we cannot read. Passing, so a create is looked up and adopted on retry.
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
        immutable: false,
        status,
        message,
        retry_after,
    }
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

/// What every HTTP call to a provider passes first: its rate limiter, when it has one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gate(Option<Arc<RateLimiter>>);

impl Gate {
    /// Waits for a place; hold what it returns until the call has ended.
    pub(crate) async fn pass(&self) -> Option<limiter::Permit<'_>> {
        match &self.0 {
            Some(limiter) => Some(limiter.acquire().await),
            None => None,
        }
    }
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

#[derive(Clone, Debug)]
enum Kind {
    Flex(flex::FlexAdapter),
    Fynn(fynn::FynnAdapter),
    Whop(whop::WhopAdapter),
}

/// One provider's adapter, with its rate limiter and the metrics it reports to.
#[derive(Clone, Debug)]
pub struct Adapter {
    kind: Kind,
    metrics: Arc<Metrics>,
}

fn outcome<T>(result: &Result<T, ProviderError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) if e.transient => "transient",
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
        let gate = Gate(config.rate_limit.map(|l| Arc::new(RateLimiter::new(l))));
        let kind = match provider {
            Provider::Flex => Kind::Flex(flex::FlexAdapter::new(settings.flex()?, gate)),
            Provider::Fynn => Kind::Fynn(fynn::FynnAdapter::new(settings.fynn()?, gate)),
            Provider::Whop => Kind::Whop(whop::WhopAdapter::new(settings.whop()?, gate)),
        };
        Ok(Self { kind, metrics })
    }

    pub fn provider(&self) -> Provider {
        match self.kind {
            Kind::Flex(_) => Provider::Flex,
            Kind::Fynn(_) => Provider::Fynn,
            Kind::Whop(_) => Provider::Whop,
        }
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
        self.measured("create", async {
            match &self.kind {
                Kind::Flex(a) => a.create(code, None).await,
                Kind::Fynn(a) => a.create(code).await,
                Kind::Whop(a) => a.create(code).await,
            }
        })
        .await
    }

    /// Creates the code after an attempt that may have reached the provider: adopts the copy
    /// the provider already holds, and reuses what an interrupted attempt left behind.
    pub async fn create_again(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        if let Some(remote) = self.find(code).await? {
            return Ok(remote);
        }
        match &self.kind {
            Kind::Flex(a) => {
                let orphan = self.measured("find", a.orphan_coupon(code)).await?;
                self.measured("create", a.create(code, orphan)).await
            }
            _ => self.create(code).await,
        }
    }

    /// Makes the provider hold what `code` says of everything it can change. Idempotent, so a
    /// retry converges to the latest state however many attempts came before.
    pub async fn push(&self, link: &ProviderSync, code: &PromoCode) -> Result<(), ProviderError> {
        let external_id = link.external_id.as_deref().ok_or_else(|| {
            ProviderError::permanent(self.provider(), "the code was never created here")
        })?;
        self.measured("update", async {
            match &self.kind {
                Kind::Flex(a) => a.push(external_id, code).await,
                Kind::Fynn(a) => a.push(external_id, code).await,
                Kind::Whop(a) => a.push(external_id, code).await.map(|_| ()),
            }
        })
        .await
    }

    /// Undoes a create: deletes the code where the provider allows it, else deactivates it.
    pub async fn retire(&self, remote: &Remote) -> Result<(), ProviderError> {
        self.measured("retire", async {
            match &self.kind {
                Kind::Flex(a) => a.retire(&remote.external_id).await,
                Kind::Fynn(a) => a.retire(&remote.external_id).await,
                Kind::Whop(a) => a.retire(&remote.external_id).await,
            }
        })
        .await
    }

    /// The provider's live copy of `code` (same code ignoring case, not archived, and made for
    /// this code where the provider carries our id), if it has one.
    pub async fn find(&self, code: &PromoCode) -> Result<Option<Remote>, ProviderError> {
        let all = match &self.kind {
            // The list view is enough to find a code; no need to read every coupon's detail.
            Kind::Fynn(a) => self.measured("list", a.list_codes()).await?,
            _ => self.list_all().await?,
        };
        let mut matching: Vec<RemoteCode> = all
            .into_iter()
            .filter(|r| {
                r.code.eq_ignore_ascii_case(&code.code)
                    && r.status != PromoCodeStatus::Archived
                    && r.owner.as_ref().is_none_or(|owner| *owner == code.id)
            })
            .collect();
        // Flex keeps codes unique among active ones only: prefer a live copy.
        matching.sort_by_key(|r| r.status != PromoCodeStatus::Active);
        Ok(matching.into_iter().next().map(|r| r.remote))
    }

    /// Every code the provider holds, page by page; codes that cannot be read are left out
    /// (and logged).
    pub async fn list_all(&self) -> Result<Vec<RemoteCode>, ProviderError> {
        let (codes, skipped) = self.list_with_skipped().await?;
        for why in skipped {
            tracing::warn!(provider = %self.provider(), %why, "skipped a code that cannot be read");
        }
        Ok(codes)
    }

    /// Every code the provider holds, and a note naming each one that could not be read.
    pub async fn list_with_skipped(&self) -> Result<(Vec<RemoteCode>, Vec<String>), ProviderError> {
        self.measured("list", async {
            match &self.kind {
                Kind::Flex(a) => a.list_all().await.map(|c| (c, Vec::new())),
                Kind::Fynn(a) => a.list_all().await,
                Kind::Whop(a) => a.list_all().await.map(|c| (c, Vec::new())),
            }
        })
        .await
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

    #[test]
    fn statuses_sort_into_transient_and_permanent() {
        for (status, transient) in [
            (400, false),
            (401, false),
            (404, false),
            (409, false),
            (422, false),
            (408, true),
            (429, true),
            (500, true),
            (502, true),
            (503, true),
        ] {
            assert_eq!(is_transient_status(status), transient, "{status}");
        }
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_capped() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        let secs = |n| Some(Duration::from_secs(n));
        assert_eq!(parse_retry_after("5", now), secs(5));
        assert_eq!(parse_retry_after(" 120 ", now), secs(120));
        assert_eq!(parse_retry_after("1000000000000000", now), secs(3600));
        assert_eq!(parse_retry_after(&"9".repeat(400), now), secs(3600));
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 12:02:00 GMT", now),
            secs(120)
        );
        assert_eq!(
            parse_retry_after("Tuesday, 01-Dec-26 12:00:30 GMT", now),
            secs(30)
        );
        assert_eq!(parse_retry_after("Tue Dec  1 12:00:10 2026", now), secs(10));
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            secs(3600)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            secs(0)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
