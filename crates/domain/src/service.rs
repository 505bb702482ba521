//! The promo-code service: validation first, then the provider writes (concurrently across
//! providers), then the stored state.
//!
//! Concurrency: a change first takes a short lease on the code with a conditional UPDATE
//! (`... WHERE version = ? AND lock is free`), so exactly one request changes a code at a time
//! and no transaction is held open across provider calls. A create reserves its code the same
//! way: the row is stored at version 0 (hidden from reads) so the unique index settles races
//! before any provider is called.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, SqlErr, TransactionTrait,
};
use serde_json::{Value, json};

use crate::entity::{audit_log, promo_code, provider_link};
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::model::{
    CreatePromoCodeInput, InvalidReason, PromoCode, PromoCodeStatus, Provider, ProviderSync,
    SyncState, UpdatePromoCodeInput, Validation,
};
use crate::providers::{ProviderError, Providers, Remote};
use crate::rules;
use crate::store;

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
    if e.immutable {
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
fn not_undone(e: &ProviderError, what: &str) -> UserError {
    let code = if e.immutable {
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

fn conflict(message: &str) -> ServiceError {
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

/// The PostgreSQL advisory lock held while a sync from providers runs ("promosyn" in ASCII).
pub const SYNC_LOCK_KEY: i64 = 0x7072_6f6d_6f73_796e;

impl PromoService {
    pub fn new(db: DatabaseConnection, providers: Providers, config: ServiceConfig) -> Self {
        Self {
            db,
            providers: Arc::new(providers),
            config,
            wake: Arc::new(tokio::sync::Notify::new()),
            sync_running: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// `sync_from_providers`, unless one is already running (a caller's or the periodic one):
    /// then None at once, without waiting. In this process a mutex tells; on PostgreSQL an
    /// advisory lock (`SYNC_LOCK_KEY`, held by a transaction for the sync's duration) tells
    /// across every process on the database too.
    pub async fn sync_from_providers_alone(
        &self,
        provider: Option<crate::model::Provider>,
    ) -> Option<Result<crate::sync::SyncReport, crate::error::ServiceError>> {
        use sea_orm::ConnectionTrait;
        let _running = self.sync_running.try_lock().ok()?;
        let fence = if self.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            let taken = async {
                let txn = self.db.begin().await?;
                let row = txn
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        format!("SELECT pg_try_advisory_xact_lock({SYNC_LOCK_KEY}) AS taken"),
                    ))
                    .await?;
                let taken = row.map(|r| r.try_get::<bool>("", "taken")).transpose()?;
                Ok::<_, sea_orm::DbErr>((txn, taken == Some(true)))
            };
            match taken.await {
                Ok((txn, true)) => Some(txn),
                Ok((_, false)) => return None,
                Err(error) => return Some(Err(error.into())),
            }
        } else {
            None
        };
        let report = self.sync_from_providers(provider).await;
        if let Some(txn) = fence {
            // Ends the transaction, and with it the lock.
            let _ = txn.rollback().await;
        }
        Some(report)
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

    // -----------------------------------------------------------------------------------------
    // Reads: straight from the database, never waiting on a provider.

    pub async fn get(&self, id: &str) -> Result<Option<PromoCode>, ServiceError> {
        let row = promo_code::Entity::find_by_id(id.to_string())
            .filter(promo_code::Column::Version.gte(1))
            .one(&self.db)
            .await?;
        self.with_links(row).await
    }

    pub async fn get_by_code(&self, code: &str) -> Result<Option<PromoCode>, ServiceError> {
        let row = promo_code::Entity::find()
            .filter(promo_code::Column::CodeKey.eq(code.to_lowercase()))
            .filter(promo_code::Column::Version.gte(1))
            .one(&self.db)
            .await?;
        self.with_links(row).await
    }

    async fn with_links(
        &self,
        row: Option<promo_code::Model>,
    ) -> Result<Option<PromoCode>, ServiceError> {
        let Some(row) = row else {
            return Ok(None);
        };
        let links = store::links_of(&self.db, std::slice::from_ref(&row.id)).await?;
        Ok(Some(store::to_model(row, &links)?))
    }

    /// Can this code be redeemed now (optionally on one provider, for one plan, by one
    /// customer)? Answered from the database.
    pub async fn validate(
        &self,
        code: &str,
        provider: Option<Provider>,
        plan_id: Option<&str>,
        customer_id: Option<&str>,
    ) -> Result<Validation, ServiceError> {
        let Some(found) = self.get_by_code(code).await? else {
            return Ok(Validation {
                promo_code: None,
                invalid: Some(InvalidReason::NotFound),
            });
        };
        let restrictions = &found.restrictions;
        let invalid = if found.status == PromoCodeStatus::Archived {
            Some(InvalidReason::Archived)
        } else if found.status == PromoCodeStatus::Inactive {
            Some(InvalidReason::Inactive)
        } else if found.expires_at.is_some_and(|at| at <= Utc::now()) {
            Some(InvalidReason::Expired)
        } else if found
            .max_redemptions
            .is_some_and(|max| found.times_redeemed >= max)
        {
            Some(InvalidReason::Exhausted)
        } else if provider.is_some_and(|p| found.provider(p).is_none()) {
            Some(InvalidReason::NotOnProvider)
        } else if provider
            .and_then(|p| found.provider(p))
            .is_some_and(|l| l.state == SyncState::DisabledOnProvider)
        {
            Some(InvalidReason::DisabledOnProvider)
        } else if provider
            .and_then(|p| found.provider(p))
            .is_some_and(|l| l.state == SyncState::DeletedOnProvider)
        {
            Some(InvalidReason::DeletedOnProvider)
        } else if plan_id.is_some_and(|plan| {
            !restrictions.plan_ids.is_empty() && !restrictions.plan_ids.iter().any(|p| p == plan)
        }) {
            Some(InvalidReason::PlanNotEligible)
        } else if restrictions
            .customer_id
            .as_deref()
            .is_some_and(|only| customer_id != Some(only))
        {
            Some(InvalidReason::CustomerNotEligible)
        } else {
            None
        };
        Ok(Validation {
            promo_code: Some(found),
            invalid,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Changes

    /// Creates a code here and on every provider named. A permanent rejection by any provider
    /// undoes the others and stores nothing; a transient failure leaves that provider PENDING.
    pub async fn create(
        &self,
        input: CreatePromoCodeInput,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let now = Utc::now();
        let new = rules::validate_create(&input, now).map_err(ServiceError::User)?;
        let missing: Vec<UserError> = new
            .providers
            .iter()
            .filter(|p| !self.providers.is_configured(**p))
            .map(|p| {
                UserError::new(
                    &["input", "providers"],
                    ErrorCode::NotConfigured,
                    format!("{p} is not configured on this server"),
                )
            })
            .collect();
        if !missing.is_empty() {
            return Err(ServiceError::User(missing));
        }
        let code = PromoCode {
            id: uuid::Uuid::new_v4().to_string(),
            code: new.code,
            name: new.name,
            status: PromoCodeStatus::Active,
            discount: new.discount,
            duration: new.duration,
            max_redemptions: new.max_redemptions,
            max_redemptions_per_customer: new.max_redemptions_per_customer,
            times_redeemed: 0,
            expires_at: new.expires_at,
            restrictions: new.restrictions,
            metadata: new.metadata,
            providers: new
                .providers
                .iter()
                .map(|&provider| ProviderSync {
                    provider,
                    external_id: None,
                    secondary_id: None,
                    state: SyncState::Pending,
                    last_error: None,
                    attempts: 0,
                    synced_at: None,
                    times_redeemed: 0,
                })
                .collect(),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let token = uuid::Uuid::new_v4().to_string();
        self.reserve(&code, &token, now).await?;
        let outcomes = self.create_everywhere(&code, false).await;
        self.settle_create(code, &token, outcomes, actor).await
    }

    /// Creates the code on each of its providers at once. `again` when an earlier attempt may
    /// have landed: then a copy already there is adopted rather than duplicated.
    pub(crate) async fn create_everywhere(
        &self,
        code: &PromoCode,
        again: bool,
    ) -> Vec<(Provider, Outcome)> {
        join_all(code.providers.iter().map(|sync| async {
            let outcome = match self.providers.get(sync.provider) {
                Some(adapter) => {
                    let created = if again {
                        adapter.create_again(code).await
                    } else {
                        adapter.create(code).await
                    };
                    match created {
                        Ok(remote) => Outcome::Done(remote),
                        Err(error) => Outcome::Failed(error),
                    }
                }
                None => Outcome::Failed(ProviderError {
                    transient: true,
                    ..ProviderError::permanent(sync.provider, "not configured on this server")
                }),
            };
            (sync.provider, outcome)
        }))
        .await
    }

    /// After the provider creates: undoes everything on a permanent rejection, else stores
    /// the code as visible (version 1) with each provider SYNCED or PENDING.
    pub(crate) async fn settle_create(
        &self,
        mut code: PromoCode,
        token: &str,
        outcomes: Vec<(Provider, Outcome)>,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let permanent: Vec<ProviderError> = outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Failed(e) if !e.transient => Some(e.clone()),
                _ => None,
            })
            .collect();
        if !permanent.is_empty() {
            let not_undone = self.undo_create(&code, &outcomes, actor).await;
            self.forget(&code.id).await?;
            let mut errors = rejected(&permanent).user_errors().to_vec();
            errors.extend(not_undone);
            return Err(ServiceError::User(errors));
        }

        let now = Utc::now();
        let mut failures = BTreeMap::new();
        for (provider, outcome) in outcomes {
            if let Some(sync) = code.providers.iter_mut().find(|s| s.provider == provider) {
                *sync = match outcome {
                    Outcome::Done(remote) => after_attempt(sync.clone(), Ok(Some(remote)), now),
                    Outcome::Failed(error) => {
                        tracing::warn!(code = %code.code, %provider, error = %error.message,
                            "provider write failed for now; it will be retried");
                        let updated = after_attempt(sync.clone(), Err(&error), now);
                        failures.insert(provider, error);
                        updated
                    }
                };
            }
        }
        code.version = 1;
        code.times_redeemed = code.providers.iter().map(|p| p.times_redeemed).sum();
        let changes = crate::history::created(&code);
        self.commit(&code, token, Some(&failures), actor, "create", changes)
            .await?;
        Ok(self.read_back(code).await)
    }

    /// The stored code after a commit. The change is durable by now, so a failure to read it
    /// back must not turn the answer into an error: the committed copy in hand is answered.
    async fn read_back(&self, committed: PromoCode) -> PromoCode {
        match self.get(&committed.id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => {
                tracing::error!(id = %committed.id, "a committed code is not visible; answering the committed copy");
                committed
            }
            Err(error) => {
                tracing::error!(id = %committed.id, %error, "cannot read back a committed code; answering the committed copy");
                committed
            }
        }
    }

    /// Stores the code at version 0 under a lease, claiming its code in the unique index.
    async fn reserve(
        &self,
        code: &PromoCode,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        // A reservation whose request died long ago must not hold the code for ever.
        let stale = promo_code::Entity::find()
            .filter(promo_code::Column::CodeKey.eq(code.code.to_lowercase()))
            .filter(promo_code::Column::Version.eq(0))
            .filter(promo_code::Column::LockedUntil.lt(now))
            .one(&self.db)
            .await?;
        if let Some(stale) = stale {
            tracing::warn!(code = %stale.code, "reclaiming an abandoned create");
            self.forget(&stale.id).await?;
        }
        let txn = self.db.begin().await?;
        let inserted = promo_code::Entity::insert(store::to_active(
            code,
            Some(token.to_string()),
            Some(self.lease_until(now)),
        ))
        .exec_without_returning(&txn)
        .await;
        if let Err(error) = inserted {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => UserError::new(
                    &["input", "code"],
                    ErrorCode::DuplicateCode,
                    format!(
                        "a promo code {:?} already exists (codes ignore case)",
                        code.code
                    ),
                )
                .into(),
                _ => error.into(),
            });
        }
        for sync in &code.providers {
            provider_link::Entity::insert(store::link_to_active(&code.id, sync, 0))
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Deletes a code that never became visible (a rejected create).
    pub(crate) async fn forget(&self, id: &str) -> Result<(), ServiceError> {
        let txn = self.db.begin().await?;
        provider_link::Entity::delete_many()
            .filter(provider_link::Column::PromoCodeId.eq(id))
            .exec(&txn)
            .await?;
        promo_code::Entity::delete_many()
            .filter(promo_code::Column::Id.eq(id))
            .filter(promo_code::Column::Version.eq(0))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// After a permanent rejection, leaves no active copy anywhere: retires what was created,
    /// and looks for a copy where the outcome is unknown (a timeout may still have landed).
    ///
    /// An undo that fails is answered (a user error saying what the provider still holds) and
    /// recorded in the audit log under the code's id, besides the log line.
    pub(crate) async fn undo_create(
        &self,
        code: &PromoCode,
        outcomes: &[(Provider, Outcome)],
        actor: &str,
    ) -> Vec<UserError> {
        let failed = join_all(outcomes.iter().map(|(provider, outcome)| async move {
            let adapter = self.providers.get(*provider)?;
            let remote = match outcome {
                Outcome::Done(remote) => Some(remote.clone()),
                Outcome::Failed(e) if e.transient => match adapter.find(code).await {
                    Ok(found) => found,
                    Err(error) => {
                        tracing::error!(code = %code.code, %provider, error = %error.message,
                            "cannot check for a copy left by a rejected create");
                        // Unknown whether a copy is there: reported like a failed undo.
                        let unknown = Remote {
                            external_id: "unknown (the look-up failed)".to_string(),
                            secondary_id: None,
                            times_redeemed: 0,
                        };
                        return Some((unknown, error));
                    }
                },
                Outcome::Failed(_) => None,
            };
            let remote = remote?;
            let error = adapter.retire(&remote).await.err()?;
            tracing::error!(code = %code.code, %provider, error = %error.message,
                "cannot undo the create of a rejected code");
            Some((remote, error))
        }))
        .await;
        let mut errors = Vec::new();
        for (remote, error) in failed.into_iter().flatten() {
            let audit = audit_log::Entity::insert(audit_log::ActiveModel {
                promo_code_id: Set(code.id.clone()),
                actor: Set(actor.to_string()),
                action: Set("undo_failed".to_string()),
                changes: Set(json!({
                    "code": code.code, "provider": error.provider,
                    "external_id": remote.external_id, "error": error.message,
                })
                .to_string()),
                at: Set(Utc::now()),
                ..Default::default()
            })
            .exec_without_returning(&self.db)
            .await;
            if let Err(db_error) = audit {
                tracing::error!(%db_error, "cannot record a failed undo in the audit log");
            }
            errors.push(not_undone(
                &error,
                &format!(
                    "undoing the create of {} ({})",
                    code.code, remote.external_id
                ),
            ));
        }
        errors
    }

    /// Stores the code's new state and its links, releases the lease and writes the audit row,
    /// in one transaction. Fails with VERSION_CONFLICT when the lease was lost meanwhile.
    pub(crate) async fn commit(
        &self,
        code: &PromoCode,
        token: &str,
        failures: Option<&BTreeMap<Provider, ProviderError>>,
        actor: &str,
        action: &str,
        changes: Value,
    ) -> Result<(), ServiceError> {
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let mut row = store::to_active(code, None, None);
        row.updated_at = Set(now);
        let updated = promo_code::Entity::update_many()
            .set(row)
            .filter(promo_code::Column::Id.eq(code.id.as_str()))
            .filter(promo_code::Column::LockToken.eq(token))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(conflict(
                "another change took over this code; reload and retry",
            ));
        }
        for sync in &code.providers {
            let mut link = store::link_to_active(
                &code.id,
                sync,
                if sync.state == SyncState::Synced {
                    code.version
                } else {
                    0
                },
            );
            if let Some(error) = failures.and_then(|f| f.get(&sync.provider)) {
                link.next_attempt_at = Set(Some(self.next_attempt(now, sync.attempts, error)));
            } else if sync.state == SyncState::Pending {
                link.next_attempt_at = Set(Some(now));
            }
            provider_link::Entity::update(link).exec(&txn).await?;
        }
        crate::history::record(&txn, &code.id, actor, action, Some(code.version), changes).await?;
        txn.commit().await?;
        if code.providers.iter().any(|p| p.state == SyncState::Pending) {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Marks one provider link PENDING, due now, so the worker writes the stored state again.
    pub(crate) async fn requeue(&self, id: &str, provider: Provider) -> Result<(), ServiceError> {
        provider_link::Entity::update_many()
            .col_expr(
                provider_link::Column::State,
                Expr::value(SyncState::Pending.as_str()),
            )
            .col_expr(provider_link::Column::Attempts, Expr::value(0))
            .col_expr(
                provider_link::Column::NextAttemptAt,
                Expr::value(Utc::now()),
            )
            .filter(provider_link::Column::PromoCodeId.eq(id))
            .filter(provider_link::Column::Provider.eq(provider.as_str()))
            .exec(&self.db)
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Takes the lease on a visible code, waiting a while if another change holds it. With
    /// `expected`, the code must be at that version once it is free.
    pub(crate) async fn lease(
        &self,
        id: &str,
        expected: Option<i64>,
        token: &str,
    ) -> Result<PromoCode, ServiceError> {
        let deadline = tokio::time::Instant::now() + self.config.lease_wait;
        loop {
            let current = self.get(id).await?.ok_or_else(not_found)?;
            if expected.is_some_and(|v| v != current.version) {
                return Err(conflict(&format!(
                    "the code is at version {}, not the expected one",
                    current.version
                )));
            }
            if self.try_lease(id, Some(current.version), token).await? {
                return Ok(current);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(conflict(
                    "another change to this code is still in progress; reload and retry",
                ));
            }
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }

    /// Takes the lease if it is free (or expired), at `version` when given. One conditional
    /// UPDATE: of any number of requests and workers, in any process, one wins.
    pub(crate) async fn try_lease(
        &self,
        id: &str,
        version: Option<i64>,
        token: &str,
    ) -> Result<bool, ServiceError> {
        let now = Utc::now();
        let mut update = promo_code::Entity::update_many()
            .col_expr(promo_code::Column::LockToken, Expr::value(token))
            .col_expr(
                promo_code::Column::LockedUntil,
                Expr::value(self.lease_until(now)),
            )
            .filter(promo_code::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(promo_code::Column::LockToken.is_null())
                    .add(promo_code::Column::LockedUntil.lt(now)),
            );
        if let Some(version) = version {
            update = update.filter(promo_code::Column::Version.eq(version));
        }
        Ok(update.exec(&self.db).await?.rows_affected == 1)
    }

    pub(crate) async fn release(&self, id: &str, token: &str) {
        let released = promo_code::Entity::update_many()
            .col_expr(
                promo_code::Column::LockToken,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                promo_code::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(promo_code::Column::Id.eq(id))
            .filter(promo_code::Column::LockToken.eq(token))
            .exec(&self.db)
            .await;
        if let Err(error) = released {
            // The lease expires on its own; nothing is lost, changes wait a little longer.
            tracing::error!(%id, %error, "cannot release a lease");
        }
    }

    /// Changes the fields given. Fields a provider of the code cannot change give IMMUTABLE;
    /// a permanent rejection by a provider changes nothing here.
    pub async fn update(
        &self,
        id: &str,
        input: UpdatePromoCodeInput,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let token = uuid::Uuid::new_v4().to_string();
        let current = self.lease(id, input.expected_version, &token).await?;
        let result = match rules::validate_update(&current, &input, Utc::now()) {
            Ok(next) => self.apply(current, next, &token, actor, "update").await,
            Err(errors) => Err(ServiceError::User(errors)),
        };
        if result.is_err() {
            self.release(id, &token).await;
        }
        result
    }

    /// Archives the code here and retires it on every provider it lives on.
    pub async fn archive(&self, id: &str, actor: &str) -> Result<PromoCode, ServiceError> {
        let token = uuid::Uuid::new_v4().to_string();
        let current = self.lease(id, None, &token).await?;
        let result = if current.status == PromoCodeStatus::Archived {
            Err(UserError::new(&["id"], ErrorCode::Archived, "the code is already archived").into())
        } else {
            let mut next = current.clone();
            next.status = PromoCodeStatus::Archived;
            self.apply(current, next, &token, actor, "archive").await
        };
        if result.is_err() {
            self.release(id, &token).await;
        }
        result
    }

    /// Writes `next` to the providers whose part of the code changed, then stores it.
    async fn apply(
        &self,
        current: PromoCode,
        next: PromoCode,
        token: &str,
        actor: &str,
        action: &str,
    ) -> Result<PromoCode, ServiceError> {
        let changes = rules::diff(&current, &next);
        if changes.is_empty() {
            self.release(&current.id, token).await;
            return Ok(current);
        }
        let touches = |provider: Provider| {
            changes
                .keys()
                .any(|field| field != "name" || provider != Provider::Whop)
        };
        // Providers still waiting for their create get the latest state when it is retried.
        let targets: Vec<&ProviderSync> = current
            .providers
            .iter()
            // A code a sync found deleted on a provider is not written there by an update (it
            // would only fail): it stays DELETED_ON_PROVIDER until resolveDrift settles it.
            .filter(|s| s.state != SyncState::DeletedOnProvider)
            .filter(|s| s.external_id.is_some() && touches(s.provider))
            .collect();
        let results = join_all(targets.iter().map(|sync| async {
            let result = match self.providers.get(sync.provider) {
                Some(adapter) => adapter.push(sync, &next).await,
                None => Err(ProviderError {
                    transient: true,
                    ..ProviderError::permanent(sync.provider, "not configured on this server")
                }),
            };
            (sync.provider, result)
        }))
        .await;

        let permanent: Vec<ProviderError> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().filter(|e| !e.transient).cloned())
            .collect();
        if !permanent.is_empty() {
            // Put back what the other providers already took, so nothing changed anywhere.
            let current = &current;
            let mut reverts = Vec::new();
            for (provider, result) in &results {
                if let (Ok(()), Some(sync), Some(adapter)) = (
                    result,
                    current.provider(*provider),
                    self.providers.get(*provider),
                ) {
                    reverts.push(async move {
                        let error = adapter.push(sync, current).await.err()?;
                        tracing::error!(code = %current.code, %provider, error = %error.message,
                            "cannot revert a provider after another rejected the change");
                        Some(error)
                    });
                }
            }
            let failed_reverts: Vec<ProviderError> =
                join_all(reverts).await.into_iter().flatten().collect();
            let mut errors = rejected(&permanent).user_errors().to_vec();
            errors.extend(
                failed_reverts
                    .iter()
                    .map(|e| not_undone(e, "putting back the previous state after the rejection")),
            );
            if !failed_reverts.is_empty() {
                // The provider holds the change PromoHub refused: re-queue it to converge.
                for e in &failed_reverts {
                    self.requeue(&current.id, e.provider).await?;
                }
            }
            return Err(ServiceError::User(errors));
        }

        let now = Utc::now();
        let mut stored = next;
        stored.version = current.version + 1;
        let mut failures = BTreeMap::new();
        for (provider, result) in results {
            if let Some(sync) = stored.providers.iter_mut().find(|s| s.provider == provider) {
                // Attempts count for the latest change: this one starts from none.
                let fresh = ProviderSync {
                    attempts: 0,
                    ..sync.clone()
                };
                *sync = after_attempt(fresh, result.as_ref().map(|()| None), now);
            }
            if let Err(error) = result {
                tracing::warn!(code = %stored.code, %provider, error = %error.message,
                    "provider write failed for now; it will be retried");
                failures.insert(provider, error);
            }
        }
        self.commit(
            &stored,
            token,
            Some(&failures),
            actor,
            action,
            Value::Object(changes),
        )
        .await?;
        Ok(self.read_back(stored).await)
    }
}
