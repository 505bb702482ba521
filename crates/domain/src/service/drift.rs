//! Settling drift: a difference between PromoHub and one provider, by pushing ours or
//! adopting theirs.

use chrono::Utc;
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::json;

use crate::entity::provider_link;
use crate::error::{ErrorCode, ServiceError, UserError};

use super::lease::renew;
use super::outbox::requeue_now;
use super::{PromoService, conflict, not_found};
use crate::model::{DriftStrategy, PromoCode, PromoCodeStatus, Provider, ProviderSync, SyncState};
use crate::providers::{Field, RemoteCode, RemoteSettings};

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
        let _held = self.keep(id, &token);
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
        if !renew(&txn, &current.id, token, self.lease_until(Utc::now())).await? {
            return Err(conflict(
                "another change took over this code; reload and retry",
            ));
        }
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
        let entry = crate::history::pushed(&txn, current, link, actor).await?;
        txn.commit().await?;
        self.publish(crate::events::Event::pushed(current, provider, entry))
            .await;
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
        let caps = adapter.capabilities();
        let mut next = current.clone();
        // Without an archived state of its own, off there is as retired as a provider gets.
        let keeps_archive = current.status == PromoCodeStatus::Archived
            && remote.status == PromoCodeStatus::Inactive
            && !caps.archived_status;
        if !keeps_archive {
            next.status = remote.status;
        }
        if caps.holds(Field::MaxRedemptions) {
            next.max_redemptions = settings.max_redemptions;
        }
        if caps.holds(Field::MaxRedemptionsPerCustomer) {
            next.max_redemptions_per_customer = settings.max_redemptions_per_customer;
        }
        if caps.holds(Field::ExpiresAt) {
            next.expires_at = settings.expires_at;
        }
        if caps.holds(Field::PlanIds) {
            next.restrictions.plan_ids = settings.restrictions.plan_ids.clone();
        }
        if caps.holds(Field::Metadata) {
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
}

/// What a provider holds differently from PromoHub, in the fields it can hold.
pub(super) fn differences(
    provider: Provider,
    ours: &PromoCode,
    remote: &RemoteCode,
) -> Vec<String> {
    let caps = crate::providers::capabilities(provider);
    let mut found = Vec::new();
    // Without an archived state of its own, off is as retired as a provider gets.
    let theirs_status = remote.status;
    let ours_status = match ours.status {
        PromoCodeStatus::Archived if !caps.archived_status => PromoCodeStatus::Inactive,
        status => status,
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
    if caps.holds(Field::MaxRedemptions) {
        compare(
            "maxRedemptions",
            show(*max_redemptions),
            show(ours.max_redemptions),
        );
    }
    if caps.holds(Field::MaxRedemptionsPerCustomer) {
        compare(
            "maxRedemptionsPerCustomer",
            show(*max_redemptions_per_customer),
            show(ours.max_redemptions_per_customer),
        );
    }
    if caps.holds(Field::ExpiresAt) {
        let show = |v: Option<chrono::DateTime<Utc>>| v.map_or("never".into(), |t| t.to_rfc3339());
        compare("expiresAt", show(*expires_at), show(ours.expires_at));
    }
    if caps.holds(Field::PlanIds) {
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
