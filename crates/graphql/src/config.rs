//! Configuration from the environment (runtime.md), with demo mode for a newcomer who asks for
//! it (`promohub demo` or `PROMOHUB_DEMO=1`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use promohub_domain::Provider;
use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::providers::{ProviderConfig, capabilities};

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

/// Declares the settings once: each a flag (`--listen`) and an environment variable
/// (`PROMOHUB_LISTEN`), both shown by `promohub --help` with the default. Values are read as
/// text and checked by `Config::from_settings`, so an error names the variable.
macro_rules! settings {
    ($($(#[$meta:meta])* $field:ident = $env:literal, $default:literal, $help:literal;)+) => {
        /// Every variable of contract/runtime.md, as flags (which win) and environment variables.
        #[derive(clap::Args, Clone, Default)]
        pub struct Settings {
            $(
                $(#[$meta])*
                #[arg(long, env = $env, value_name = "VALUE", hide_env_values = true,
                      help = concat!($help, " [default: ", $default, "]"))]
                pub $field: Option<String>,
            )+
        }

        impl Settings {
            /// The value given for variable `name`, if any.
            pub fn var(&self, name: &str) -> Option<&str> {
                match name {
                    $($env => self.$field.as_deref(),)+
                    _ => None,
                }
            }

            /// Sets variable `name` as its flag would; false for an unknown name.
            pub fn set(&mut self, name: &str, value: &str) -> bool {
                match name {
                    $($env => self.$field = Some(value.to_string()),)+
                    _ => return false,
                }
                true
            }

            /// Every variable with the default `--help` shows for it.
            pub fn documented() -> &'static [(&'static str, &'static str)] {
                &[$(($env, $default)),+]
            }
        }
    };
}

