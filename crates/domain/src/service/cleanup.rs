//! Undos that failed, retried. When a create is rejected by one provider, the copies the
//! others made are retired at once; a retire that fails (the provider down, a look-up that
//! failed) is answered to the caller and queued here, and the worker retires the copy later:
//! nothing a rejected create left behind stays live on a provider unrecorded.

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use serde_json::json;

use super::{ACTOR, PromoService};
use crate::entity::{provider_cleanup, provider_link};
use crate::error::ServiceError;
use crate::model::{PromoCode, Provider, SyncState};
use crate::providers::{ProviderError, Remote};

/// What happened to one queued undo.
enum Outcome {
    /// Nothing is live there any more (retired now, or gone, or a live code owns it now).
    Done(&'static str),
    Retry(ProviderError),
    GiveUp(ProviderError),
}

impl PromoService {
    /// Queues the retire of what a rejected create left on `error.provider`: `remote` when it
    /// is known, else whatever copy of the code a look-up finds. Permanent refusals are kept
    /// as FAILED (for the record), not retried.
    pub(crate) async fn queue_cleanup(
        &self,
        code: &PromoCode,
        remote: Option<&Remote>,
        error: &ProviderError,
    ) -> Result<(), ServiceError> {
        let now = Utc::now();
        let state = if error.is_transient() {
            SyncState::Pending
        } else {
            SyncState::Failed
        };
        provider_cleanup::Entity::insert(provider_cleanup::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            provider: Set(error.provider.as_str().to_string()),
            promo_code_id: Set(code.id.clone()),
            code: Set(code.code.clone()),
            external_id: Set(remote.map(|r| r.external_id.clone())),
            secondary_id: Set(remote.and_then(|r| r.secondary_id.clone())),
            state: Set(state.as_str().to_string()),
            attempts: Set(1),
            last_error: Set(Some(error.message.clone())),
            next_attempt_at: Set(Some(self.next_attempt(now, 1, error))),
            lock_token: Set(None),
            locked_until: Set(None),
            created_at: Set(now),
        })
        .exec_without_returning(&self.db)
        .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Undos waiting to be retried.
    pub async fn pending_cleanups(&self) -> Result<u64, ServiceError> {
        Ok(provider_cleanup::Entity::find()
            .filter(provider_cleanup::Column::State.eq(SyncState::Pending.as_str()))
            .count(&self.db)
            .await?)
    }

    /// One pass over the queued undos that are due; returns how many were attempted.
    pub async fn run_due_cleanups(&self) -> Result<usize, ServiceError> {
        let due = provider_cleanup::Entity::find()
            .filter(provider_cleanup::Column::State.eq(SyncState::Pending.as_str()))
            .filter(provider_cleanup::Column::NextAttemptAt.lte(Utc::now()))
            .limit(100)
            .all(&self.db)
            .await?;
        let mut attempted = 0;
        for row in due {
            let token = uuid::Uuid::new_v4().to_string();
            if !self.lease_cleanup(&row.id, &token).await? {
                continue;
            }
            attempted += 1;
            let outcome = self.retire_left_over(&row).await;
            self.settle_cleanup(row, &token, outcome).await?;
        }
        Ok(attempted)
    }

    /// Takes one queued undo, as `try_lease` takes a code: one conditional UPDATE.
    async fn lease_cleanup(&self, id: &str, token: &str) -> Result<bool, ServiceError> {
        let now = Utc::now();
        let taken = provider_cleanup::Entity::update_many()
            .col_expr(provider_cleanup::Column::LockToken, Expr::value(token))
            .col_expr(
                provider_cleanup::Column::LockedUntil,
                Expr::value(self.lease_until(now)),
            )
            .filter(provider_cleanup::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(provider_cleanup::Column::LockToken.is_null())
                    .add(provider_cleanup::Column::LockedUntil.lt(now)),
            )
            .exec(&self.db)
            .await?;
        Ok(taken.rows_affected == 1)
    }

