//! Running bulk jobs: one runner at a time per job (a lease taken with a conditional UPDATE,
//! as codes are leased in `service/lease.rs`), codes made in batches. Each batch is one
//! transaction that first renews the lease (`... WHERE lease_token = mine AND state =
//! RUNNING`), stores up to `BATCH` codes with their PENDING provider links and audit rows,
//! and moves `created` on: a restart resumes from `created`, a runner that lost its lease or a
//! cancelled job writes nothing more, and no batch is stored twice.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    TryInsertResult,
};
use serde_json::json;

use super::pattern::Pattern;
use super::template::Template;
use super::{BulkJobState, MAX_ERRORS, bulk_actor, counts};
use crate::entity::{audit_log, bulk_job, bulk_job_code, promo_code, provider_link};
use crate::error::ServiceError;
use crate::model::{PromoCode, Provider};
use crate::service::PromoService;
use crate::store;

/// Codes per transaction.
pub const BATCH: usize = 1000;
/// Tries at filling a batch when generated codes collide with stored ones.
const ROUNDS: usize = 20;
/// Rows per INSERT: parameters stay under SQLite's 32,766 (and PostgreSQL's 65,535).
const LINK_ROWS: usize = 2000;
const AUDIT_ROWS: usize = 5000;
const JOIN_ROWS: usize = 10_000;

enum Batch {
    More,
    Finished,
    /// Cancelled, or another runner holds the job now.
    Stopped,
}

/// What a runner needs of a job it holds.
pub(super) struct Held {
    pub(super) id: String,
    pub(super) token: String,
    pattern: Pattern,
    template: Template,
    providers: Vec<Provider>,
}

pub(super) fn unfinished() -> [&'static str; 2] {
    [
        BulkJobState::Queued.as_str(),
        BulkJobState::Running.as_str(),
    ]
}

/// `n` codes of `pattern`, none in `taken`, none twice (case ignored). Synchronous: the thread
/// RNG (a CSPRNG) is not held across an await.
fn candidates(pattern: &Pattern, n: usize, taken: &HashSet<String>) -> Vec<String> {
    let mut rng = rand::rng();
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n.saturating_mul(4) {
        if out.len() == n {
            break;
        }
        let code = pattern.generate(&mut rng);
        let key = code.to_lowercase();
        if !taken.contains(&key) && seen.insert(key) {
            out.push(code);
        }
    }
    out
}

