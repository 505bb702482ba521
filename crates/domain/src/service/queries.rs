//! Reads: straight from the database, never waiting on a provider.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::PromoService;
use crate::entity::{audit_log, promo_code};
use crate::error::ServiceError;
use crate::history::{self, HistoryEntry, HistoryPage};
use crate::model::{InvalidReason, PromoCode, PromoCodeStatus, Provider, SyncState, Validation};
use crate::store;

impl PromoService {
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

    /// A page of a code's history, newest first (`history::page`).
    pub async fn history(
        &self,
        promo_code_id: &str,
        first: i64,
        after: Option<&str>,
    ) -> Result<HistoryPage, ServiceError> {
        history::page(&self.db, promo_code_id, first, after).await
    }

    /// One entry of a code's history by its id, with its cursor (`history::entry_by_id`).
    pub async fn history_entry(
        &self,
        promo_code_id: &str,
        entry_id: i64,
    ) -> Result<Option<(String, HistoryEntry)>, ServiceError> {
        history::entry_by_id(&self.db, promo_code_id, entry_id).await
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
