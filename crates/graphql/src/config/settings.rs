//! Every variable of contract/runtime.md, declared once (flag, variable, default, help), and
//! the typed readings of their text.

use std::time::Duration;

use anyhow::{anyhow, bail};

use crate::http::HttpConfig;
use crate::limits::RequestLimits;

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
pub(super) struct EnvOnly {
    #[command(flatten)]
    pub(super) settings: Settings,
}

/// The value of one variable (from its flag or the environment); blank counts as unset.
pub(super) fn env(s: &Settings, name: &str) -> Option<String> {
    s.var(name)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string)
}

pub(super) fn number<T: std::str::FromStr>(
    s: &Settings,
    name: &str,
    default: T,
) -> anyhow::Result<T> {
    match env(s, name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| anyhow!("{name} must be a number, not {text:?}")),
    }
}

/// A limit that must be at least 1: zero would refuse every request.
pub(super) fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(
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

pub(super) fn http_from_settings(s: &Settings) -> anyhow::Result<HttpConfig> {
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