impl PromoService {
    /// Runs bulk jobs until `shutdown` turns true: a supervised task beside the outbox worker,
    /// so making codes and writing them to providers go on at once.
    pub async fn run_bulk_jobs(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.run_next_bulk_job(&shutdown).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::error!(%error, "bulk job pass failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval.max(Duration::from_millis(10))) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Takes one job no one runs and runs it until it is finished, cancelled, taken over, or
    /// `shutdown` turns true (then the lease is given back). False when there was none.
    pub async fn run_next_bulk_job(
        &self,
        shutdown: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<bool, ServiceError> {
        let Some(row) = self.take_bulk_job().await? else {
            return Ok(false);
        };
        let token = row.lease_token.clone().unwrap_or_default();
        let held = match (
            Pattern::parse(&row.pattern),
            serde_json::from_str::<Template>(&row.template),
        ) {
            (Ok(pattern), Ok(template)) => match template.providers() {
                Ok(providers) => Held {
                    id: row.id.clone(),
                    token,
                    pattern,
                    template,
                    providers,
                },
                Err(error) => {
                    self.finish_bulk_job(&row.id, &token, BulkJobState::Failed, &error.to_string())
                        .await?;
                    return Ok(true);
                }
            },
            (pattern, template) => {
                let why = format!(
                    "the stored job cannot be read: {:?} {:?}",
                    pattern.err(),
                    template.err().map(|e| e.to_string())
                );
                self.finish_bulk_job(&row.id, &token, BulkJobState::Failed, &why)
                    .await?;
                return Ok(true);
            }
        };
        tracing::info!(job = %held.id, created = row.created, total = row.total, "bulk job running");
        loop {
            if *shutdown.borrow() {
                self.release_bulk_job(&held).await;
                return Ok(true);
            }
            match self.bulk_batch(&held).await {
                Ok(Batch::More) => {}
                Ok(Batch::Finished | Batch::Stopped) => return Ok(true),
                Err(error) => {
                    // Left for the next pass (here or on another replica); a job that keeps
                    // failing ends FAILED once its error list is full.
                    let message = format!("a batch failed and will be retried: {error}");
                    self.note_bulk_error(&held, &message).await;
                    self.release_bulk_job(&held).await;
                    return Err(error);
                }
            }
        }
    }

    /// One batch in one transaction, fenced by the job's lease and state.
    async fn bulk_batch(&self, job: &Held) -> Result<Batch, ServiceError> {
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let fenced = bulk_job::Entity::update_many()
            .col_expr(
                bulk_job::Column::LeasedUntil,
                Expr::value(self.lease_until(now)),
            )
            .filter(bulk_job::Column::Id.eq(job.id.as_str()))
            .filter(bulk_job::Column::LeaseToken.eq(job.token.as_str()))
            .filter(bulk_job::Column::State.eq(BulkJobState::Running.as_str()))
            .exec(&txn)
            .await?;
        if fenced.rows_affected != 1 {
            tracing::info!(job = %job.id, "bulk job cancelled or taken over; this runner stops");
            return Ok(Batch::Stopped);
        }
        let row = bulk_job::Entity::find_by_id(job.id.as_str())
            .one(&txn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("a running bulk job is gone"))?;
        let want = usize::try_from(row.total - row.created)
            .unwrap_or(0)
            .min(BATCH);
        let made = self.store_codes(&txn, job, want, now).await?;
        let created = row.created + i64::try_from(made.len()).unwrap_or(0);
        let exhausted = made.len() < want;
        let state = if created >= row.total {
            BulkJobState::Done
        } else if exhausted {
            BulkJobState::Failed
        } else {
            BulkJobState::Running
        };
        let mut update = bulk_job::Entity::update_many()
            .col_expr(bulk_job::Column::Created, Expr::value(created))
            .col_expr(bulk_job::Column::State, Expr::value(state.as_str()))
            .col_expr(bulk_job::Column::UpdatedAt, Expr::value(now));
        if exhausted {
            let mut errors = counts::stored_errors(&row);
            errors.push(format!(
                "stopped after {created} of {} codes: after {ROUNDS} tries, new codes of {} kept colliding with stored ones",
                row.total, row.pattern
            ));
            errors.truncate(MAX_ERRORS);
            update = update.col_expr(
                bulk_job::Column::Errors,
                Expr::value(json!(errors).to_string()),
            );
        }
        if state.is_finished() {
            update = update.col_expr(
                bulk_job::Column::LeaseToken,
                Expr::value(Option::<String>::None),
            );
        }
        update
            .filter(bulk_job::Column::Id.eq(job.id.as_str()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        if !made.is_empty() {
            self.wake.notify_one();
        }
        let progress = crate::events::Event::BulkJobProgress {
            job_id: job.id.clone(),
        };
        self.publish([progress]).await;
        tracing::debug!(job = %job.id, created, total = row.total, "bulk batch stored");
        if state.is_finished() {
            tracing::info!(job = %job.id, created, state = state.as_str(), "bulk job finished");
            Ok(Batch::Finished)
        } else {
            Ok(Batch::More)
        }
    }

    /// Stores up to `want` new codes with their links, job rows and audit rows; the unique
    /// code_key index decides collisions (`ON CONFLICT DO NOTHING`), and colliding codes are
    /// generated again. Returns the codes stored.
    async fn store_codes(
        &self,
        txn: &DatabaseTransaction,
        job: &Held,
        want: usize,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<PromoCode>, ServiceError> {
        let mut made: Vec<PromoCode> = Vec::with_capacity(want);
        let mut taken: HashSet<String> = HashSet::new();
        for _ in 0..ROUNDS {
            let need = want - made.len();
            if need == 0 {
                break;
            }
            let mut batch = Vec::with_capacity(need);
            for code in candidates(&job.pattern, need, &taken) {
                taken.insert(code.to_lowercase());
                let id = uuid::Uuid::new_v4().to_string();
                batch.push(job.template.code(id, code, &job.providers, now)?);
            }
            if batch.is_empty() {
                continue;
            }
            let inserted = promo_code::Entity::insert_many(
                batch.iter().map(|c| store::to_active(c, None, None)),
            )
            .on_conflict_do_nothing_on([promo_code::Column::CodeKey])
            .exec_without_returning(txn)
            .await?;
            let all = matches!(inserted, TryInsertResult::Inserted(n) if n == batch.len() as u64);
            if all {
                made.extend(batch);
                continue;
            }
            let ids: HashSet<String> = promo_code::Entity::find()
                .select_only()
                .column(promo_code::Column::Id)
                .filter(promo_code::Column::Id.is_in(batch.iter().map(|c| c.id.clone())))
                .into_tuple::<String>()
                .all(txn)
                .await?
                .into_iter()
                .collect();
            tracing::debug!(job = %job.id, collided = batch.len() - ids.len(), "generated codes collided with stored ones; generating others");
            made.extend(batch.into_iter().filter(|c| ids.contains(&c.id)));
        }
        let links: Vec<provider_link::ActiveModel> = made
            .iter()
            .flat_map(|code| {
                code.providers.iter().map(|sync| {
                    let mut link = store::link_to_active(&code.id, sync, 0);
                    link.next_attempt_at = Set(Some(now));
                    link
                })
            })
            .collect();
        for chunk in links.chunks(LINK_ROWS) {
            provider_link::Entity::insert_many(chunk.iter().cloned())
                .exec_without_returning(txn)
                .await?;
        }
        for chunk in made.chunks(JOIN_ROWS) {
            bulk_job_code::Entity::insert_many(chunk.iter().map(|c| bulk_job_code::ActiveModel {
                job_id: Set(job.id.clone()),
                promo_code_id: Set(c.id.clone()),
            }))
            .exec_without_returning(txn)
            .await?;
        }
        let actor = bulk_actor(&job.id);
        for chunk in made.chunks(AUDIT_ROWS) {
            audit_log::Entity::insert_many(chunk.iter().map(|code| {
                audit_log::ActiveModel {
                    promo_code_id: Set(code.id.clone()),
                    actor: Set(actor.clone()),
                    action: Set("create".to_string()),
                    // A single create's row (fields set from null), and the job that made it.
                    changes: Set({
                        let mut changes = crate::history::created(code);
                        if let serde_json::Value::Object(map) = &mut changes {
                            map.insert("bulkJob".into(), json!(job.id));
                        }
                        changes.to_string()
                    }),
                    at: Set(now),
                    version: Set(Some(1)),
                    ..Default::default()
                }
            }))
            .exec_without_returning(txn)
            .await?;
        }
        Ok(made)
    }
}
