//! Bulk code generation (issue 16): `generate` validates a job once and stores it; a runner
//! (`runner.rs`, a supervised task beside the outbox worker) makes its codes in batches under
//! a lease on the job; the outbox worker then creates them on the providers at their rate
//! limits. Every code is an ordinary code: version 1, PENDING links, an audit row `create`
//! with actor `bulk:<job id>`.

mod counts;
mod insert;
mod lease;
pub mod pattern;
mod runner;
mod template;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::entity::bulk_job;
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::model::CreatePromoCodeInput;
use crate::service::PromoService;
pub use pattern::Pattern;
pub use runner::BATCH;
use template::Template;

/// Most codes one job makes.
pub const MAX_COUNT: i64 = 100_000;
/// Most messages a job keeps in `errors`.
pub const MAX_ERRORS: usize = 20;

/// Who made a bulk job's codes, in the audit log (`bulk:<job id>`).
pub use crate::history::bulk_actor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkJobState {
    Queued,
    Running,
    Done,
    Cancelled,
    Failed,
}

impl BulkJobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Done => "DONE",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Done,
            Self::Cancelled,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Cancelled | Self::Failed)
    }
}

/// What `generatePromoCodes` asks for: how many, their shape, and the settings they share
/// (`settings.code` is ignored).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenerateInput {
    pub count: i64,
    pub pattern: Option<String>,
    pub prefix: Option<String>,
    pub length: Option<i64>,
    pub settings: CreatePromoCodeInput,
}

/// A job as callers see it. `synced` counts codes SYNCED on every provider, `failed` codes
/// FAILED on at least one; both are counted from the codes' provider links when read.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkJob {
    pub id: String,
    pub state: BulkJobState,
    pub pattern: String,
    pub total: i64,
    pub created: i64,
    pub synced: i64,
    pub failed: i64,
    pub errors: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn invalid(field: &str, message: impl Into<String>) -> UserError {
    UserError::new(&["input", field], ErrorCode::Invalid, message)
}

/// The job's pattern, or why there is none.
fn pattern_of(input: &GenerateInput) -> Result<Pattern, UserError> {
    match (&input.pattern, &input.prefix, input.length) {
        (Some(pattern), None, None) => {
            Pattern::parse(pattern).map_err(|why| invalid("pattern", format!("the pattern {why}")))
        }
        (None, prefix, Some(length)) => {
            let length = usize::try_from(length).unwrap_or(0);
            Pattern::prefixed(prefix.as_deref().unwrap_or(""), length)
                .map_err(|why| invalid("length", why))
        }
        (None, Some(_), None) => Err(UserError::new(
            &["input", "length"],
            ErrorCode::Required,
            "a prefix needs a length (how many random characters follow it)",
        )),
        (None, None, None) => Err(UserError::new(
            &["input", "pattern"],
            ErrorCode::Required,
            "give a pattern, or a prefix and a length",
        )),
        (Some(_), _, _) => Err(invalid(
            "pattern",
            "give a pattern or a prefix and a length, not both",
        )),
    }
}

