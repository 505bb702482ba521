//! The background half of write-through: retrying provider writes until SYNCED or FAILED,
//! finishing what a crashed process left, and pulling provider state (redemptions, drift,
//! codes made elsewhere).
//!
//! Every provider write happens under the code's lease (a conditional UPDATE), the same one
//! API changes take: however many `promohub` processes share a database, one of them at a time
//! works on a code, and a write is re-checked as still due once the lease is held. Nothing here
//! needs `SELECT ... FOR UPDATE`, so SQLite and PostgreSQL behave alike.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use serde_json::json;

use crate::entity::{audit_log, promo_code, provider_link};
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::history;
use crate::model::{DriftStrategy, PromoCode, PromoCodeStatus, Provider, ProviderSync, SyncState};
use crate::providers::{RemoteCode, RemoteSettings};
use crate::service::{PromoService, after_attempt, not_found};
use crate::store;

/// What `sync_from_providers` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// `PROVIDER:CODE: what differs`.
    pub drifted: Vec<String>,
    pub errors: Vec<String>,
}

/// How many codes one worker pass works on at once.
const PARALLEL_CODES: usize = 8;
const ACTOR: &str = "promohub-worker";

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
        let result = self.retry_leased(id).await;
        self.release(id, &token).await;
        result
    }

    async fn retry_leased(&self, id: &str) -> Result<usize, ServiceError> {
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
            let result = match self.providers.get(sync.provider) {
                None => Err(crate::providers::ProviderError {
                    transient: true,
                    ..crate::providers::ProviderError::permanent(
                        sync.provider,
                        "not configured on this server",
                    )
                }),
                Some(adapter) if sync.external_id.is_none() => {
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
                Some(adapter) => adapter.push(&sync, code).await.map(|()| None),
            };
            self.record_attempt(code, sync, link.synced_version, result)
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

    /// Stores the outcome of one background attempt on a provider link.
    async fn record_attempt(
        &self,
        code: &PromoCode,
        sync: ProviderSync,
        synced_version: i64,
        result: Result<Option<crate::providers::Remote>, crate::providers::ProviderError>,
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
                if !error.transient {
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
        provider_link::Entity::update(link).exec(&self.db).await?;
        Ok(())
    }

    async fn refresh_times_redeemed(&self, id: &str) -> Result<(), ServiceError> {
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
                provider_link::Entity::update_many()
                    .col_expr(
                        provider_link::Column::State,
                        sea_orm::sea_query::Expr::value(SyncState::Pending.as_str()),
                    )
                    .col_expr(
                        provider_link::Column::NextAttemptAt,
                        sea_orm::sea_query::Expr::value(now),
                    )
                    .filter(provider_link::Column::PromoCodeId.eq(code.id.as_str()))
                    .filter(provider_link::Column::ExternalId.is_not_null())
                    .exec(&self.db)
                    .await?;
                self.release(&code.id, &token).await;
            }
        }
        Ok(())
    }

    /// Pulls codes from one provider (every configured one when None): imports the ones
    /// unknown here, refreshes redemptions, and reports drift without overwriting what was
    /// accepted here.
    pub async fn sync_from_providers(
        &self,
        only: Option<Provider>,
    ) -> Result<SyncReport, ServiceError> {
        let mut report = SyncReport::default();
        let providers: Vec<Provider> = match only {
            Some(provider) if !self.providers.is_configured(provider) => {
                return Err(UserError::new(
                    &["provider"],
                    ErrorCode::NotConfigured,
                    format!("{provider} is not configured on this server"),
                )
                .into());
            }
            Some(provider) => vec![provider],
            None => self.providers.configured().collect(),
        };
        for provider in providers {
            let Some(adapter) = self.providers.get(provider) else {
                continue;
            };
            match adapter.list_with_skipped().await {
                Ok((remote_codes, skipped)) => {
                    self.sync_status(provider, &remote_codes, &skipped, &mut report)
                        .await?;
                    for why in skipped {
                        tracing::warn!(%provider, %why, "sync skipped a code it cannot read");
                        report.errors.push(format!("{provider}: skipped {why}"));
                    }
                    for remote in remote_codes {
                        self.sync_one(provider, remote, &mut report).await?;
                    }
                }
                Err(error) => report.errors.push(format!("{provider}: {}", error.message)),
            }
        }
        Ok(report)
    }

    /// Refreshes the status part of every settled link of `provider` from a complete list of
    /// what it holds: a code turned off there (inactive, archived) while active here becomes
    /// DISABLED_ON_PROVIDER, one that is gone DELETED_ON_PROVIDER, each with a message in
    /// `last_error`; a code back to normal there is SYNCED again. Links with a write on its way
    /// (PENDING) or FAILED are left alone: the write explains the difference.
    async fn sync_status(
        &self,
        provider: Provider,
        remote_codes: &[RemoteCode],
        skipped: &[String],
        report: &mut SyncReport,
    ) -> Result<(), ServiceError> {
        let watched = [
            SyncState::Synced.as_str(),
            SyncState::DisabledOnProvider.as_str(),
            SyncState::DeletedOnProvider.as_str(),
        ];
        let links = provider_link::Entity::find()
            .filter(provider_link::Column::Provider.eq(provider.as_str()))
            .filter(provider_link::Column::State.is_in(watched))
            .filter(provider_link::Column::ExternalId.is_not_null())
            .all(&self.db)
            .await?;
        if links.is_empty() {
            return Ok(());
        }
        let by_id: BTreeMap<&str, &RemoteCode> = remote_codes
            .iter()
            .map(|r| (r.remote.external_id.as_str(), r))
            .collect();
        let ids: Vec<String> = links.iter().map(|l| l.promo_code_id.clone()).collect();
        let statuses: BTreeMap<String, (String, String)> = promo_code::Entity::find()
            .filter(promo_code::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.id, (row.code, row.status)))
            .collect();
        for link in links {
            let Some(external_id) = link.external_id.as_deref() else {
                continue;
            };
            let Some((code, ours)) = statuses.get(&link.promo_code_id) else {
                continue;
            };
            let ours = PromoCodeStatus::parse(ours);
            let (state, message) = match (by_id.get(external_id), ours) {
                (_, None) => continue,
                // A code that could not be read may be this one: no verdict.
                (None, _) if skipped.iter().any(|why| why.contains(external_id)) => continue,
                (None, Some(PromoCodeStatus::Archived)) => (SyncState::Synced, None),
                (None, Some(_)) => (
                    SyncState::DeletedOnProvider,
                    Some(format!(
                        "{provider} no longer holds {external_id}: deleted there, not through PromoHub \
                         (seen by a sync at {})",
                        Utc::now().to_rfc3339()
                    )),
                ),
                (Some(remote), Some(PromoCodeStatus::Active))
                    if remote.status != PromoCodeStatus::Active =>
                {
                    (
                        SyncState::DisabledOnProvider,
                        Some(format!(
                            "{provider} shows {external_id} {}: turned off there, not through PromoHub \
                             (seen by a sync at {})",
                            remote.status,
                            Utc::now().to_rfc3339()
                        )),
                    )
                }
                (Some(_), Some(_)) => (SyncState::Synced, None),
            };
            if link.state == state.as_str() {
                continue;
            }
            // Conditional on the state seen, so a write that settled meanwhile wins.
            let changed = provider_link::Entity::update_many()
                .col_expr(
                    provider_link::Column::State,
                    sea_orm::sea_query::Expr::value(state.as_str()),
                )
                .col_expr(
                    provider_link::Column::LastError,
                    sea_orm::sea_query::Expr::value(message.clone()),
                )
                .filter(provider_link::Column::PromoCodeId.eq(link.promo_code_id.as_str()))
                .filter(provider_link::Column::Provider.eq(provider.as_str()))
                .filter(provider_link::Column::State.eq(link.state.as_str()))
                .exec(&self.db)
                .await?;
            if changed.rows_affected == 1 {
                let seen = (link.state.as_str(), state, message.as_deref());
                history::state_seen(&self.db, &link.promo_code_id, provider, seen).await?;
            }
            if let Some(message) = message {
                tracing::warn!(%provider, %code, %message, "provider status changed outside PromoHub");
                // A code still listed gets its status drift line from sync_one.
                if state == SyncState::DeletedOnProvider {
                    report.drifted.push(format!("{provider}:{code}: {message}"));
                }
            }
        }
        Ok(())
    }

    async fn sync_one(
        &self,
        provider: Provider,
        remote: RemoteCode,
        report: &mut SyncReport,
    ) -> Result<(), ServiceError> {
        let Some(ours) = self.get_by_code(&remote.code).await? else {
            if remote.status == PromoCodeStatus::Archived {
                report.unchanged += 1;
                return Ok(());
            }
            return self.import(provider, remote, report).await;
        };
        let Some(link) = ours.provider(provider) else {
            report.drifted.push(format!(
                "{provider}:{}: exists on {provider}, but the code here does not live there",
                remote.code
            ));
            return Ok(());
        };
        if link.external_id.as_deref() != Some(remote.remote.external_id.as_str()) {
            // Another object with the same code: an older, retired copy is no news.
            if remote.status == PromoCodeStatus::Active && link.external_id.is_some() {
                report.drifted.push(format!(
                    "{provider}:{}: {provider} holds another active copy ({})",
                    remote.code, remote.remote.external_id
                ));
            }
            return Ok(());
        }
        if link.times_redeemed != remote.remote.times_redeemed {
            provider_link::Entity::update_many()
                .col_expr(
                    provider_link::Column::TimesRedeemed,
                    sea_orm::sea_query::Expr::value(remote.remote.times_redeemed),
                )
                .filter(provider_link::Column::PromoCodeId.eq(ours.id.as_str()))
                .filter(provider_link::Column::Provider.eq(provider.as_str()))
                .exec(&self.db)
                .await?;
            let seen = (link.times_redeemed, remote.remote.times_redeemed);
            history::redemptions_seen(&self.db, &ours.id, provider, seen).await?;
            self.refresh_times_redeemed(&ours.id).await?;
            report.updated += 1;
        } else {
            report.unchanged += 1;
        }
        // A write still on its way explains any difference; only settled codes can drift.
        if link.state == SyncState::Synced || link.state == SyncState::DisabledOnProvider {
            report.drifted.extend(
                drift(provider, &ours, &remote)
                    .into_iter()
                    .map(|what| format!("{provider}:{}: {what}", ours.code)),
            );
        }
        Ok(())
    }

    async fn import(
        &self,
        provider: Provider,
        remote: RemoteCode,
        report: &mut SyncReport,
    ) -> Result<(), ServiceError> {
        let settings = match remote.settings {
            Ok(settings) => settings,
            Err(why) => {
                report
                    .errors
                    .push(format!("{provider}:{}: cannot import: {why}", remote.code));
                return Ok(());
            }
        };
        if !crate::rules::valid_code(&remote.code) {
            report.errors.push(format!(
                "{provider}:{}: cannot import: not a valid PromoHub code",
                remote.code
            ));
            return Ok(());
        }
        let now = Utc::now();
        let code = PromoCode {
            id: uuid::Uuid::new_v4().to_string(),
            code: remote.code.clone(),
            name: settings.name,
            status: remote.status,
            discount: settings.discount,
            duration: settings.duration,
            max_redemptions: settings.max_redemptions,
            max_redemptions_per_customer: settings.max_redemptions_per_customer,
            times_redeemed: remote.remote.times_redeemed,
            expires_at: settings.expires_at,
            restrictions: settings.restrictions,
            metadata: settings.metadata,
            providers: vec![ProviderSync {
                provider,
                external_id: Some(remote.remote.external_id.clone()),
                secondary_id: remote.remote.secondary_id.clone(),
                state: SyncState::Synced,
                last_error: None,
                attempts: 0,
                synced_at: Some(now),
                times_redeemed: remote.remote.times_redeemed,
            }],
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let inserted = promo_code::Entity::insert(store::to_active(&code, None, None))
            .exec_without_returning(&txn)
            .await;
        match inserted {
            Ok(_) => {}
            // Imported by another process a moment ago.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                report.unchanged += 1;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        provider_link::Entity::insert(store::link_to_active(&code.id, &code.providers[0], 1))
            .exec_without_returning(&txn)
            .await?;
        history::imported(&txn, &code, provider, &remote.remote.external_id).await?;
        txn.commit().await?;
        report.imported += 1;
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
            if let Err(error) = self.run_due_writes().await {
                tracing::error!(%error, "retry pass failed");
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
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval.max(Duration::from_millis(10))) => {}
                () = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

impl PromoService {
    /// Settles a difference between PromoHub and one provider of a code.
    ///
    /// PUSH_OURS writes PromoHub's state to the provider through the outbox: the link becomes
    /// PENDING, due now, and the worker writes it like any retry (a code the provider no
    /// longer holds is created there again). ADOPT_THEIRS reads the provider's copy and takes
    /// what that provider holds of the code (status and, where the provider holds them, the
    /// limits, expiry, plan list and metadata) into PromoHub as a new version, audited as
    /// `adopt_provider_state`; the code's other providers are then brought to the new state
    /// through the outbox.
    pub async fn resolve_drift(
        &self,
        id: &str,
        provider: Provider,
        strategy: DriftStrategy,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let Some(adapter) = self.providers.get(provider) else {
            return Err(UserError::new(
                &["provider"],
                ErrorCode::NotConfigured,
                format!("{provider} is not configured on this server"),
            )
            .into());
        };
        let token = uuid::Uuid::new_v4().to_string();
        let current = self.lease(id, None, &token).await?;
        let result = match current.provider(provider).cloned() {
            None => Err(UserError::new(
                &["provider"],
                ErrorCode::Invalid,
                format!("the code does not live on {provider}"),
            )
            .into()),
            Some(link) => match strategy {
                DriftStrategy::PushOurs => self.push_ours(&current, &link, &token, actor).await,
                DriftStrategy::AdoptTheirs => {
                    self.adopt_theirs(current.clone(), &link, adapter, &token, actor)
                        .await
                }
            },
        };
        if result.is_err() {
            self.release(id, &token).await;
        }
        result
    }

    async fn push_ours(
        &self,
        current: &PromoCode,
        link: &ProviderSync,
        token: &str,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let provider = link.provider;
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let mut update = requeue_now();
        if link.state == SyncState::DeletedOnProvider {
            // Gone there: the worker creates it again (adopting a copy if one turns up).
            update = update.col_expr(
                provider_link::Column::ExternalId,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            );
        }
        update
            .filter(provider_link::Column::PromoCodeId.eq(current.id.as_str()))
            .filter(provider_link::Column::Provider.eq(provider.as_str()))
            .exec(&txn)
            .await?;
        history::pushed(&txn, current, link, actor).await?;
        txn.commit().await?;
        self.release(&current.id, token).await;
        self.wake.notify_one();
        self.get(&current.id).await?.ok_or_else(not_found)
    }

    async fn adopt_theirs(
        &self,
        current: PromoCode,
        link: &ProviderSync,
        adapter: &crate::providers::Adapter,
        token: &str,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let provider = link.provider;
        let unreadable = |message: String| -> ServiceError {
            UserError::new(&["provider"], ErrorCode::ProviderRejected, message).into()
        };
        let remote = match adapter.list_all().await {
            Ok(all) => all
                .into_iter()
                .find(|r| link.external_id.as_deref() == Some(r.remote.external_id.as_str())),
            Err(error) => {
                return Err(unreadable(format!(
                    "cannot read {provider}: {}",
                    error.message
                )));
            }
        };
        let Some(remote) = remote else {
            return Err(UserError::new(
                &["strategy"],
                ErrorCode::NotFound,
                format!("{provider} no longer holds the code: PUSH_OURS creates it there again"),
            )
            .into());
        };
        let settings = remote.settings.map_err(|why| {
            unreadable(format!(
                "{provider}'s copy cannot be read as a PromoHub code: {why}"
            ))
        })?;
        let caps = crate::rules::capabilities(provider);
        let mut next = current.clone();
        // Flex and Fynn have no archived state: off there is as retired as they get.
        let keeps_archive = current.status == PromoCodeStatus::Archived
            && remote.status == PromoCodeStatus::Inactive
            && provider != Provider::Whop;
        if !keeps_archive {
            next.status = remote.status;
        }
        if caps.max_redemptions {
            next.max_redemptions = settings.max_redemptions;
        }
        if caps.max_redemptions_per_customer {
            next.max_redemptions_per_customer = settings.max_redemptions_per_customer;
        }
        if caps.expires_at {
            next.expires_at = settings.expires_at;
        }
        if caps.plan_restrictions {
            next.restrictions.plan_ids = settings.restrictions.plan_ids.clone();
        }
        if caps.metadata {
            next.metadata = settings.metadata.clone();
        }
        let now = Utc::now();
        next.version = current.version + 1;
        for sync in &mut next.providers {
            if sync.provider == provider {
                sync.state = SyncState::Synced;
                sync.last_error = None;
                sync.attempts = 0;
                sync.synced_at = Some(now);
                sync.times_redeemed = remote.remote.times_redeemed;
            } else if sync.external_id.is_some() {
                // The others get the adopted state through the outbox.
                sync.state = SyncState::Pending;
                sync.attempts = 0;
            }
        }
        next.times_redeemed = next.providers.iter().map(|p| p.times_redeemed).sum();
        let mut changes = crate::rules::diff(&current, &next);
        changes.insert(
            "adopted_from".into(),
            json!({ "provider": provider, "external_id": remote.remote.external_id }),
        );
        self.commit(
            &next,
            token,
            None,
            actor,
            "adopt_provider_state",
            serde_json::Value::Object(changes),
        )
        .await?;
        Ok(self.get(&next.id).await?.unwrap_or(next))
    }

    /// The audit rows of a code, oldest first.
    pub async fn audit_log(&self, id: &str) -> Result<Vec<audit_log::Model>, ServiceError> {
        Ok(audit_log::Entity::find()
            .filter(audit_log::Column::PromoCodeId.eq(id))
            .order_by_asc(audit_log::Column::Id)
            .all(&self.db)
            .await?)
    }
}

/// What a provider holds differently from PromoHub, in the fields it can hold.
fn drift(provider: Provider, ours: &PromoCode, remote: &RemoteCode) -> Vec<String> {
    let caps = crate::rules::capabilities(provider);
    let mut found = Vec::new();
    // Flex and Fynn have no archived state: off is as retired as they get.
    let theirs_status = remote.status;
    let ours_status = match (provider, ours.status) {
        (Provider::Flex | Provider::Fynn, PromoCodeStatus::Archived) => PromoCodeStatus::Inactive,
        (_, status) => status,
    };
    if theirs_status != ours_status {
        found.push(format!(
            "status is {theirs_status} there, {} here",
            ours.status
        ));
    }
    let Ok(settings) = &remote.settings else {
        return found;
    };
    let mut compare = |what: &str, theirs: String, here: String| {
        if theirs != here {
            found.push(format!("{what} is {theirs} there, {here} here"));
        }
    };
    let RemoteSettings {
        discount,
        duration,
        max_redemptions,
        max_redemptions_per_customer,
        expires_at,
        ..
    } = settings;
    compare(
        "discount",
        format!("{discount:?}"),
        format!("{:?}", ours.discount),
    );
    compare(
        "duration",
        format!("{duration:?}"),
        format!("{:?}", ours.duration),
    );
    let show = |v: Option<i64>| v.map_or("unlimited".to_string(), |n| n.to_string());
    if caps.max_redemptions {
        compare(
            "maxRedemptions",
            show(*max_redemptions),
            show(ours.max_redemptions),
        );
    }
    if caps.max_redemptions_per_customer {
        compare(
            "maxRedemptionsPerCustomer",
            show(*max_redemptions_per_customer),
            show(ours.max_redemptions_per_customer),
        );
    }
    if caps.expires_at {
        let show = |v: Option<chrono::DateTime<Utc>>| v.map_or("never".into(), |t| t.to_rfc3339());
        compare("expiresAt", show(*expires_at), show(ours.expires_at));
    }
    if caps.plan_restrictions {
        let show = |plans: &[String]| {
            let mut plans = plans.to_vec();
            plans.sort();
            if plans.is_empty() {
                "every plan".to_string()
            } else {
                plans.join(",")
            }
        };
        compare(
            "restrictions.planIds",
            show(&settings.restrictions.plan_ids),
            show(&ours.restrictions.plan_ids),
        );
    }
    found
}

/// Counts per provider of links in each state, for metrics.
pub async fn link_states(
    service: &PromoService,
) -> Result<BTreeMap<(Provider, SyncState), u64>, ServiceError> {
    let links = provider_link::Entity::find()
        .select_only()
        .column(provider_link::Column::Provider)
        .column(provider_link::Column::State)
        .column_as(provider_link::Column::Provider.count(), "n")
        .group_by(provider_link::Column::Provider)
        .group_by(provider_link::Column::State)
        .into_tuple::<(String, String, i64)>()
        .all(&service.db)
        .await?;
    let mut counts = BTreeMap::new();
    for (provider, state, n) in links {
        if let (Some(p), Some(s)) = (Provider::parse(&provider), SyncState::parse(&state)) {
            counts.insert((p, s), u64::try_from(n).unwrap_or(0));
        }
    }
    Ok(counts)
}

/// An update that puts provider links back in the worker's queue, due now, attempts from zero
/// (filter it to the links meant).
fn requeue_now() -> sea_orm::UpdateMany<provider_link::Entity> {
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
