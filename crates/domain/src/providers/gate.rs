//! What every HTTP call to a provider passes first: its rate limit, when it has one.
//!
//! Until the service binds it to its database ([`Gate::share_on`]) a gate is the in-process
//! limiter and waits as long as it takes. Bound to PostgreSQL it is the deployment-wide
//! limiter (shared_limit.rs); bound to SQLite (one process by design) it stays in-process.
//! Bound either way, a wait longer than the bound is refused as a transient error, and so is
//! a database that does not answer: a call is never sent unlimited.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::time::Instant;

use super::limiter::{self, RateLimit, RateLimiter};
use super::shared_limit::{Refused, SharedLimiter};
use super::{ProviderError, RETRY_AFTER_CAP};
use crate::metrics::Metrics;
use crate::model::Provider;

#[derive(Clone, Debug, Default)]
pub struct Gate(Option<Arc<Limited>>);

#[derive(Debug)]
struct Limited {
    provider: Provider,
    limit: RateLimit,
    local: RateLimiter,
    metrics: Arc<Metrics>,
    bound: OnceLock<Binding>,
}

#[derive(Debug)]
struct Binding {
    /// None on SQLite.
    shared: Option<SharedLimiter>,
    max_wait: Duration,
}

/// Held for the length of one call.
#[derive(Debug)]
pub enum Permit<'a> {
    Unlimited,
    /// Held, never read: dropping it ends the call.
    Local(#[allow(dead_code)] limiter::Permit<'a>),
    /// The slot was spent when the call started; nothing to give back.
    Shared,
}

impl Gate {
    pub fn new(provider: Provider, limit: Option<RateLimit>, metrics: Arc<Metrics>) -> Self {
        Self(limit.map(|limit| {
            Arc::new(Limited {
                provider,
                limit,
                local: RateLimiter::new(limit),
                metrics,
                bound: OnceLock::new(),
            })
        }))
    }

    /// From now on the limit holds for every process on `db` (when PostgreSQL), and no call
    /// waits longer than `max_wait` for it. A gate is bound once; later calls change nothing.
    pub(crate) fn share_on(&self, db: &DatabaseConnection, max_wait: Duration) {
        if let Some(limited) = &self.0 {
            let _ = limited.bound.get_or_init(|| Binding {
                shared: SharedLimiter::on(db, limited.provider.as_str(), limited.limit),
                max_wait,
            });
        }
    }

    /// Waits for a place; hold what it returns until the call has ended.
    pub async fn pass(&self) -> Result<Permit<'_>, ProviderError> {
        let Some(limited) = &self.0 else {
            return Ok(Permit::Unlimited);
        };
        let started = Instant::now();
        let passed = limited.pass().await;
        limited.metrics.rate_limit_wait(
            limited.provider,
            started.elapsed(),
            passed.as_ref().err().map(|(reason, _)| *reason),
        );
        passed.map_err(|(_, error)| error)
    }
}

impl Limited {
    async fn pass(&self) -> Result<Permit<'_>, (&'static str, ProviderError)> {
        let Some(binding) = self.bound.get() else {
            return Ok(Permit::Local(self.local.acquire().await));
        };
        let max_wait = binding.max_wait;
        let refused = match &binding.shared {
            None => match tokio::time::timeout(max_wait, self.local.acquire()).await {
                Ok(permit) => return Ok(Permit::Local(permit)),
                Err(_) => Refused::TooLong { retry_after: None },
            },
            Some(shared) => match shared.wait_for_slot(max_wait).await {
                Ok(()) => return Ok(Permit::Shared),
                Err(refused) => refused,
            },
        };
        let (reason, message, retry_after) = match refused {
            Refused::TooLong { retry_after } => (
                "wait_too_long",
                format!(
                    "rate limited locally: no call within the limit of {}/{}s is free in {max_wait:?}; not sent",
                    self.limit.requests,
                    self.limit.per.as_secs()
                ),
                retry_after.map(|d| d.min(RETRY_AFTER_CAP)),
            ),
            Refused::Unavailable(why) => (
                "unavailable",
                format!("rate limiter unavailable ({why}); not sent"),
                None,
            ),
        };
        tracing::warn!(provider = %self.provider, %message, "provider call not sent");
        Err((
            reason,
            ProviderError {
                retry_after,
                ..ProviderError::transient(self.provider, message)
            },
        ))
    }
}
