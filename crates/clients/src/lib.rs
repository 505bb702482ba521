//! Typed HTTP clients for the payment providers PromoHub writes through to.
//!
//! The modules `flex`, `fynn` and `whop` are generated from `openapi/<provider>.yaml` by
//! `cargo xtask codegen` and must not be edited by hand; fix the spec and regenerate instead.
//! This file only adds [`ClientSettings`], the one way PromoHub builds a client: progenitor
//! ignores `securitySchemes`, so the bearer key travels as a default header.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

// rustfmt must not touch generated code: `cargo xtask codegen --check` compares bytes.
#[rustfmt::skip]
#[path = "generated/flex.rs"]
pub mod flex;
#[rustfmt::skip]
#[path = "generated/fynn.rs"]
pub mod fynn;
#[rustfmt::skip]
#[path = "generated/whop.rs"]
pub mod whop;
// new-provider: modules

pub use progenitor_client::{Error, ResponseValue};

/// Everything needed to talk to one provider.
#[derive(Clone)]
pub struct ClientSettings {
    /// The provider's base URL exactly as the provider documents it, e.g.
    /// `https://api.whop.com/api`; operation paths are appended to it.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <api_key>`.
    pub api_key: String,
    /// Timeout of one whole HTTP call (connect, send, receive).
    pub timeout: Duration,
    pub user_agent: String,
}

// Hand-written so the key can never reach a log line through `{:?}`.
impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// Why a client could not be built. Never contains the key.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the API key contains characters that cannot be sent in an HTTP header")]
    InvalidKey,
    #[error("base URL {0:?} is not an http(s) URL")]
    InvalidBaseUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl ClientSettings {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(10),
            user_agent: concat!("promohub/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The base URL without a trailing slash, so `{base}/v1/...` never has `//`.
    fn base(&self) -> Result<&str, BuildError> {
        let base = self.base_url.trim_end_matches('/');
        if base.starts_with("http://") || base.starts_with("https://") {
            Ok(base)
        } else {
            Err(BuildError::InvalidBaseUrl(self.base_url.clone()))
        }
    }

    /// A reqwest client carrying the bearer key, timeout and user agent.
    pub fn http_client(&self) -> Result<reqwest::Client, BuildError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.api_key))
            .map_err(|_| BuildError::InvalidKey)?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .user_agent(&self.user_agent)
            .build()?)
    }

    pub fn flex(&self) -> Result<flex::Client, BuildError> {
        Ok(flex::Client::new_with_client(
            self.base()?,
            self.http_client()?,
        ))
    }

    pub fn fynn(&self) -> Result<fynn::Client, BuildError> {
        Ok(fynn::Client::new_with_client(
            self.base()?,
            self.http_client()?,
        ))
    }

    pub fn whop(&self) -> Result<whop::Client, BuildError> {
        Ok(whop::Client::new_with_client(
            self.base()?,
            self.http_client()?,
        ))
    }

    // new-provider: builders
}