settings! {
    listen = "PROMOHUB_LISTEN", "127.0.0.1:8080", "address:port to listen on";
    database_url = "DATABASE_URL", "sqlite://promohub.db?mode=rwc",
        "sqlite://PATH?mode=rwc or postgres://...; migrations run on start";
    api_tokens = "PROMOHUB_API_TOKENS", "none (demo mode prints one)",
        "comma-separated scope:token pairs, scope read or write (prefer the environment for secrets)";
    demo_mode = "PROMOHUB_DEMO", "0", "1: demo mode, as `promohub demo` (refused when a provider is configured)";
    flex_api_url = "FLEX_API_URL", "unset: Flex not configured", "Flex base URL, e.g. https://api.withflex.com";
    flex_api_key = "FLEX_API_KEY", "unset", "Flex secret key (with FLEX_API_URL)";
    fynn_api_url = "FYNN_API_URL", "unset: Fynn not configured", "Fynn base URL";
    fynn_api_key = "FYNN_API_KEY", "unset", "Fynn secret key (with FYNN_API_URL)";
    whop_api_url = "WHOP_API_URL", "unset: Whop not configured", "Whop base URL, e.g. https://api.whop.com/api";
    whop_api_key = "WHOP_API_KEY", "unset", "Whop secret key (with WHOP_API_URL)";
    // new-provider: api settings
    provider_timeout_ms = "PROMOHUB_PROVIDER_TIMEOUT_MS", "10000", "timeout of one provider HTTP call, ms";
    sync_retry_base_ms = "PROMOHUB_SYNC_RETRY_BASE_MS", "500",
        "first retry delay of a failed provider write, ms; doubles per attempt, capped at 60 s";
    sync_max_attempts = "PROMOHUB_SYNC_MAX_ATTEMPTS", "10", "attempts before a provider write is FAILED";
    lease_secs = "PROMOHUB_LEASE_SECS", "60", "how long a change holds a code before another process may take it over, s";
    sync_interval_secs = "PROMOHUB_SYNC_INTERVAL_SECS", "300", "periodic pull from providers, s; 0 turns it off";
    flex_rate_limit = "PROMOHUB_FLEX_RATE_LIMIT", "none", "limit on Flex calls, like 100/10s, or none; on PostgreSQL one limit for all replicas";
    fynn_rate_limit = "PROMOHUB_FYNN_RATE_LIMIT", "none", "limit on Fynn calls, like 100/10s, or none; on PostgreSQL one limit for all replicas";
    whop_rate_limit = "PROMOHUB_WHOP_RATE_LIMIT", "100/10s", "limit on Whop calls, like 100/10s, or none; on PostgreSQL one limit for all replicas";
    // new-provider: rate limit settings
    cors_origins = "PROMOHUB_CORS_ORIGINS", "none", "comma-separated frontend origins allowed by CORS";
    max_document_bytes = "PROMOHUB_MAX_DOCUMENT_BYTES", "32768", "longest GraphQL document, bytes";
    max_tokens = "PROMOHUB_MAX_TOKENS", "4000", "most lexical tokens in a document";
    max_query_depth = "PROMOHUB_MAX_QUERY_DEPTH", "15", "deepest nesting of fields, fragments expanded";
    max_input_depth = "PROMOHUB_MAX_INPUT_DEPTH", "10", "deepest nesting of lists and objects in one input value";
    max_aliases = "PROMOHUB_MAX_ALIASES", "30", "most aliased fields in a document";
    max_fields = "PROMOHUB_MAX_FIELDS", "1000", "most fields in an operation, fragments expanded";
    max_cost = "PROMOHUB_MAX_COST", "20000", "highest query cost";
    request_timeout_ms = "PROMOHUB_REQUEST_TIMEOUT_MS", "30000", "longest a GraphQL request runs before REQUEST_TIMEOUT, ms";
    shutdown_grace_secs = "PROMOHUB_SHUTDOWN_GRACE_SECS", "30", "after SIGTERM, how long requests in flight may finish, s";
    max_concurrent_requests = "PROMOHUB_MAX_CONCURRENT_REQUESTS", "256", "requests handled at once; more get 503 at once";
    header_read_timeout_ms = "PROMOHUB_HEADER_READ_TIMEOUT_MS", "10000", "a connection must send its whole request head within this, ms";
    max_ws_connections = "PROMOHUB_MAX_WS_CONNECTIONS", "1000", "open WebSocket (subscription) connections per process; more get 503";
    max_subscriptions_per_connection = "PROMOHUB_MAX_SUBSCRIPTIONS_PER_CONNECTION", "20", "active subscriptions on one WebSocket connection";
    ws_init_timeout_ms = "PROMOHUB_WS_INIT_TIMEOUT_MS", "10000", "a WebSocket must send connection_init within this, ms (else closed 4408)";
    metrics_token = "PROMOHUB_METRICS_TOKEN", "none: /metrics needs no token", "bearer token /metrics requires";
    metrics_listen = "PROMOHUB_METRICS_LISTEN", "none: /metrics beside the API", "address:port serving /metrics alone";
    metrics_max_operations = "PROMOHUB_METRICS_MAX_OPERATIONS", "100", "distinct operation names kept as metrics labels; the rest are other";
    log = "RUST_LOG", "info", "log filter";
}

/// The settings alone, from the environment (for `Config::from_env`).
#[derive(clap::Parser)]
#[command(no_binary_name = false)]
struct EnvOnly {
    #[command(flatten)]
    settings: Settings,
}

/// The value of one variable (from its flag or the environment); blank counts as unset.
fn env(s: &Settings, name: &str) -> Option<String> {
    s.var(name)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string)
}

fn number<T: std::str::FromStr>(s: &Settings, name: &str, default: T) -> anyhow::Result<T> {
    match env(s, name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| anyhow!("{name} must be a number, not {text:?}")),
    }
}

/// A limit that must be at least 1: zero would refuse every request.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(
    s: &Settings,
    name: &str,
    default: T,
) -> anyhow::Result<T> {
    let value = number(s, name, default)?;
    if value < T::from(1) {
        bail!("{name} must be at least 1");
    }
    Ok(value)
}

