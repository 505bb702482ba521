//! The background half of write-through: the outbox worker retries provider writes until
//! SYNCED or FAILED (backoff in `ServiceConfig::retry_delay`), finishes what a crashed process
//! left, and runs the periodic pull.
//!
//! Every provider write happens under the code's lease (see `lease.rs`), the same one API
//! changes take: however many `promohub` processes share a database, one of them at a time
//! works on a code, and a write is re-checked as still due once the lease is held. Nothing here
//! needs `SELECT ... FOR UPDATE`, so SQLite and PostgreSQL behave alike.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use sea_orm::ActiveValue::Set;
use sea_orm::PaginatorTrait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::lease::Held;
use super::{ACTOR, PromoService, after_attempt, not_found};
use crate::entity::{promo_code, provider_link};
use crate::error::ServiceError;
use crate::events::Event;
use crate::model::{PromoCode, ProviderSync, SyncState};
use crate::providers::{ProviderError, Remote};
use crate::store;

/// How many codes one worker pass works on at once.
const PARALLEL_CODES: usize = 8;

impl PromoService {
    /// Provider writes waiting for a retry (the outbox depth).
    pub async fn pending_writes(&self) -> Result<u64, ServiceError> {
        Ok(provider_link::Entity::find()
            .filter(provider_link::Column::State.eq(SyncState::Pending.as_str()))
            .count(&self.db)
            .await?)
    }

    /// One pass over the provider writes that are due; returns how many were attempted.
    pub async fn run_due_writes(&self) -> Result<usize, ServiceError> {
        let due = provider_link::Entity::find()
            .filter(provider_link::Column::State.eq(SyncState::Pending.as_str()))
            .filter(provider_link::Column::NextAttemptAt.lte(Utc::now()))
            .order_by_asc(provider_link::Column::NextAttemptAt)
            .limit(500)
            .all(&self.db)
            .await?;
        let codes: BTreeSet<String> = due.into_iter().map(|l| l.promo_code_id).collect();
        let results: Vec<Result<usize, ServiceError>> = futures::stream::iter(codes)
            .map(|id| async move { self.retry_code(&id).await })
            .buffer_unordered(PARALLEL_CODES)
            .collect()
            .await;
        let mut attempted = 0;
        for result in results {
            attempted += result?;
        }
        Ok(attempted)
    }

    /// Retries the due writes of one code, if no one else is working on it.
    async fn retry_code(&self, id: &str) -> Result<usize, ServiceError> {
        let token = uuid::Uuid::new_v4().to_string();
        if !self.try_lease(id, None, &token).await? {
            return Ok(0);
        }
        let held = self.keep(id, &token);
        let result = self.retry_leased(id, &token, &held).await;
        self.release(id, &token).await;
        result
    }

    async fn retry_leased(
        &self,
        id: &str,
        token: &str,
        held: &Held,
    ) -> Result<usize, ServiceError> {
        let Some(code) = self.get(id).await? else {
            return Ok(0);
        };
        // Re-read under the lease: another worker may have done these a moment ago.
        let due = provider_link::Entity::find()
            .filter(provider_link::Column::PromoCodeId.eq(id))
            .filter(provider_link::Column::State.eq(SyncState::Pending.as_str()))
            .filter(provider_link::Column::NextAttemptAt.lte(Utc::now()))
            .all(&self.db)
            .await?;
        let code = &code;
        let attempts = futures::future::join_all(due.iter().map(|link| async move {
            let sync = store::link_to_model(link)?;
            if held.is_lost() {
                // Another holder works on the code now; it writes what is due itself.
                return Ok(());
            }
            let result = match self.providers.get(sync.provider) {
                None => Err(ProviderError::not_configured(sync.provider)),
                // Never tried (a bulk job's code): a plain create, one call, no look-up.
                Some(adapter) if sync.external_id.is_none() && never_tried(&sync) => {
                    match adapter.create(code).await {
                        Err(e) if !e.is_transient() => {
                            self.adopt_or_create(adapter, code, &sync).await
                        }
                        created => created.map(Some),
                    }
                }
                Some(adapter) if sync.external_id.is_none() => {
                    self.adopt_or_create(adapter, code, &sync).await
                }
                Some(adapter) => adapter.push(&sync, code).await.map(|()| None),
            };
            self.record_attempt(code, token, sync, link.synced_version, result)
                .await
        }))
        .await;
        let attempted = attempts.len();
        for attempt in attempts {
            attempt?;
        }
        self.refresh_times_redeemed(id).await?;
        Ok(attempted)
    }

