//! Holding a code: a short lease taken with one conditional UPDATE (`... WHERE version = ?
//! AND the lock is free`), so one change at a time works on a code in any process and no
//! transaction is held open across provider calls.
//!
//! While a holder works, [`Held`] renews the lease every third of its length, so a slow
//! provider or a long wait does not hand the code to someone else. Every write a holder makes
//! is fenced by its token: it renews the lease in the same transaction (`... WHERE lock_token
//! = mine`) and writes only when that matched, so a holder that lost its lease (a process
//! paused past it, a database out of reach during the renewals) can never overwrite what the
//! next holder decided.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TransactionTrait,
};
use serde_json::Value;

use super::{PromoService, conflict, not_found};
use crate::entity::{promo_code, provider_link};
use crate::error::ServiceError;
use crate::model::{PromoCode, Provider, SyncState};
use crate::providers::ProviderError;
use crate::store;

/// Attempts at storing a change the providers may already hold (100 ms, then 400 ms apart).
const COMMIT_TRIES: u32 = 3;

/// A lease this process holds on one code, renewed in the background while it lives. Dropping
/// it stops the renewals; it does not release the lease (a commit or `release` does, and an
/// abandoned lease expires on its own).
pub(crate) struct Held {
    lost: Arc<AtomicBool>,
    renewals: tokio::task::JoinHandle<()>,
}

impl Held {
    /// A renewal found another holder: whatever this one still does will not be stored.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewals.abort();
    }
}

/// Extends the lease on `id` if `token` still holds it; false when it does not (another holder
/// took it over, or the code is gone). Run inside a write's transaction, it is the fence.
pub(crate) async fn renew<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    token: &str,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let renewed = promo_code::Entity::update_many()
        .col_expr(promo_code::Column::LockedUntil, Expr::value(until))
        .filter(promo_code::Column::Id.eq(id))
        .filter(promo_code::Column::LockToken.eq(token))
        .exec(conn)
        .await?;
    Ok(renewed.rows_affected == 1)
}

impl PromoService {
    /// Keeps the lease `token` holds on `id` for as long as the answer lives.
    pub(crate) fn keep(&self, id: &str, token: &str) -> Held {
        let lost = Arc::new(AtomicBool::new(false));
        let (db, id, token, lease) = (
            self.db.clone(),
            id.to_string(),
            token.to_string(),
            self.config.lease,
        );
        let every = (lease / 3).max(StdDuration::from_millis(50));
        let flag = lost.clone();
        let renewals = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                ticks.tick().await;
                let until = Utc::now()
                    + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
                match renew(&db, &id, &token, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%id, "lost the lease on a code; this holder's outcome will not be stored");
                        flag.store(true, Ordering::Relaxed);
                        return;
                    }
                    // The next tick tries again; the lease lasts three ticks.
                    Err(error) => tracing::error!(%id, %error, "cannot renew a lease"),
                }
            }
        });
        Held { lost, renewals }
    }

    /// Runs `write` in a transaction that first renews the lease: it commits only while `token`
    /// still holds `id`, and answers false (writing nothing) when another holder has it.
    pub(crate) async fn fenced<F>(
        &self,
        id: &str,
        token: &str,
        write: F,
    ) -> Result<bool, ServiceError>
    where
        F: for<'t> FnOnce(
            &'t sea_orm::DatabaseTransaction,
        ) -> futures::future::BoxFuture<'t, Result<(), DbErr>>,
    {
        let txn = self.db.begin().await?;
        if !renew(&txn, id, token, self.lease_until(Utc::now())).await? {
            tracing::warn!(%id, "a write of a holder that lost its lease was not stored");
            return Ok(false);
        }
        write(&txn).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Stores the code's new state and its links, releases the lease and writes the audit row,
    /// in one transaction. Fails with VERSION_CONFLICT when the lease was lost meanwhile. The
    /// providers may already hold this state, so a database error is retried a few times
    /// (under the lease, which `Held` keeps) before it is given up; see `apply` for what then.
    pub(crate) async fn commit(
        &self,
        code: &PromoCode,
        token: &str,
        failures: Option<&BTreeMap<Provider, ProviderError>>,
        actor: &str,
        action: &str,
        changes: Value,
    ) -> Result<(), ServiceError> {
        let mut delay = StdDuration::from_millis(100);
        let mut tries = 1;
        loop {
            match self
                .commit_once(code, token, failures, actor, action, &changes)
                .await
            {
                Err(ServiceError::Internal(error)) if tries < COMMIT_TRIES => {
                    tracing::warn!(id = %code.id, %error, tries, "cannot store a change yet; trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    async fn commit_once(
        &self,
        code: &PromoCode,
        token: &str,
        failures: Option<&BTreeMap<Provider, ProviderError>>,
        actor: &str,
        action: &str,
        changes: &Value,
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
        let entry = crate::history::record(
            &txn,
            &code.id,
            actor,
            action,
            Some(code.version),
            changes.clone(),
        )
        .await?;
        txn.commit().await?;
        self.publish(crate::events::Event::committed(code, action, entry))
            .await;
        if code.providers.iter().any(|p| p.state == SyncState::Pending) {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Marks one provider link PENDING, due now, so the worker writes the stored state again.
    /// Fenced: only while `token` holds the code.
    pub(crate) async fn requeue(
        &self,
        id: &str,
        provider: Provider,
        token: &str,
    ) -> Result<(), ServiceError> {
        let (code_id, provider) = (id.to_string(), provider.as_str());
        self.fenced(id, token, |txn| {
            Box::pin(async move {
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
                    .filter(provider_link::Column::PromoCodeId.eq(code_id))
                    .filter(provider_link::Column::Provider.eq(provider))
                    .exec(txn)
                    .await?;
                Ok(())
            })
        })
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