fn http_from_settings(s: &Settings) -> anyhow::Result<HttpConfig> {
    let defaults = RequestLimits::default();
    let http = HttpConfig::default();
    Ok(HttpConfig {
        limits: RequestLimits {
            max_document_bytes: positive(
                s,
                "PROMOHUB_MAX_DOCUMENT_BYTES",
                defaults.max_document_bytes,
            )?,
            max_tokens: positive(s, "PROMOHUB_MAX_TOKENS", defaults.max_tokens)?,
            max_depth: positive(s, "PROMOHUB_MAX_QUERY_DEPTH", defaults.max_depth)?,
            max_input_depth: positive(s, "PROMOHUB_MAX_INPUT_DEPTH", defaults.max_input_depth)?,
            max_aliases: number(s, "PROMOHUB_MAX_ALIASES", defaults.max_aliases)?,
            max_fields: positive(s, "PROMOHUB_MAX_FIELDS", defaults.max_fields)?,
            max_cost: positive(s, "PROMOHUB_MAX_COST", defaults.max_cost)?,
        },
        request_timeout: Duration::from_millis(positive(
            s,
            "PROMOHUB_REQUEST_TIMEOUT_MS",
            u64::try_from(http.request_timeout.as_millis()).unwrap_or(u64::MAX),
        )?),
        shutdown_grace: Duration::from_secs(number(
            s,
            "PROMOHUB_SHUTDOWN_GRACE_SECS",
            http.shutdown_grace.as_secs(),
        )?),
        max_concurrent_requests: positive(
            s,
            "PROMOHUB_MAX_CONCURRENT_REQUESTS",
            http.max_concurrent_requests,
        )?,
        header_read_timeout: Duration::from_millis(positive(
            s,
            "PROMOHUB_HEADER_READ_TIMEOUT_MS",
            u64::try_from(http.header_read_timeout.as_millis()).unwrap_or(u64::MAX),
        )?),
        ws: crate::http::sockets::WsConfig {
            max_connections: positive(s, "PROMOHUB_MAX_WS_CONNECTIONS", http.ws.max_connections)?,
            max_subscriptions: positive(
                s,
                "PROMOHUB_MAX_SUBSCRIPTIONS_PER_CONNECTION",
                http.ws.max_subscriptions,
            )?,
            init_timeout: Duration::from_millis(positive(
                s,
                "PROMOHUB_WS_INIT_TIMEOUT_MS",
                u64::try_from(http.ws.init_timeout.as_millis()).unwrap_or(u64::MAX),
            )?),
        },
        metrics: crate::http::MetricsConfig {
            token: env(s, "PROMOHUB_METRICS_TOKEN").map(secrecy::SecretString::from),
            listen: env(s, "PROMOHUB_METRICS_LISTEN")
                .map(|a| {
                    a.trim().parse().map_err(|_| {
                        anyhow!("PROMOHUB_METRICS_LISTEN must be address:port, e.g. 127.0.0.1:9090")
                    })
                })
                .transpose()?,
            max_operation_names: positive(
                s,
                "PROMOHUB_METRICS_MAX_OPERATIONS",
                http.metrics.max_operation_names,
            )?,
        },
    })
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
mod tests {
    use super::*;

    /// The defaults `--help` shows are the ones that apply.
    #[test]
    fn the_documented_defaults_are_the_defaults() {
        let mut unset = Settings::default();
        for prefix in ["FLEX", "FYNN", "WHOP"] {
            unset.set(&format!("{prefix}_API_URL"), "http://127.0.0.1:9/x");
            unset.set(&format!("{prefix}_API_KEY"), "sk_test_key");
        }
        let mut documented = unset.clone();
        let mut applied = 0;
        for (name, default) in Settings::documented() {
            let prose = default.starts_with("unset")
                || default.starts_with("none (")
                || default.starts_with("none:");
            if prose || ["PROMOHUB_CORS_ORIGINS", "RUST_LOG"].contains(name) {
                continue;
            }
            assert!(documented.set(name, default), "{name}");
            applied += 1;
        }
        assert!(applied >= 22, "{applied}");
        let a = Config::from_settings(&unset).expect("defaults");
        let b = Config::from_settings(&documented).expect("documented defaults");
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.listen.to_string(), "127.0.0.1:8080");
        assert!(!a.demo);
    }

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
