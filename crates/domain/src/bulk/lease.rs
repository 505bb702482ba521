//! The lease on a bulk job: taken with one conditional UPDATE (of any number of runners in
//! any process, one wins), given back on a clean stop, expiring on its own after a crash.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;

use super::runner::{Held, unfinished};
use super::{BulkJobState, MAX_ERRORS, counts};
use crate::entity::bulk_job;
use crate::error::ServiceError;
use crate::service::PromoService;

impl PromoService {
    /// Leases the oldest unfinished job whose lease is free or expired.
    pub(super) async fn take_bulk_job(&self) -> Result<Option<bulk_job::Model>, ServiceError> {
        let now = Utc::now();
        let free = || {
            Condition::any()
                .add(bulk_job::Column::LeaseToken.is_null())
                .add(bulk_job::Column::LeasedUntil.lt(now))
        };
        let candidates = bulk_job::Entity::find()
            .filter(bulk_job::Column::State.is_in(unfinished()))
            .filter(free())
            .order_by_asc(bulk_job::Column::CreatedAt)
            .limit(5)
            .all(&self.db)
            .await?;
        for mut job in candidates {
            let token = uuid::Uuid::new_v4().to_string();
            let taken = bulk_job::Entity::update_many()
                .col_expr(bulk_job::Column::LeaseToken, Expr::value(token.as_str()))
                .col_expr(
                    bulk_job::Column::LeasedUntil,
                    Expr::value(self.lease_until(now)),
                )
                .col_expr(
                    bulk_job::Column::State,
                    Expr::value(BulkJobState::Running.as_str()),
                )
                .filter(bulk_job::Column::Id.eq(job.id.as_str()))
                .filter(bulk_job::Column::State.is_in(unfinished()))
                .filter(free())
                .exec(&self.db)
                .await?;
            if taken.rows_affected == 1 {
                job.lease_token = Some(token);
                return Ok(Some(job));
            }
        }
        Ok(None)
    }

    pub(super) async fn finish_bulk_job(
        &self,
        id: &str,
        token: &str,
        state: BulkJobState,
        message: &str,
    ) -> Result<(), ServiceError> {
        tracing::error!(job = %id, %message, "bulk job cannot go on");
        bulk_job::Entity::update_many()
            .col_expr(bulk_job::Column::State, Expr::value(state.as_str()))
            .col_expr(
                bulk_job::Column::Errors,
                Expr::value(json!([message]).to_string()),
            )
            .col_expr(
                bulk_job::Column::LeaseToken,
                Expr::value(Option::<String>::None),
            )
            .col_expr(bulk_job::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(bulk_job::Column::Id.eq(id))
            .filter(bulk_job::Column::LeaseToken.eq(token))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Records a batch failure on the job; once `MAX_ERRORS` are recorded the job is FAILED.
    pub(super) async fn note_bulk_error(&self, job: &Held, message: &str) {
        let noted = async {
            let Some(row) = bulk_job::Entity::find_by_id(job.id.as_str())
                .one(&self.db)
                .await?
            else {
                return Ok::<_, sea_orm::DbErr>(());
            };
            let mut errors = counts::stored_errors(&row);
            errors.push(message.to_string());
            let mut update = bulk_job::Entity::update_many();
            if errors.len() >= MAX_ERRORS {
                errors.truncate(MAX_ERRORS);
                update = update.col_expr(
                    bulk_job::Column::State,
                    Expr::value(BulkJobState::Failed.as_str()),
                );
            }
            update
                .col_expr(
                    bulk_job::Column::Errors,
                    Expr::value(json!(errors).to_string()),
                )
                .filter(bulk_job::Column::Id.eq(job.id.as_str()))
                .filter(bulk_job::Column::LeaseToken.eq(job.token.as_str()))
                .filter(bulk_job::Column::State.eq(BulkJobState::Running.as_str()))
                .exec(&self.db)
                .await?;
            Ok(())
        };
        if let Err(error) = noted.await {
            tracing::error!(job = %job.id, %error, "cannot record a bulk job's error");
        }
    }

    /// Gives the lease back, so another runner may go on at once.
    pub(super) async fn release_bulk_job(&self, job: &Held) {
        let released = bulk_job::Entity::update_many()
            .col_expr(
                bulk_job::Column::LeaseToken,
                Expr::value(Option::<String>::None),
            )
            .filter(bulk_job::Column::Id.eq(job.id.as_str()))
            .filter(bulk_job::Column::LeaseToken.eq(job.token.as_str()))
            .exec(&self.db)
            .await;
        if let Err(error) = released {
            // The lease expires on its own.
            tracing::error!(job = %job.id, %error, "cannot release a bulk job's lease");
        }
    }
}
