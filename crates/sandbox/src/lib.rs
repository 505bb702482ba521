//! Stateful emulators of the Flex, Fynn and Whop promo-code APIs.
//!
//! One listener serves all three, each under its own base URL (`/flex`, `/fynn`, `/whop/api`),
//! so `FLEX_API_URL` and friends can point at it unchanged. Unlike a stateless mock it keeps what
//! it is sent, enforces each provider's documented rules, and lets a test break it on purpose
//! through a control API under `/_sandbox` (faults, redemptions, the request journal, reset).
//!
//! Which operation a request is comes from the provider's own spec in `openapi/`: the journal and
//! the fault rules speak its operationIds, and a test checks that every operation there is served.

// Helpers return the provider's error `Response` as `Err` so handlers can `?`-style bail out;
// it is the cold path, and boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod chaos;
mod control;
mod flex;
mod fynn;
mod ids;
mod pipeline;
mod running;
mod whop;
// new-provider: modules

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::Context;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

pub use chaos::Chaos;
pub use control::{FaultKind, FaultSpec, JournalEntry, RedeemError, Redemption};
pub use running::{RunningSandbox, serve};

/// The providers the sandbox emulates.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Flex,
    Fynn,
    Whop,
    // new-provider: variants
}

impl Provider {
    pub const ALL: [Provider; 3] = [
        Provider::Flex,
        Provider::Fynn,
        Provider::Whop,
        // new-provider: all
    ];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Flex => "flex",
            Provider::Fynn => "fynn",
            Provider::Whop => "whop",
            // new-provider: names
        }
    }

    /// Where the provider's API is mounted: its base URL is `http://<listener><mount>`, and the
    /// paths of its spec follow (Whop's documented base URL ends in `/api`).
    pub fn mount(self) -> &'static str {
        match self {
            Provider::Flex => "/flex",
            Provider::Fynn => "/fynn",
            Provider::Whop => "/whop/api",
            // new-provider: mounts
        }
    }

    /// The key accepted when none is configured. Documented in the README.
    pub fn default_key(self) -> &'static str {
        match self {
            Provider::Flex => "sk_sandbox_flex",
            Provider::Fynn => "sk_sandbox_fynn",
            Provider::Whop => "sk_sandbox_whop",
            // new-provider: keys
        }
    }

    /// The provider's OpenAPI spec, as checked in under `openapi/`.
    pub fn spec(self) -> &'static str {
        match self {
            Provider::Flex => include_str!("../../../openapi/flex.yaml"),
            Provider::Fynn => include_str!("../../../openapi/fynn.yaml"),
            Provider::Whop => include_str!("../../../openapi/whop.yaml"),
            // new-provider: specs
        }
    }

    /// The environment variable holding this provider's key (runtime contract).
    pub fn key_env(self) -> &'static str {
        match self {
            Provider::Flex => "FLEX_API_KEY",
            Provider::Fynn => "FYNN_API_KEY",
            Provider::Whop => "WHOP_API_KEY",
            // new-provider: key variables
        }
    }

    /// An error response in this provider's own error shape.
    pub(crate) fn error(self, status: StatusCode, message: &str) -> Response {
        match self {
            Provider::Flex => flex::error(status, message),
            Provider::Fynn => fynn::problem(status, message),
            Provider::Whop => whop::error(status, message),
            // new-provider: errors
        }
    }

    /// Parses a JSON body into `T`, answering bad input in the provider's own way: Fynn (API
    /// Platform) tells malformed JSON (400) from a body that breaks the schema (422).
    pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
        self,
        body: &[u8],
    ) -> Result<T, Response> {
        serde_json::from_slice(body).map_err(|e| {
            let status = match (self, e.classify()) {
                (Provider::Fynn, serde_json::error::Category::Data) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::BAD_REQUEST,
            };
            self.error(status, &format!("Invalid request body: {e}"))
        })
    }

    /// The provider's answer when it throttles a caller.
    pub(crate) fn rate_limited(self) -> Response {
        match self {
            Provider::Whop => whop::rate_limited(),
            other => other.error(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
        }
    }
}

impl std::str::FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown provider {s:?}: expected flex, fynn or whop"))
    }
}

/// A code as a provider holds it: its id there, the code, whether it can be redeemed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldCode {
    pub id: String,
    pub code: String,
    pub active: bool,
}

/// Which key each provider accepts.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub keys: BTreeMap<Provider, String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            keys: Provider::ALL
                .into_iter()
                .map(|p| (p, p.default_key().to_string()))
                .collect(),
        }
    }
}

impl SandboxConfig {
    /// Default keys, overridden by `FLEX_API_KEY`, `FYNN_API_KEY`, `WHOP_API_KEY` when set.
    pub fn from_env() -> Self {
        let mut config = Self::default();
        for provider in Provider::ALL {
            if let Ok(key) = std::env::var(provider.key_env())
                && !key.is_empty()
            {
                config.keys.insert(provider, key);
            }
        }
        config
    }

    pub fn key(&self, provider: Provider) -> &str {
        self.keys
            .get(&provider)
            .map(String::as_str)
            .unwrap_or(provider.default_key())
    }
}

