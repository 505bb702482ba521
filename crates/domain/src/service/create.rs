//! Creating a code: validate, reserve the code (version 0, hidden, under a lease) so the
//! unique index settles races before any provider is called, create it on every provider at
//! once, then settle: visible with each provider SYNCED or PENDING, or undone everywhere on a
//! permanent rejection.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, SqlErr, TransactionTrait};
use serde_json::json;

use super::{Outcome, PromoService, after_attempt, not_undone, rejected};
use crate::entity::{promo_code, provider_link};
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::model::{CreatePromoCodeInput, PromoCode, Provider};
use crate::providers::ProviderError;
use crate::store;

impl PromoService {
    /// Creates a code here and on every provider named. A permanent rejection by any provider
    /// undoes the others and stores nothing; a transient failure leaves that provider PENDING.
    pub async fn create(
        &self,
        input: CreatePromoCodeInput,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let now = Utc::now();
        let new = crate::rules::validate_create(&input, now).map_err(ServiceError::User)?;
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
        let code = new.into_code(uuid::Uuid::new_v4().to_string(), now);
        let token = uuid::Uuid::new_v4().to_string();
        self.reserve(&code, &token, now).await?;
        let _held = self.keep(&code.id, &token);
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
                None => Outcome::Failed(ProviderError::not_configured(sync.provider)),
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
                Outcome::Failed(e) if !e.is_transient() => Some(e.clone()),
                _ => None,
            })
            .collect();
        if !permanent.is_empty() {
            let not_undone = self.undo_create(&code, &outcomes, actor).await;
            self.forget(&code.id, token).await?;
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
    pub(super) async fn read_back(&self, committed: PromoCode) -> PromoCode {
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
            let reclaim = uuid::Uuid::new_v4().to_string();
            if self.try_lease(&stale.id, Some(0), &reclaim).await? {
                tracing::warn!(code = %stale.code, "reclaiming an abandoned create");
                self.forget(&stale.id, &reclaim).await?;
            }
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
    /// Fenced: only while `token` holds it (else nothing is deleted).
    pub(crate) async fn forget(&self, id: &str, token: &str) -> Result<(), ServiceError> {
        let txn = self.db.begin().await?;
        provider_link::Entity::delete_many()
            .filter(provider_link::Column::PromoCodeId.eq(id))
            .exec(&txn)
            .await?;
        let deleted = promo_code::Entity::delete_many()
            .filter(promo_code::Column::Id.eq(id))
            .filter(promo_code::Column::Version.eq(0))
            .filter(promo_code::Column::LockToken.eq(token))
            .exec(&txn)
            .await?;
        if deleted.rows_affected != 1 {
            // Another holder has it now (the transaction rolls back): theirs to settle.
            tracing::warn!(%id, "a rejected create is held by another holder now; left to it");
            return Ok(());
        }
        txn.commit().await?;
        Ok(())
    }

    /// After a permanent rejection, leaves no active copy anywhere: retires what was created,
    /// and looks for a copy where the outcome is unknown (a timeout may still have landed).
    ///
    /// An undo that fails is answered (a user error saying what the provider still holds),
    /// recorded in the audit log under the code's id, and queued: the worker retries it
    /// (`cleanup.rs`) while the failure may pass.
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
                Outcome::Failed(e) if e.is_transient() => match adapter.find(code).await {
                    Ok(found) => found,
                    Err(error) => {
                        tracing::error!(code = %code.code, %provider, error = %error.message,
                            "cannot check for a copy left by a rejected create");
                        // Unknown whether a copy is there: reported like a failed undo.
                        return Some((None, error));
                    }
                },
                Outcome::Failed(_) => None,
            };
            let remote = remote?;
            let error = adapter.retire(&remote).await.err()?;
            tracing::error!(code = %code.code, %provider, error = %error.message,
                "cannot undo the create of a rejected code");
            Some((Some(remote), error))
        }))
        .await;
        let mut errors = Vec::new();
        for (remote, error) in failed.into_iter().flatten() {
            let external_id = remote.as_ref().map_or_else(
                || "unknown: the look-up failed".to_string(),
                |r| r.external_id.clone(),
            );
            let changes = json!({
                "code": code.code, "provider": error.provider,
                "external_id": external_id, "error": error.message,
            });
            let audit =
                crate::history::record(&self.db, &code.id, actor, "undo_failed", None, changes)
                    .await;
            if let Err(db_error) = audit {
                tracing::error!(%db_error, "cannot record a failed undo in the audit log");
            }
            let queued = match self.queue_cleanup(code, remote.as_ref(), &error).await {
                Ok(()) if error.is_transient() => "; PromoHub keeps trying to retire it",
                Ok(()) => "",
                Err(db_error) => {
                    tracing::error!(%db_error, "cannot queue a failed undo for retry");
                    ""
                }
            };
            let mut reported = not_undone(
                &error,
                &format!("undoing the create of {} ({external_id})", code.code),
            );
            reported.message.push_str(queued);
            errors.push(reported);
        }
        errors
    }
}
