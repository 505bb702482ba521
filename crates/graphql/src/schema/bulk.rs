//! Bulk generation in the API: `generatePromoCodes`, `bulkJob`, `cancelBulkJob`, over
//! `promohub_domain::bulk`.

use async_graphql::{Context, Enum, ID, InputObject, SimpleObject};
use promohub_domain as domain;
use promohub_domain::bulk as dom;

use super::context::{actor, int, internal, query_error, service};
use super::{CodeTermsInput, DateTime, Provider, UserError};

/// Where a bulk job is. QUEUED and RUNNING jobs go on (after a restart too); the others are
/// finished.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::bulk::BulkJobState")]
pub enum BulkJobState {
    Queued,
    Running,
    /// Every code is stored (they may still be syncing: see synced and failed).
    Done,
    /// Stopped by cancelBulkJob: the codes made before stay.
    Cancelled,
    /// Stopped by a problem named in errors: the codes made before stay.
    Failed,
}

/// A generatePromoCodes job.
#[derive(SimpleObject)]
pub struct BulkJob {
    id: ID,
    state: BulkJobState,
    /// The pattern the codes follow (prefix + length is shown as the prefix and '*'s).
    pattern: String,
    /// How many codes were asked for.
    total: i32,
    /// Codes stored so far (visible, PENDING on their providers until written).
    created: i32,
    /// Codes SYNCED on every provider.
    synced: i32,
    /// Codes FAILED on at least one provider (retrySync them).
    failed: i32,
    /// What went wrong: the job's own problems, then distinct provider failures (at most 20).
    errors: Vec<String>,
    created_at: DateTime,
    updated_at: DateTime,
}

impl From<dom::BulkJob> for BulkJob {
    fn from(job: dom::BulkJob) -> Self {
        Self {
            id: ID(job.id),
            state: job.state.into(),
            pattern: job.pattern,
            total: int(job.total),
            created: int(job.created),
            synced: int(job.synced),
            failed: int(job.failed),
            errors: job.errors,
            created_at: DateTime(job.created_at),
            updated_at: DateTime(job.updated_at),
        }
    }
}

/// Many codes with the same settings. Give a pattern, or a prefix and a length.
#[derive(InputObject)]
pub struct GeneratePromoCodesInput {
    /// How many codes: 1 to 100000.
    count: i32,
    /// '#' a digit (2-9), '?' a letter (A-Z without I, L, O), '*' either; letters, digits, '-'
    /// and '_' as they are. E.g. SPRING-####-????. It must be able to make 10 times count codes.
    pattern: Option<String>,
    /// Literal start of every code, followed by `length` random characters (as '*').
    prefix: Option<String>,
    length: Option<i32>,
    /// Defaults to each code itself.
    name: Option<String>,
    #[graphql(flatten)]
    terms: CodeTermsInput,
    /// The providers to create every code on; at least one, no repeats.
    providers: Vec<Provider>,
}

impl From<GeneratePromoCodesInput> for dom::GenerateInput {
    fn from(input: GeneratePromoCodesInput) -> Self {
        Self {
            count: i64::from(input.count),
            pattern: input.pattern,
            prefix: input.prefix,
            length: input.length.map(i64::from),
            settings: input
                .terms
                .into_create(String::new(), input.name, input.providers),
        }
    }
}

/// The job, accepted and QUEUED; or userErrors and nothing stored.
#[derive(SimpleObject)]
pub struct GeneratePromoCodesPayload {
    /// Null when userErrors is not empty.
    bulk_job: Option<BulkJob>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct CancelBulkJobPayload {
    /// The job, CANCELLED; null when userErrors is not empty (NOT_FOUND, or INVALID for a
    /// finished job).
    bulk_job: Option<BulkJob>,
    user_errors: Vec<UserError>,
}

type Answer = (Option<BulkJob>, Vec<UserError>);

fn answer(result: Result<dom::BulkJob, domain::ServiceError>) -> async_graphql::Result<Answer> {
    match result {
        Ok(job) => Ok((Some(job.into()), Vec::new())),
        Err(domain::ServiceError::User(errors)) => {
            Ok((None, errors.iter().map(UserError::from).collect()))
        }
        Err(domain::ServiceError::Internal(error)) => Err(internal(format!("{error:#}"))),
    }
}

pub(super) async fn generate(
    ctx: &Context<'_>,
    input: GeneratePromoCodesInput,
) -> async_graphql::Result<GeneratePromoCodesPayload> {
    let (bulk_job, user_errors) = answer(service(ctx)?.generate(input.into(), &actor(ctx)).await)?;
    Ok(GeneratePromoCodesPayload {
        bulk_job,
        user_errors,
    })
}

pub(super) async fn cancel(
    ctx: &Context<'_>,
    id: ID,
) -> async_graphql::Result<CancelBulkJobPayload> {
    let (bulk_job, user_errors) = answer(service(ctx)?.cancel_bulk_job(&id).await)?;
    Ok(CancelBulkJobPayload {
        bulk_job,
        user_errors,
    })
}

pub(super) async fn get(ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<BulkJob>> {
    Ok(service(ctx)?
        .bulk_job(&id)
        .await
        .map_err(query_error)?
        .map(Into::into))
}