    async fn retire_left_over(&self, row: &provider_cleanup::Model) -> Outcome {
        let Some(provider) = Provider::parse(&row.provider) else {
            return Outcome::Done("the provider is unknown to this version");
        };
        let Some(adapter) = self.providers.get(provider) else {
            return Outcome::Retry(ProviderError::not_configured(provider));
        };
        let remote = match &row.external_id {
            Some(external_id) => Remote {
                external_id: external_id.clone(),
                secondary_id: row.secondary_id.clone(),
                times_redeemed: 0,
            },
            None => match adapter.find_code(&row.code, &row.promo_code_id).await {
                Ok(Some(found)) => found,
                Ok(None) => return Outcome::Done("no copy was found"),
                Err(error) => return Outcome::Retry(error),
            },
        };
        // A code created since (the same code, again) may own this copy now: never retire it.
        let owned = provider_link::Entity::find()
            .filter(provider_link::Column::Provider.eq(provider.as_str()))
            .filter(provider_link::Column::ExternalId.eq(remote.external_id.as_str()))
            .count(&self.db)
            .await;
        match owned {
            Ok(0) => {}
            Ok(_) => return Outcome::Done("a live code holds this copy now"),
            Err(error) => {
                return Outcome::Retry(ProviderError::transient(
                    provider,
                    format!("cannot check the copy's owner: {error}"),
                ));
            }
        }
        match adapter.retire(&remote).await {
            Ok(()) => Outcome::Done("retired"),
            Err(error) if error.is_transient() => Outcome::Retry(error),
            Err(error) => Outcome::GiveUp(error),
        }
    }

    /// Stores what one attempt found, fenced by the row's token.
    async fn settle_cleanup(
        &self,
        row: provider_cleanup::Model,
        token: &str,
        outcome: Outcome,
    ) -> Result<(), ServiceError> {
        let now = Utc::now();
        let attempts = row.attempts.saturating_add(1);
        let mine = || {
            Condition::all()
                .add(provider_cleanup::Column::Id.eq(row.id.as_str()))
                .add(provider_cleanup::Column::LockToken.eq(token))
        };
        let (action, detail) = match outcome {
            Outcome::Done(how) => {
                provider_cleanup::Entity::delete_many()
                    .filter(mine())
                    .exec(&self.db)
                    .await?;
                ("undo_done", how.to_string())
            }
            Outcome::Retry(error) if attempts < self.config.max_attempts => {
                provider_cleanup::Entity::update_many()
                    .col_expr(provider_cleanup::Column::Attempts, Expr::value(attempts))
                    .col_expr(
                        provider_cleanup::Column::LastError,
                        Expr::value(error.message.clone()),
                    )
                    .col_expr(
                        provider_cleanup::Column::NextAttemptAt,
                        Expr::value(self.next_attempt(now, attempts, &error)),
                    )
                    .col_expr(
                        provider_cleanup::Column::LockToken,
                        Expr::value(Option::<String>::None),
                    )
                    .filter(mine())
                    .exec(&self.db)
                    .await?;
                return Ok(());
            }
            Outcome::Retry(error) | Outcome::GiveUp(error) => {
                tracing::error!(code = %row.code, provider = %row.provider, error = %error.message,
                    "gave up undoing the create of a rejected code; it stays on the provider");
                provider_cleanup::Entity::update_many()
                    .col_expr(
                        provider_cleanup::Column::State,
                        Expr::value(SyncState::Failed.as_str()),
                    )
                    .col_expr(provider_cleanup::Column::Attempts, Expr::value(attempts))
                    .col_expr(
                        provider_cleanup::Column::LastError,
                        Expr::value(error.message.clone()),
                    )
                    .filter(mine())
                    .exec(&self.db)
                    .await?;
                ("undo_failed", error.message)
            }
        };
        let changes = json!({
            "code": row.code, "provider": row.provider,
            "external_id": row.external_id, "detail": detail, "attempts": attempts,
        });
        crate::history::record(&self.db, &row.promo_code_id, ACTOR, action, None, changes).await?;
        Ok(())
    }
}
