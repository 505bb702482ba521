//! Pulling provider state: imports codes made elsewhere, refreshes redemptions, marks codes
//! turned off or deleted on a provider, and reports drift without overwriting what was
//! accepted here. At most one pull runs at a time across the deployment.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, SqlErr, TransactionTrait};

use crate::entity::{promo_code, provider_link};
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::history;
use crate::store;

use super::PromoService;
use crate::model::{PromoCode, PromoCodeStatus, Provider, ProviderSync, SyncState};
use crate::providers::{Listing, RemoteCode};

/// The PostgreSQL advisory lock held while a sync from providers runs ("promosyn" in ASCII).
pub const SYNC_LOCK_KEY: i64 = 0x7072_6f6d_6f73_796e;

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

impl PromoService {
    /// `sync_from_providers`, unless one is already running (a caller's or the periodic one):
    /// then None at once, without waiting. In this process a mutex tells; on PostgreSQL an
    /// advisory lock (`SYNC_LOCK_KEY`, held by a transaction for the sync's duration) tells
    /// across every process on the database too.
    pub async fn sync_from_providers_alone(
        &self,
        provider: Option<crate::model::Provider>,
    ) -> Option<Result<SyncReport, crate::error::ServiceError>> {
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
            match adapter.list().await {
                Ok(Listing {
                    codes: remote_codes,
                    skipped,
                }) => {
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
                let seen =
                    history::state_seen(&self.db, &link.promo_code_id, provider, seen).await?;
                let told = crate::events::Event::link(&link.promo_code_id, provider, state);
                self.publish(
                    seen_change(&link.promo_code_id, seen)
                        .into_iter()
                        .chain([told]),
                )
                .await;
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
            let seen = history::redemptions_seen(&self.db, &ours.id, provider, seen).await?;
            self.refresh_times_redeemed(&ours.id).await?;
            self.publish(seen_change(&ours.id, seen)).await;
            report.updated += 1;
        } else {
            report.unchanged += 1;
        }
        // A write still on its way explains any difference; only settled codes can drift.
        if link.state == SyncState::Synced || link.state == SyncState::DisabledOnProvider {
            report.drifted.extend(
                super::drift::differences(provider, &ours, &remote)
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
        let entry = history::imported(&txn, &code, provider, &remote.remote.external_id).await?;
        txn.commit().await?;
        self.publish(crate::events::Event::committed(&code, "import", entry))
            .await;
        report.imported += 1;
        Ok(())
    }
}

/// The event of a change a sync saw on a provider (an audited change at the code's version);
/// none when the code was gone by the time it was recorded.
fn seen_change(id: &str, seen: history::Seen) -> Option<crate::events::Event> {
    let action = history::Action::ProviderChanged.stored_name();
    let version = seen.version?;
    Some(crate::events::Event::changed(
        id, version, action, seen.entry,
    ))
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