    /// A create after an attempt that may have landed: adopts the provider's copy (brought up
    /// to date) or creates it.
    async fn adopt_or_create(
        &self,
        adapter: &crate::providers::Adapter,
        code: &PromoCode,
        sync: &ProviderSync,
    ) -> Result<Option<Remote>, ProviderError> {
        match adapter.create_again(code).await {
            // An adopted copy may hold an older state: bring it up to date.
            Ok(remote) => {
                let adopted = ProviderSync {
                    external_id: Some(remote.external_id.clone()),
                    secondary_id: remote.secondary_id.clone(),
                    times_redeemed: remote.times_redeemed,
                    ..sync.clone()
                };
                adapter.push(&adopted, code).await.map(|()| Some(remote))
            }
            Err(e) => Err(e),
        }
    }

    /// Stores the outcome of one background attempt on a provider link, fenced by the lease.
    async fn record_attempt(
        &self,
        code: &PromoCode,
        token: &str,
        sync: ProviderSync,
        synced_version: i64,
        result: Result<Option<Remote>, ProviderError>,
    ) -> Result<(), ServiceError> {
        let now = Utc::now();
        let provider = sync.provider;
        let metrics = self.providers.metrics();
        let mut next_attempt = None;
        let (updated, version) = match &result {
            Ok(remote) => {
                metrics.write_attempt(provider, "synced");
                (after_attempt(sync, Ok(remote.clone()), now), code.version)
            }
            Err(error) => {
                let mut updated = after_attempt(sync, Err(error), now);
                if !error.is_transient() {
                    updated.state = SyncState::Failed;
                    metrics.write_attempt(provider, "failed");
                } else if updated.attempts >= self.config.max_attempts {
                    updated.state = SyncState::Failed;
                    updated.last_error = Some(format!(
                        "gave up after {} attempts: {}",
                        updated.attempts, error.message
                    ));
                    metrics.write_attempt(provider, "failed");
                } else {
                    next_attempt = Some(self.next_attempt(now, updated.attempts, error));
                    metrics.write_attempt(provider, "retry");
                }
                if updated.state == SyncState::Failed {
                    tracing::error!(code = %code.code, %provider, error = ?updated.last_error,
                        "provider write FAILED");
                }
                (updated, synced_version)
            }
        };
        let mut link = store::link_to_active(&code.id, &updated, version);
        link.next_attempt_at = Set(next_attempt);
        let told = Event::link(&code.id, provider, updated.state);
        self.fenced_then_publish(&code.id, token, told, |txn| {
            Box::pin(async move {
                provider_link::Entity::update(link).exec(txn).await?;
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    pub(super) async fn refresh_times_redeemed(&self, id: &str) -> Result<(), ServiceError> {
        let links = store::links_of(&self.db, &[id.to_string()]).await?;
        let total: i64 = links.iter().map(|l| l.times_redeemed).sum();
        promo_code::Entity::update_many()
            .col_expr(
                promo_code::Column::TimesRedeemed,
                sea_orm::sea_query::Expr::value(total),
            )
            .filter(promo_code::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Re-queues now the provider writes of a code that are PENDING or FAILED.
    pub async fn retry_sync(&self, id: &str) -> Result<PromoCode, ServiceError> {
        let code = self.get(id).await?.ok_or_else(not_found)?;
        requeue_now()
            .filter(provider_link::Column::PromoCodeId.eq(id))
            .filter(
                provider_link::Column::State
                    .is_in([SyncState::Pending.as_str(), SyncState::Failed.as_str()]),
            )
            .exec(&self.db)
            .await?;
        self.wake.notify_one();
        Ok(self.get(id).await?.unwrap_or(code))
    }

    /// Finishes what crashed processes left: creates reserved but never settled are completed
    /// (adopting copies the providers already hold), and codes whose change died after the
    /// provider writes get every provider re-queued, so they converge to what is stored here.
    pub async fn recover(&self) -> Result<(), ServiceError> {
        let now = Utc::now();
        let abandoned = promo_code::Entity::find()
            .filter(promo_code::Column::LockToken.is_not_null())
            .filter(promo_code::Column::LockedUntil.lt(now))
            .all(&self.db)
            .await?;
        for row in abandoned {
            let token = uuid::Uuid::new_v4().to_string();
            if !self.try_lease(&row.id, Some(row.version), &token).await? {
                continue;
            }
            let _held = self.keep(&row.id, &token);
            let links = store::links_of(&self.db, std::slice::from_ref(&row.id)).await?;
            let code = store::to_model(row, &links)?;
            if code.version == 0 {
                tracing::warn!(code = %code.code, "finishing a create a crashed process left");
                let outcomes = self.create_everywhere(&code, true).await;
                if let Err(error) = self.settle_create(code, &token, outcomes, ACTOR).await {
                    tracing::error!(%error, "an abandoned create could not be finished");
                }
            } else {
                tracing::warn!(code = %code.code, "re-syncing a code whose change was interrupted");
                let id = code.id.clone();
                self.fenced(&code.id, &token, |txn| {
                    Box::pin(async move {
                        provider_link::Entity::update_many()
                            .col_expr(
                                provider_link::Column::State,
                                sea_orm::sea_query::Expr::value(SyncState::Pending.as_str()),
                            )
                            .col_expr(
                                provider_link::Column::NextAttemptAt,
                                sea_orm::sea_query::Expr::value(now),
                            )
                            .filter(provider_link::Column::PromoCodeId.eq(id))
                            .filter(provider_link::Column::ExternalId.is_not_null())
                            .exec(txn)
                            .await?;
                        Ok(())
                    })
                })
                .await?;
                self.release(&code.id, &token).await;
            }
        }
        Ok(())
    }

    /// Runs until `shutdown` turns true: recovery, due writes, and the periodic sync.
    pub async fn run_worker(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut last_sync: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(error) = self.recover().await {
                tracing::error!(%error, "recovery pass failed");
            }
            let busy = match self.run_due_writes().await {
                Ok(attempted) => attempted > 0,
                Err(error) => {
                    tracing::error!(%error, "retry pass failed");
                    false
                }
            };
            if let Err(error) = self.run_due_cleanups().await {
                tracing::error!(%error, "undo retry pass failed");
            }
            if let Some(interval) = self.config.sync_interval
                && last_sync.is_none_or(|at| at.elapsed() >= interval)
            {
                last_sync = Some(tokio::time::Instant::now());
                match self.sync_from_providers_alone(None).await {
                    None => tracing::info!("periodic sync skipped: a sync is running"),
                    Some(Ok(report)) => tracing::info!(
                        imported = report.imported,
                        updated = report.updated,
                        drifted = report.drifted.len(),
                        errors = report.errors.len(),
                        "periodic sync"
                    ),
                    Some(Err(error)) => tracing::error!(%error, "periodic sync failed"),
                }
            }
            if busy {
                // A pass takes at most 500 links: more may be due (a bulk job's codes), and
                // waiting out the poll interval between passes would idle the rate limit.
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval.max(Duration::from_millis(10))) => {}
                () = self.wake.notified() => {}
                changed = shutdown.changed() => {
                    // The sender is gone: nothing can stop this loop any more, and polling a
                    // closed channel answers at once, so the loop would spin.
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// A link no attempt was ever recorded on. A create that a crash cut short leaves it so too;
/// then the provider refuses the repeated code (each refuses duplicates), and the refusal is
/// answered by looking for our copy (`adopt_or_create`), so nothing is created twice.
fn never_tried(sync: &ProviderSync) -> bool {
    sync.attempts == 0 && sync.last_error.is_none()
}

/// An update that puts provider links back in the worker's queue, due now, attempts from zero
/// (filter it to the links meant).
pub(super) fn requeue_now() -> sea_orm::UpdateMany<provider_link::Entity> {
    provider_link::Entity::update_many()
        .col_expr(
            provider_link::Column::State,
            sea_orm::sea_query::Expr::value(SyncState::Pending.as_str()),
        )
        .col_expr(
            provider_link::Column::Attempts,
            sea_orm::sea_query::Expr::value(0),
        )
        .col_expr(
            provider_link::Column::NextAttemptAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
}
