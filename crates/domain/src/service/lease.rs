//! Holding a code: a short lease taken with one conditional UPDATE (`... WHERE version = ?
//! AND the lock is free`), so one change at a time works on a code in any process and no
//! transaction is held open across provider calls; the commit that stores a change only
//! lands while its lease token still holds the code.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::Value;

use super::{PromoService, conflict, not_found};
use crate::entity::{audit_log, promo_code, provider_link};
use crate::error::ServiceError;
use crate::model::{PromoCode, Provider, SyncState};
use crate::providers::ProviderError;
use crate::store;

impl PromoService {
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
        audit_log::Entity::insert(audit_log::ActiveModel {
            promo_code_id: Set(code.id.clone()),
            actor: Set(actor.to_string()),
            action: Set(action.to_string()),
            changes: Set(changes.to_string()),
            at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
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
}
