//! The promo-code service: validation first, then the provider writes (concurrently across
//! providers), then the stored state. One file per concern: `queries`, `create`, `change`
//! (update, archive), `lease` (holding a code, committing), `outbox` (the worker: retries,
//! recovery), `cleanup` (undos that failed, retried), `pull` (import, redemptions, provider-side changes), `drift` (resolving it).
//!
//! Concurrency: a change first takes a short lease on the code with a conditional UPDATE
//! (`... WHERE version = ? AND lock is free`), so exactly one request changes a code at a time
//! and no transaction is held open across provider calls. A create reserves its code the same
//! way: the row is stored at version 0 (hidden from reads) so the unique index settles races
//! before any provider is called.

mod change;
mod cleanup;
mod create;
mod drift;
mod lease;
mod notify;
mod outbox;
mod pull;
mod queries;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::error::{ErrorCode, ServiceError, UserError};
use crate::model::{ProviderSync, SyncState};
use crate::providers::{ProviderError, Providers, Remote};

pub use pull::{SYNC_LOCK_KEY, SyncReport, link_states};

/// The actor of changes the service makes on its own (recovery, imports).
const ACTOR: &str = "promohub-worker";

#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// How long a change may hold a code before others may take it over (a crashed request).
    pub lease: StdDuration,
    /// How long a change waits for another change of the same code to finish.
    pub lease_wait: StdDuration,
    /// First retry delay of a failed provider write; doubles per attempt, with jitter.
    pub retry_base: StdDuration,
    /// The longest retry delay (a longer Retry-After still wins).
    pub retry_cap: StdDuration,
    /// Attempts before a provider write is FAILED.
    pub max_attempts: i32,
    /// How often the background worker looks for due writes when nothing wakes it.
    pub poll_interval: StdDuration,
    /// How often the background worker pulls provider state; None never.
    pub sync_interval: Option<StdDuration>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            lease: StdDuration::from_secs(60),
            lease_wait: StdDuration::from_secs(15),
            retry_base: StdDuration::from_millis(500),
            retry_cap: StdDuration::from_secs(60),
            max_attempts: 10,
            poll_interval: StdDuration::from_millis(500),
            sync_interval: Some(StdDuration::from_secs(300)),
        }
    }
}

impl ServiceConfig {
    /// The delay before retry number `attempts + 1`: `base * 2^(attempts-1)` capped, with
    /// "equal jitter" (half fixed, half random) so retries of many codes spread out; a longer
    /// Retry-After wins.
    pub fn retry_delay(&self, attempts: i32, retry_after: Option<StdDuration>) -> StdDuration {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
        let backoff = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.retry_cap);
        let half = backoff / 2;
        let jitter = half.mul_f64(rand_fraction());
        let delay = half + jitter;
        match retry_after {
            Some(wanted) if wanted > delay => wanted,
            _ => delay,
        }
    }
}

/// A number in [0, 1) from the random part of a v4 UUID (no extra dependency).
fn rand_fraction() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[derive(Clone)]
pub struct PromoService {
    pub(crate) db: DatabaseConnection,
    pub(crate) providers: Arc<Providers>,
    pub(crate) config: ServiceConfig,
    /// Wakes the background worker when a write is left for it.
    pub(crate) wake: Arc<tokio::sync::Notify>,
    /// Held while a sync from providers runs in this process (see `sync_from_providers_alone`).
    pub(crate) sync_running: Arc<tokio::sync::Mutex<()>>,
    /// What changed, for subscribers (see `crate::events`).
    pub(crate) events: crate::events::Bus,
}

/// What came back from writing one provider.
pub(crate) enum Outcome {
    Done(Remote),
    Failed(ProviderError),
}

pub(crate) fn rejected(errors: &[ProviderError]) -> ServiceError {
    ServiceError::User(errors.iter().map(rejection).collect())
}

fn rejection(e: &ProviderError) -> UserError {
    if e.is_immutable() {
        UserError::new(
            &["input", "providers"],
            ErrorCode::ImmutableOnProvider,
            format!(
                "{} refuses any change to this code now: {}",
                e.provider, e.message
            ),
        )
    } else {
        UserError::new(
            &["input", "providers"],
            ErrorCode::ProviderRejected,
            format!("{} rejected the change: {}", e.provider, e.message),
        )
    }
}

/// A provider write that should have put something back and did not: what stays there.
pub(super) fn not_undone(e: &ProviderError, what: &str) -> UserError {
    let code = if e.is_immutable() {
        ErrorCode::ImmutableOnProvider
    } else {
        ErrorCode::ProviderRejected
    };
    UserError::new(
        &["input", "providers"],
        code,
        format!(
            "{}: {what} did not happen, so the provider still holds it: {}",
            e.provider, e.message
        ),
    )
}

pub(crate) fn not_found() -> ServiceError {
    UserError::new(&["id"], ErrorCode::NotFound, "no promo code has this id").into()
}

pub(super) fn conflict(message: &str) -> ServiceError {
    UserError::new(
        &["input", "expectedVersion"],
        ErrorCode::VersionConflict,
        message,
    )
    .into()
}

/// The provider link after one write attempt.
pub(crate) fn after_attempt(
    mut sync: ProviderSync,
    result: Result<Option<Remote>, &ProviderError>,
    now: DateTime<Utc>,
) -> ProviderSync {
    match result {
        Ok(remote) => {
            if let Some(remote) = remote {
                sync.external_id = Some(remote.external_id);
                sync.secondary_id = remote.secondary_id.or(sync.secondary_id);
                sync.times_redeemed = remote.times_redeemed;
            }
            sync.state = SyncState::Synced;
            sync.last_error = None;
            sync.attempts += 1;
            sync.synced_at = Some(now);
        }
        Err(error) => {
            sync.state = SyncState::Pending;
            sync.last_error = Some(error.message.clone());
            sync.attempts += 1;
        }
    }
    sync
}

impl PromoService {
    pub fn new(db: DatabaseConnection, providers: Providers, config: ServiceConfig) -> Self {
        // Rate limits hold for the whole deployment on PostgreSQL; a wait for one stays well
        // inside a lease (providers/gate.rs).
        providers.share_limits_on(&db, config.lease / 2);
        Self {
            events: crate::events::Bus::new(db.get_database_backend()),
            db,
            providers: Arc::new(providers),
            config,
            wake: Arc::new(tokio::sync::Notify::new()),
            sync_running: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    pub(crate) fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::minutes(1))
    }

    pub(crate) fn next_attempt(
        &self,
        now: DateTime<Utc>,
        attempts: i32,
        error: &ProviderError,
    ) -> DateTime<Utc> {
        // Retry-After is capped where it is read (providers::RETRY_AFTER_CAP) and the backoff
        // by retry_cap; the checked add is a second fence against a date out of range.
        let delay = self.config.retry_delay(attempts, error.retry_after);
        chrono::Duration::from_std(delay)
            .ok()
            .and_then(|delay| now.checked_add_signed(delay))
            .unwrap_or(now + chrono::Duration::hours(1))
    }
}