impl PromoService {
    /// Accepts a bulk job: checks everything once (count, pattern, its space, and the shared
    /// settings with the create rules on a sample code) and stores the job QUEUED. Nothing is
    /// stored when anything is wrong.
    pub async fn generate(
        &self,
        input: GenerateInput,
        actor: &str,
    ) -> Result<BulkJob, ServiceError> {
        let mut errors = Vec::new();
        if !(1..=MAX_COUNT).contains(&input.count) {
            errors.push(invalid(
                "count",
                format!("must be 1 to {MAX_COUNT}, not {}", input.count),
            ));
        }
        let pattern = pattern_of(&input).map_err(|e| errors.push(e)).ok();
        if let Some(pattern) = &pattern {
            let count = u128::try_from(input.count.max(1)).unwrap_or(1);
            if pattern.space() < pattern::SPACE_FACTOR.saturating_mul(count) {
                errors.push(invalid(
                    if input.pattern.is_some() { "pattern" } else { "length" },
                    format!(
                        "{} can make {} distinct codes; {} codes need at least {} times as many: add random characters",
                        pattern.as_str(), pattern.space(), input.count, pattern::SPACE_FACTOR
                    ),
                ));
            }
        }
        let now = Utc::now();
        let sample = pattern.as_ref().map_or_else(
            || "SAMPLE-CODE".to_string(),
            |p| p.generate(&mut rand::rng()),
        );
        let create = CreatePromoCodeInput {
            code: sample,
            ..input.settings.clone()
        };
        let new = match crate::rules::validate_create(&create, now) {
            Ok(new) => Some(new),
            Err(found) => {
                // The pattern's own checks above say more than the sample code's.
                errors.extend(found.into_iter().filter(|e| e.field != ["input", "code"]));
                None
            }
        };
        for provider in &input.settings.providers {
            if !self.providers.is_configured(*provider) {
                errors.push(UserError::new(
                    &["input", "providers"],
                    ErrorCode::NotConfigured,
                    format!("{provider} is not configured on this server"),
                ));
            }
        }
        let (Some(pattern), Some(new), true) = (pattern, new, errors.is_empty()) else {
            return Err(ServiceError::User(errors));
        };
        let template = Template::new(&new, input.settings.name.is_some());
        let id = uuid::Uuid::new_v4().to_string();
        let row = bulk_job::ActiveModel {
            id: Set(id.clone()),
            state: Set(BulkJobState::Queued.as_str().to_string()),
            total: Set(input.count),
            created: Set(0),
            pattern: Set(pattern.as_str().to_string()),
            template: Set(serde_json::to_string(&template).map_err(anyhow::Error::from)?),
            errors: Set("[]".to_string()),
            actor: Set(actor.to_string()),
            lease_token: Set(None),
            leased_until: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        bulk_job::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await?;
        tracing::info!(job = %id, count = input.count, pattern = %pattern.as_str(), %actor, "bulk job queued");
        // The job as stored: a runner may take it the moment it is committed, and the answer
        // says what was accepted.
        Ok(BulkJob {
            id,
            state: BulkJobState::Queued,
            pattern: pattern.as_str().to_string(),
            total: input.count,
            created: 0,
            synced: 0,
            failed: 0,
            errors: Vec::new(),
            created_at: now,
            updated_at: now,
        })
    }

    /// A job with its counts, or None.
    pub async fn bulk_job(&self, id: &str) -> Result<Option<BulkJob>, ServiceError> {
        let Some(row) = bulk_job::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        Ok(Some(counts::view(&self.db, row).await?))
    }

    /// Stops a job: no new codes after the batch in progress (codes already made stay and are
    /// still written to the providers). A finished job is refused with INVALID.
    pub async fn cancel_bulk_job(&self, id: &str) -> Result<BulkJob, ServiceError> {
        let cancelled = bulk_job::Entity::update_many()
            .col_expr(
                bulk_job::Column::State,
                Expr::value(BulkJobState::Cancelled.as_str()),
            )
            .col_expr(bulk_job::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(bulk_job::Column::Id.eq(id))
            .filter(bulk_job::Column::State.is_in([
                BulkJobState::Queued.as_str(),
                BulkJobState::Running.as_str(),
            ]))
            .exec(&self.db)
            .await?;
        let job = self.bulk_job(id).await?.ok_or_else(|| {
            ServiceError::from(UserError::new(
                &["id"],
                ErrorCode::NotFound,
                "no bulk job has this id",
            ))
        })?;
        if cancelled.rows_affected == 1 {
            tracing::info!(job = %id, created = job.created, "bulk job cancelled");
            let progress = crate::events::Event::BulkJobProgress {
                job_id: id.to_string(),
            };
            self.publish([progress]).await;
            Ok(job)
        } else {
            Err(UserError::new(
                &["id"],
                ErrorCode::Invalid,
                format!("the job is {} already", job.state.as_str()),
            )
            .into())
        }
    }
}
