//! Running bulk jobs: one runner at a time per job (a lease taken with a conditional UPDATE,
//! as codes are leased in `service/lease.rs`), codes made in batches. Each batch is one
//! transaction that first renews the lease (`... WHERE lease_token = mine AND state =
//! RUNNING`), stores up to `BATCH` codes with their PENDING provider links and audit rows,
//! and moves `created` on: a restart resumes from `created`, a runner that lost its lease or a
//! cancelled job writes nothing more, and no batch is stored twice.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;

use super::insert::{BatchSql, Phase, Phases, Stored, code_id};
use super::pattern::Pattern;
use super::template::Template;
use super::{BulkJobState, MAX_ERRORS, counts};
use crate::entity::bulk_job;
use crate::error::ServiceError;
use crate::model::Provider;
use crate::service::PromoService;

/// Codes per transaction.
pub const BATCH: usize = 1000;
/// Tries at filling a batch when generated codes collide with stored ones.
const ROUNDS: usize = 20;

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
    pub(super) template: Template,
    pub(super) providers: Vec<Provider>,
    /// Where the runner's time went, logged when the job ends.
    phases: Phases,
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
                changed = shutdown.changed() => {
                    // The sender is gone: no one can stop this loop any more, and without this
                    // it would spin (a benchmark's next database saw one spinning on the last).
                    if changed.is_err() {
                        return;
                    }
                }
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
                    phases: Phases::default(),
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
        let started = Instant::now();
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
        job.phases.add(Phase::Fence, started);
        let made = self.store_codes(&txn, job, want, now).await?;
        let started = Instant::now();
        let created = row.created + i64::try_from(made).unwrap_or(0);
        let exhausted = made < want;
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
        job.phases.add(Phase::Commit, started);
        if made > 0 {
            self.wake.notify_one();
        }
        let progress = crate::events::Event::BulkJobProgress {
            job_id: job.id.clone(),
        };
        self.publish([progress]).await;
        tracing::debug!(job = %job.id, created, total = row.total, "bulk batch stored");
        if state.is_finished() {
            tracing::info!(job = %job.id, created, state = state.as_str(), phases = %job.phases, "bulk job finished");
            Ok(Batch::Finished)
        } else {
            Ok(Batch::More)
        }
    }

    /// Stores up to `want` new codes with their links, job rows and audit rows; the unique
    /// code_key index decides collisions (`ON CONFLICT DO NOTHING ... RETURNING` names the
    /// codes stored), and colliding codes are generated again. Returns how many were stored.
    async fn store_codes(
        &self,
        txn: &DatabaseTransaction,
        job: &Held,
        want: usize,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, ServiceError> {
        let sql = BatchSql::new(
            self.db.get_database_backend(),
            &job.id,
            &job.template,
            &job.providers,
            now,
        )?;
        let mut made: Vec<Stored> = Vec::with_capacity(want);
        let mut taken: HashSet<String> = HashSet::new();
        for _ in 0..ROUNDS {
            let need = want - made.len();
            if need == 0 {
                break;
            }
            let started = Instant::now();
            let batch: Vec<Stored> = {
                // The thread RNG is not Send: not held across the await below.
                let mut rng = rand::rng();
                candidates(&job.pattern, need, &taken)
                    .into_iter()
                    .map(|code| {
                        taken.insert(code.to_lowercase());
                        (code_id(now, &mut rng), code)
                    })
                    .collect()
            };
            job.phases.add(Phase::Generate, started);
            if batch.is_empty() {
                continue;
            }
            let started = Instant::now();
            let stored = sql.insert_codes(txn, &batch).await?;
            job.phases.add(Phase::Codes, started);
            if stored.len() < batch.len() {
                tracing::debug!(job = %job.id, collided = batch.len() - stored.len(), "generated codes collided with stored ones; generating others");
            }
            made.extend(stored);
        }
        let started = Instant::now();
        sql.insert_rows(txn, &made).await?;
        job.phases.add(Phase::Rows, started);
        Ok(made.len())
    }
}
