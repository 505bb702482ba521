//! Configuration from the environment (runtime.md), with demo mode for a newcomer who asks for
//! it (`promohub demo` or `PROMOHUB_DEMO=1`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use promohub_domain::Provider;
use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::providers::{ProviderConfig, capabilities};

use crate::http::{HttpConfig, Tokens};

mod settings;

pub use settings::Settings;
use settings::{EnvOnly, env, http_from_settings, number, positive};

/// `Debug` shows no secret: tokens and provider keys are redacted, and so is the database
/// password.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// None: demo mode makes one (only when no provider is configured).
    pub tokens: Option<Tokens>,
    /// Demo mode was asked for (`promohub demo`, `PROMOHUB_DEMO=1`): providers are in-process
    /// sandboxes. Refused when a provider is configured.
    pub demo: bool,
    pub providers: Vec<(Provider, ProviderConfig)>,
    pub service: promohub_domain::ServiceConfig,
    pub cors_origins: Vec<String>,
    /// Request limits, timeout and shutdown grace of the HTTP layer.
    pub http: HttpConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &promohub_domain::store::redact_url(&self.database_url),
            )
            .field("tokens", &self.tokens)
            .field("demo", &self.demo)
            .field("providers", &self.providers)
            .field("service", &self.service)
            .field("cors_origins", &self.cors_origins)
            .field("http", &self.http)
            .finish()
    }
}

impl Config {
    /// Reads runtime.md's variables from the environment alone.
    pub fn from_env() -> anyhow::Result<Self> {
        use clap::Parser as _;
        Self::from_settings(&EnvOnly::try_parse_from(["promohub"])?.settings)
    }

    /// Reads runtime.md's variables, each from its flag or else the environment. Errors name
    /// the variable, never a secret's value.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let listen = env(s, "PROMOHUB_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("PROMOHUB_LISTEN must be address:port, e.g. 127.0.0.1:8080")?;
        let database_url =
            env(s, "DATABASE_URL").unwrap_or_else(|| "sqlite://promohub.db?mode=rwc".into());
        let tokens = env(s, "PROMOHUB_API_TOKENS")
            .map(|t| Tokens::parse(&t).map_err(|e| anyhow!("PROMOHUB_API_TOKENS: {e}")))
            .transpose()?;
        let timeout = Duration::from_millis(number(s, "PROMOHUB_PROVIDER_TIMEOUT_MS", 10_000u64)?);
        let mut providers = Vec::new();
        let mut missing = Vec::new();
        for &provider in Provider::ALL {
            // The variables' prefix is the provider's API name (FLEX_API_URL, ...).
            let prefix = provider.as_str();
            let url = env(s, &format!("{prefix}_API_URL"));
            let key = env(s, &format!("{prefix}_API_KEY"));
            let (url, key) = match (url, key) {
                (None, None) => continue,
                (Some(url), Some(key)) => (url, key),
                (Some(_), None) => {
                    missing.push(format!(
                        "{prefix}_API_KEY (because {prefix}_API_URL is set)"
                    ));
                    continue;
                }
                (None, Some(_)) => {
                    missing.push(format!(
                        "{prefix}_API_URL (because {prefix}_API_KEY is set)"
                    ));
                    continue;
                }
            };
            // The limit the provider documents, when it documents one.
            let default_limit = capabilities(provider).documented_rate_limit;
            let rate_limit = match env(s, &format!("PROMOHUB_{prefix}_RATE_LIMIT"))
                .or(default_limit.map(str::to_string))
            {
                Some(text) if text == "none" => None,
                Some(text) => Some(RateLimit::parse(&text).with_context(|| {
                    format!("PROMOHUB_{prefix}_RATE_LIMIT must look like 100/10s or be none")
                })?),
                None => None,
            };
            providers.push((
                provider,
                ProviderConfig {
                    timeout,
                    rate_limit,
                    ..ProviderConfig::new(url, key)
                },
            ));
        }
        if !missing.is_empty() {
            bail!(
                "a provider is half configured: set {}, or unset its other variable",
                missing.join(", ")
            );
        }
        let demo = match env(s, "PROMOHUB_DEMO").as_deref().map(str::trim) {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(other) => bail!("PROMOHUB_DEMO must be 1 or 0, not {other:?}"),
        };
        let defaults = promohub_domain::ServiceConfig::default();
        let sync_secs: u64 = number(s, "PROMOHUB_SYNC_INTERVAL_SECS", 300)?;
        let service = promohub_domain::ServiceConfig {
            retry_base: Duration::from_millis(number(s, "PROMOHUB_SYNC_RETRY_BASE_MS", 500u64)?),
            max_attempts: number(s, "PROMOHUB_SYNC_MAX_ATTEMPTS", 10i32)?.max(1),
            sync_interval: (sync_secs > 0).then(|| Duration::from_secs(sync_secs)),
            lease: Duration::from_secs(positive(
                s,
                "PROMOHUB_LEASE_SECS",
                defaults.lease.as_secs(),
            )?),
            ..defaults
        };
        let cors_origins = env(s, "PROMOHUB_CORS_ORIGINS")
            .map(|o| {
                o.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            listen,
            database_url,
            tokens,
            demo,
            providers,
            service,
            cors_origins,
            http: http_from_settings(s)?,
        })
    }

    /// Demo mode: asked for, and never when any provider is configured (`check` refuses that).
    pub fn is_demo(&self) -> bool {
        self.demo && self.providers.is_empty()
    }

    /// Refuses to start without providers unless demo mode was asked for, and refuses demo
    /// mode beside a configured provider.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.demo && !self.providers.is_empty() {
            let names: Vec<&str> = self.providers.iter().map(|(p, _)| p.as_str()).collect();
            bail!(
                "demo mode (promohub demo, PROMOHUB_DEMO=1) runs sandboxes in place of the providers and never beside a configured one, but {} is configured: unset its *_API_URL and *_API_KEY, or run `promohub serve` without PROMOHUB_DEMO",
                names.join(", ")
            );
        }
        if !self.demo && self.providers.is_empty() {
            bail!(
                "no provider is configured: set FLEX_API_URL and FLEX_API_KEY (or FYNN_..., WHOP_...), or run `promohub demo` (or set PROMOHUB_DEMO=1) to try PromoHub with in-process provider sandboxes"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