/// Everything the emulators hold; one lock, never held across an await.
#[derive(Default)]
pub(crate) struct World {
    pub(crate) flex: flex::Store,
    pub(crate) fynn: fynn::Store,
    pub(crate) whop: whop::Store,
    // new-provider: stores
    pub(crate) journal: Vec<JournalEntry>,
    pub(crate) faults: Vec<control::ActiveFault>,
    /// Random write faults (soak runs); None: off.
    pub(crate) chaos: Option<Chaos>,
    pub(crate) next_seq: u64,
}

pub(crate) struct Shared {
    world: Mutex<World>,
    config: SandboxConfig,
    /// (provider, method, path template as in the spec) -> operationId.
    operations: HashMap<(Provider, Method, String), String>,
}

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        // A panic elsewhere must not take the whole sandbox down with a poisoned lock.
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handle on a sandbox's state, for tests that want to look or interfere without HTTP.
/// Everything here is also reachable over the control API.
#[derive(Clone)]
pub struct SandboxState(Arc<Shared>);

impl SandboxState {
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.0.world().journal.clone()
    }

    /// The journal entries of one provider, oldest first.
    pub fn journal_of(&self, provider: Provider) -> Vec<JournalEntry> {
        self.journal()
            .into_iter()
            .filter(|e| e.provider == provider)
            .collect()
    }

    pub fn clear_journal(&self) {
        self.0.world().journal.clear();
    }

    /// Adds a fault rule; returns its id.
    pub fn inject(&self, fault: FaultSpec) -> u64 {
        control::add_fault(&mut self.0.world(), fault)
    }

    pub fn clear_faults(&self) {
        self.0.world().faults.clear();
    }

    /// Redeems a code as a customer of the provider would; returns the provider's view of it.
    pub fn redeem(
        &self,
        provider: Provider,
        redemption: &Redemption,
    ) -> Result<serde_json::Value, RedeemError> {
        control::redeem(&mut self.0.world(), provider, redemption)
    }

    /// Stores a Fynn coupon exactly as given (see `POST /_sandbox/fynn/raw_coupons`).
    pub fn insert_raw_fynn_coupon(&self, coupon: serde_json::Value) -> Option<serde_json::Value> {
        self.0.world().fynn.insert_raw(coupon)
    }

    /// Turns random write faults on (Some) or off (None).
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        self.0.world().chaos = chaos;
    }

    /// Every code the provider holds now (deactivated ones too, deleted ones not).
    pub fn held_codes(&self, provider: Provider) -> Vec<HeldCode> {
        let world = self.0.world();
        match provider {
            Provider::Flex => world.flex.held(),
            Provider::Fynn => world.fynn.held(),
            Provider::Whop => world.whop.held(),
            // new-provider: held
        }
    }

    /// Forgets every object, fault and journal entry.
    pub fn reset(&self) {
        *self.0.world() = World::default();
    }

    pub fn key(&self, provider: Provider) -> &str {
        self.0.config.key(provider)
    }
}

/// The operations of a provider's spec: (method, path template) -> operationId.
pub fn spec_operations(provider: Provider) -> anyhow::Result<Vec<(Method, String, String)>> {
    let spec: serde_json::Value = serde_yaml::from_str(provider.spec())
        .with_context(|| format!("openapi/{}.yaml does not parse", provider.name()))?;
    let paths = spec["paths"]
        .as_object()
        .with_context(|| format!("openapi/{}.yaml has no paths", provider.name()))?;
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes())
                .with_context(|| format!("bad method {method} in {}", provider.name()))?;
            let id = operation["operationId"]
                .as_str()
                .with_context(|| format!("{method} {path} has no operationId"))?;
            operations.push((method, path.clone(), id.to_string()));
        }
    }
    Ok(operations)
}

/// Builds the sandbox: its router, its generated OpenAPI document, and a handle on its state.
pub fn build(
    config: SandboxConfig,
) -> anyhow::Result<(axum::Router, utoipa::openapi::OpenApi, SandboxState)> {
    let mut operations = HashMap::new();
    for provider in Provider::ALL {
        for (method, path, id) in spec_operations(provider)? {
            operations.insert((provider, method, path), id);
        }
    }
    let shared = Arc::new(Shared {
        world: Mutex::new(World::default()),
        config,
        operations,
    });
    let provider_router = |provider: Provider, routes: OpenApiRouter<Arc<Shared>>| {
        routes.route_layer(axum::middleware::from_fn_with_state(
            (shared.clone(), provider),
            pipeline::provider_pipeline,
        ))
    };
    let router = OpenApiRouter::with_openapi(control::api_doc())
        .nest(
            Provider::Flex.mount(),
            provider_router(Provider::Flex, flex::routes()),
        )
        .nest(
            Provider::Fynn.mount(),
            provider_router(Provider::Fynn, fynn::routes()),
        )
        .nest(
            Provider::Whop.mount(),
            provider_router(Provider::Whop, whop::routes()),
        )
        // new-provider: routes
        .merge(control::routes());
    let (router, openapi) = router.split_for_parts();
    let doc = openapi.clone();
    let router = router
        .route(
            "/_sandbox/openapi.json",
            axum::routing::get(move || async move { axum::Json(doc) }),
        )
        .fallback(pipeline::no_such_route)
        .with_state(shared.clone());
    Ok((router, openapi, SandboxState(shared)))
}
