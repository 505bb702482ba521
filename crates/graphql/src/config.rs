//! Configuration from the environment (runtime.md), with demo mode for a newcomer who asks for
//! it (`promohub demo` or `PROMOHUB_DEMO=1`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use promohub_domain::Provider;
use promohub_domain::providers::ProviderConfig;
use promohub_domain::providers::limiter::RateLimit;

use crate::http::{HttpConfig, Tokens};
use crate::limits::RequestLimits;

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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match env(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| anyhow!("{name} must be a number, not {text:?}")),
    }
}

/// A limit that must be at least 1: zero would refuse every request.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(
    name: &str,
    default: T,
) -> anyhow::Result<T> {
    let value = number(name, default)?;
    if value < T::from(1) {
        bail!("{name} must be at least 1");
    }
    Ok(value)
}

fn http_from_env() -> anyhow::Result<HttpConfig> {
    let defaults = RequestLimits::default();
    let http = HttpConfig::default();
    Ok(HttpConfig {
        limits: RequestLimits {
            max_document_bytes: positive(
                "PROMOHUB_MAX_DOCUMENT_BYTES",
                defaults.max_document_bytes,
            )?,
            max_tokens: positive("PROMOHUB_MAX_TOKENS", defaults.max_tokens)?,
            max_depth: positive("PROMOHUB_MAX_QUERY_DEPTH", defaults.max_depth)?,
            max_input_depth: positive("PROMOHUB_MAX_INPUT_DEPTH", defaults.max_input_depth)?,
            max_aliases: number("PROMOHUB_MAX_ALIASES", defaults.max_aliases)?,
            max_fields: positive("PROMOHUB_MAX_FIELDS", defaults.max_fields)?,
            max_cost: positive("PROMOHUB_MAX_COST", defaults.max_cost)?,
        },
        request_timeout: Duration::from_millis(positive(
            "PROMOHUB_REQUEST_TIMEOUT_MS",
            u64::try_from(http.request_timeout.as_millis()).unwrap_or(u64::MAX),
        )?),
        shutdown_grace: Duration::from_secs(number(
            "PROMOHUB_SHUTDOWN_GRACE_SECS",
            http.shutdown_grace.as_secs(),
        )?),
        max_concurrent_requests: positive(
            "PROMOHUB_MAX_CONCURRENT_REQUESTS",
            http.max_concurrent_requests,
        )?,
        header_read_timeout: Duration::from_millis(positive(
            "PROMOHUB_HEADER_READ_TIMEOUT_MS",
            u64::try_from(http.header_read_timeout.as_millis()).unwrap_or(u64::MAX),
        )?),
        metrics: crate::http::MetricsConfig {
            token: env("PROMOHUB_METRICS_TOKEN").map(secrecy::SecretString::from),
            listen: env("PROMOHUB_METRICS_LISTEN")
                .map(|a| {
                    a.trim().parse().map_err(|_| {
                        anyhow!("PROMOHUB_METRICS_LISTEN must be address:port, e.g. 127.0.0.1:9090")
                    })
                })
                .transpose()?,
            max_operation_names: positive(
                "PROMOHUB_METRICS_MAX_OPERATIONS",
                http.metrics.max_operation_names,
            )?,
        },
    })
}

impl Config {
    /// Reads runtime.md's variables. Errors name the variable, never a secret's value.
    pub fn from_env() -> anyhow::Result<Self> {
        let listen = env("PROMOHUB_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("PROMOHUB_LISTEN must be address:port, e.g. 127.0.0.1:8080")?;
        let database_url =
            env("DATABASE_URL").unwrap_or_else(|| "sqlite://promohub.db?mode=rwc".into());
        let tokens = env("PROMOHUB_API_TOKENS")
            .map(|t| Tokens::parse(&t).map_err(|e| anyhow!("PROMOHUB_API_TOKENS: {e}")))
            .transpose()?;
        let timeout = Duration::from_millis(number("PROMOHUB_PROVIDER_TIMEOUT_MS", 10_000u64)?);
        let mut providers = Vec::new();
        let mut missing = Vec::new();
        for (provider, prefix) in [
            (Provider::Flex, "FLEX"),
            (Provider::Fynn, "FYNN"),
            (Provider::Whop, "WHOP"),
        ] {
            let url = env(&format!("{prefix}_API_URL"));
            let key = env(&format!("{prefix}_API_KEY"));
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
            // Whop documents 100 requests per 10 s; the others document no limit.
            let default_limit = (provider == Provider::Whop).then_some("100/10s");
            let rate_limit = match env(&format!("PROMOHUB_{prefix}_RATE_LIMIT"))
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
        let demo = match env("PROMOHUB_DEMO").as_deref().map(str::trim) {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(other) => bail!("PROMOHUB_DEMO must be 1 or 0, not {other:?}"),
        };
        let defaults = promohub_domain::ServiceConfig::default();
        let sync_secs: u64 = number("PROMOHUB_SYNC_INTERVAL_SECS", 300)?;
        let service = promohub_domain::ServiceConfig {
            retry_base: Duration::from_millis(number("PROMOHUB_SYNC_RETRY_BASE_MS", 500u64)?),
            max_attempts: number("PROMOHUB_SYNC_MAX_ATTEMPTS", 10i32)?.max(1),
            sync_interval: (sync_secs > 0).then(|| Duration::from_secs(sync_secs)),
            ..defaults
        };
        let cors_origins = env("PROMOHUB_CORS_ORIGINS")
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
            http: http_from_env()?,
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
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_secret() {
        let config = Config {
            listen: "127.0.0.1:8080".parse().expect("address"),
            database_url: "postgres://app:db-password-1@db:5432/promohub".into(),
            tokens: Some(Tokens::parse("write:api-token-secret-1").expect("tokens")),
            demo: false,
            providers: vec![(
                Provider::Whop,
                ProviderConfig::new("http://127.0.0.1:9/whop/api", "sk_provider_secret_1"),
            )],
            service: promohub_domain::ServiceConfig::default(),
            cors_origins: Vec::new(),
            http: HttpConfig {
                metrics: crate::http::MetricsConfig {
                    token: Some("scrape-secret-1".into()),
                    ..Default::default()
                },
                ..HttpConfig::default()
            },
        };
        let shown = format!("{config:?} {config:#?}");
        for secret in [
            "db-password-1",
            "api-token-secret-1",
            "sk_provider_secret_1",
            "scrape-secret-1",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("127.0.0.1:9/whop/api"),
            "the rest is shown: {shown}"
        );
    }
}
