//! A job's progress as callers see it: what the job row says, and how its codes stand on the
//! providers, counted from their links when asked (so the counts never drift from the links).

use anyhow::Context;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};

use super::{BulkJob, BulkJobState, MAX_ERRORS};
use crate::entity::bulk_job;
use crate::error::ServiceError;
use crate::model::SyncState;

fn codes() -> Alias {
    Alias::new("bulk_job_codes")
}

fn links() -> Alias {
    Alias::new("provider_links")
}

/// Links of the job's code `b` in state `op` `state`.
fn links_of_code(state: SyncState, equal: bool) -> SelectStatement {
    let column = Expr::col((links(), Alias::new("state")));
    Query::select()
        .expr(Expr::val(1))
        .from(links())
        .and_where(
            Expr::col((links(), Alias::new("promo_code_id")))
                .equals((codes(), Alias::new("promo_code_id"))),
        )
        .and_where(if equal {
            column.eq(state.as_str())
        } else {
            column.ne(state.as_str())
        })
        .to_owned()
}

async fn count<C: ConnectionTrait>(db: &C, job_id: &str, condition: Expr) -> Result<i64, DbErr> {
    let query = Query::select()
        .expr(Func::count(Expr::col((codes(), Alias::new("job_id")))))
        .from(codes())
        .and_where(Expr::col((codes(), Alias::new("job_id"))).eq(job_id))
        .and_where(condition)
        .to_owned();
    let row = db.query_one(&query).await?;
    Ok(row
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// Distinct messages of the job's FAILED links, as `PROVIDER: message`.
async fn link_failures<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    limit: usize,
) -> Result<Vec<String>, DbErr> {
    let query = Query::select()
        .column((links(), Alias::new("provider")))
        .column((links(), Alias::new("last_error")))
        .from(codes())
        .inner_join(
            links(),
            Expr::col((links(), Alias::new("promo_code_id")))
                .equals((codes(), Alias::new("promo_code_id"))),
        )
        .and_where(Expr::col((codes(), Alias::new("job_id"))).eq(job_id))
        .and_where(Expr::col((links(), Alias::new("state"))).eq(SyncState::Failed.as_str()))
        .group_by_col((links(), Alias::new("provider")))
        .group_by_col((links(), Alias::new("last_error")))
        .limit(u64::try_from(limit).unwrap_or(0))
        .to_owned();
    let rows = db.query_all(&query).await?;
    rows.iter()
        .map(|r| {
            let provider: String = r.try_get_by_index(0)?;
            let error: Option<String> = r.try_get_by_index(1)?;
            Ok(format!(
                "{provider}: {}",
                error.unwrap_or_else(|| "failed".to_string())
            ))
        })
        .collect()
}

pub(super) fn stored_errors(row: &bulk_job::Model) -> Vec<String> {
    serde_json::from_str(&row.errors).unwrap_or_else(|_| vec![row.errors.clone()])
}

pub(super) async fn view<C: ConnectionTrait>(
    db: &C,
    row: bulk_job::Model,
) -> Result<BulkJob, ServiceError> {
    let state = BulkJobState::parse(&row.state)
        .with_context(|| format!("a bulk job's stored state {:?} is not known", row.state))?;
    let synced = count(
        db,
        &row.id,
        Expr::exists(links_of_code(SyncState::Synced, false)).not(),
    )
    .await?;
    let failed = count(
        db,
        &row.id,
        Expr::exists(links_of_code(SyncState::Failed, true)),
    )
    .await?;
    let mut errors = stored_errors(&row);
    if failed > 0 && errors.len() < MAX_ERRORS {
        errors.extend(link_failures(db, &row.id, MAX_ERRORS - errors.len()).await?);
    }
    Ok(BulkJob {
        id: row.id,
        state,
        pattern: row.pattern,
        total: row.total,
        created: row.created,
        synced,
        failed,
        errors,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
