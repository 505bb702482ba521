//! The GraphQL schema of contract/schema.graphql, over the domain service. Doc comments are the
//! descriptions frontends see in GraphiQL.

use async_graphql::{
    Context, EmptySubscription, Enum, Error, ErrorExtensions, Guard, ID, InputObject,
    InputValueError, InputValueResult, Json, MaybeUndefined, Object, Scalar, ScalarType, Schema,
    SimpleObject,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use chrono::Utc;
use promohub_domain as domain;
use promohub_domain::providers::{Currencies, Field};
use serde_json::Value;

mod bulk;

pub type PromoHubSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The schema over a service. Depth, cost and size limits are checked before execution by
/// `crate::limits` (async-graphql's own visitors follow every fragment spread, which is what
/// made doubling fragments exponential).
pub fn build(service: domain::PromoService) -> PromoHubSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(service)
        .finish()
}

/// The schema without a service, for printing the SDL.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .finish()
        .sdl()
}

/// RFC 3339 timestamp in UTC, e.g. 2026-11-22T10:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// The contract writes UTC as `Z`; input may carry any offset and is turned into UTC.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(
                        "expected an RFC 3339 timestamp, e.g. 2026-11-22T10:00:00Z",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// Who is calling, from the bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub can_write: bool,
    /// Names the token in the audit log, never the token itself.
    pub actor: String,
}

fn coded(message: impl Into<String>, code: &'static str) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

/// Logs an internal error with its context; callers see no details.
fn internal(error: impl std::fmt::Display) -> Error {
    tracing::error!(%error, "internal error");
    coded("internal error", "INTERNAL")
}

fn service<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a domain::PromoService> {
    ctx.data::<domain::PromoService>()
        .map_err(|_| internal("no service in the schema context"))
}

/// Mutations need a write token.
struct WriteGuard;

impl Guard for WriteGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<Caller>() {
            Some(caller) if caller.can_write => Ok(()),
            _ => Err(coded("this token may only read", "FORBIDDEN")),
        }
    }
}

fn actor(ctx: &Context<'_>) -> String {
    ctx.data_opt::<Caller>()
        .map_or_else(|| "unknown".to_string(), |c| c.actor.clone())
}

/// GraphQL's Int is 32 bits; stored counts never come near the edge.
fn int(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

// ---------------------------------------------------------------------------------------------
// Enums

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::Provider")]
pub enum Provider {
    Flex,
    Fynn,
    Whop,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::PromoCodeStatus")]
pub enum PromoCodeStatus {
    /// Redeemable (subject to limits and expiry).
    Active,
    /// Paused; can be made ACTIVE again.
    Inactive,
    /// Retired for good; no further changes are accepted.
    Archived,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::DiscountType")]
pub enum DiscountType {
    Percentage,
    FixedAmount,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::DurationType")]
pub enum DurationType {
    /// Applies to the first payment or billing period only.
    Once,
    /// Applies to a fixed number of billing periods (Duration.periods).
    Repeating,
    /// Applies to every billing period.
    Forever,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::SyncState")]
pub enum SyncState {
    /// Accepted here; the provider write has not succeeded yet and is being retried.
    Pending,
    /// The provider holds exactly what this service holds.
    Synced,
    /// Retries are exhausted or the provider rejected the change; see lastError.
    Failed,
    /// A sync found the code turned off on the provider (inactive or archived there) while it
    /// is ACTIVE here; lastError says what was seen. See resolveDrift.
    DisabledOnProvider,
    /// A sync found the provider no longer holds the code; lastError says so. See resolveDrift.
    DeletedOnProvider,
}

/// How resolveDrift settles a difference between this service and a provider.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::DriftStrategy")]
pub enum DriftStrategy {
    /// Write this service's state to the provider (through the outbox: the provider's entry is
    /// PENDING until written; a code the provider no longer holds is created there again).
    PushOurs,
    /// Take the provider's values (status, and the limits, expiry, plans and metadata it holds)
    /// into this service as a new version, audited; other providers of the code follow.
    AdoptTheirs,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::SortField")]
pub enum PromoCodeSortField {
    CreatedAt,
    Code,
    ExpiresAt,
    TimesRedeemed,
}

// ---------------------------------------------------------------------------------------------
// Output types

#[derive(SimpleObject)]
pub struct Discount {
    #[graphql(name = "type")]
    kind: DiscountType,
    /// 0 < percentOff <= 100, set when type is PERCENTAGE.
    percent_off: Option<f64>,
    /// Amount in the currency's minor units (cents), set when type is FIXED_AMOUNT.
    amount_off: Option<i32>,
    /// ISO 4217 code in upper case, set when type is FIXED_AMOUNT.
    currency: Option<String>,
}

#[derive(SimpleObject)]
pub struct Duration {
    #[graphql(name = "type")]
    kind: DurationType,
    /// Number of billing periods, set when type is REPEATING.
    periods: Option<i32>,
}

#[derive(SimpleObject)]
pub struct Restrictions {
    plan_ids: Vec<String>,
    product_ids: Vec<String>,
    /// Only this provider-side customer may redeem the code.
    customer_id: Option<String>,
    /// Only customers who never bought before may redeem the code.
    new_customers_only: bool,
}

/// The state of one code on one provider.
#[derive(SimpleObject)]
pub struct ProviderSync {
    provider: Provider,
    /// The provider's own id for the code (e.g. fpromo_..., promo_..., a Fynn coupon id); null until first written.
    external_id: Option<String>,
    state: SyncState,
    /// The last error the provider returned, human readable; null when SYNCED.
    last_error: Option<String>,
    /// Provider write attempts made for the latest change.
    attempts: i32,
    synced_at: Option<DateTime>,
}

/// Whether a code's provider links came with it (single reads) or are to be loaded for the
/// whole page at once through the request's `ProviderLinksLoader` (lists).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Links {
    Loaded,
    Deferred,
}

pub struct PromoCode(Arc<domain::PromoCode>, Links);

impl PromoCode {
    fn loaded(code: domain::PromoCode) -> Self {
        Self(Arc::new(code), Links::Loaded)
    }
}

/// Loads the provider links of every code of a page in one query (a DataLoader per request,
/// so nothing is cached across requests or callers).
pub struct ProviderLinksLoader(domain::PromoService);

impl async_graphql::dataloader::Loader<String> for ProviderLinksLoader {
    type Value = Vec<domain::ProviderSync>;
    type Error = Arc<domain::ServiceError>;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        self.0.providers_of(ids).await.map_err(Arc::new)
    }
}

/// What every request carries besides the caller: its own links loader, whose loads count
/// into the request's SQL statements.
pub fn with_request_data(
    request: async_graphql::Request,
    service: &domain::PromoService,
    queries: Arc<AtomicUsize>,
) -> async_graphql::Request {
    let spawn = move |load| tokio::spawn(domain::store::counting_queries(queries.clone(), load));
    request.data(DataLoader::with_cache(
        ProviderLinksLoader(service.clone()),
        spawn,
        HashMapCache::default(),
    ))
}

#[Object]
impl PromoCode {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Unique in this service, compared case-insensitively; stored as given.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Shown to buyers; defaults to the code.
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn status(&self) -> PromoCodeStatus {
        self.0.status.into()
    }

    async fn discount(&self) -> Discount {
        match &self.0.discount {
            domain::Discount::Percentage { percent_off } => Discount {
                kind: DiscountType::Percentage,
                percent_off: Some(*percent_off),
                amount_off: None,
                currency: None,
            },
            domain::Discount::FixedAmount {
                amount_off,
                currency,
            } => Discount {
                kind: DiscountType::FixedAmount,
                percent_off: None,
                amount_off: Some(int(*amount_off)),
                currency: Some(currency.clone()),
            },
        }
    }

    async fn duration(&self) -> Duration {
        Duration {
            kind: self.0.duration.kind().into(),
            periods: self.0.duration.periods().map(|p| int(i64::from(p))),
        }
    }

    /// Total redemptions allowed; null means unlimited.
    async fn max_redemptions(&self) -> Option<i32> {
        self.0.max_redemptions.map(int)
    }

    /// Redemptions allowed per customer; null means unlimited.
    async fn max_redemptions_per_customer(&self) -> Option<i32> {
        self.0.max_redemptions_per_customer.map(int)
    }

    /// As last reported by the providers (summed over them).
    async fn times_redeemed(&self) -> i32 {
        int(self.0.times_redeemed)
    }

    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime)
    }

    async fn restrictions(&self) -> Restrictions {
        let r = &self.0.restrictions;
        Restrictions {
            plan_ids: r.plan_ids.clone(),
            product_ids: r.product_ids.clone(),
            customer_id: r.customer_id.clone(),
            new_customers_only: r.new_customers_only,
        }
    }

    async fn metadata(&self) -> Json<serde_json::Map<String, Value>> {
        Json(self.0.metadata.clone())
    }

    /// One entry per provider the code lives on.
    async fn providers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProviderSync>> {
        let deferred;
        let links = match self.1 {
            Links::Loaded => &self.0.providers,
            Links::Deferred => {
                deferred = links_loader(ctx)?
                    .load_one(self.0.id.clone())
                    .await
                    .map_err(|e| internal(format!("{e:#}")))?
                    .unwrap_or_default();
                &deferred
            }
        };
        Ok(links
            .iter()
            .map(|p| ProviderSync {
                provider: p.provider.into(),
                external_id: p.external_id.clone(),
                state: p.state.into(),
                last_error: p.last_error.clone(),
                attempts: p.attempts,
                synced_at: p.synced_at.map(DateTime),
            })
            .collect())
    }

    /// Increases by one on every accepted change; used for optimistic concurrency.
    async fn version(&self) -> i32 {
        int(self.0.version)
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct PromoCodeEdge {
    cursor: String,
    node: PromoCode,
}

/// A page, and the filter it was read with (for `totalCount`, counted only when asked).
pub struct PromoCodeConnection(domain::PageOf, domain::ListFilter);

type LinksLoader = DataLoader<ProviderLinksLoader, HashMapCache>;

fn links_loader<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a LinksLoader> {
    ctx.data::<LinksLoader>()
        .map_err(|_| internal("no provider links loader in the request"))
}

impl PromoCodeConnection {
    /// When the page's codes are asked for their providers, loads the links of the whole page
    /// in one query up front; each code's `providers` then reads the loader's cache. (Left to
    /// the loader's own batching, a page's keys arrive over more than its batching delay in a
    /// debug build and split into several queries.)
    async fn load_links(&self, ctx: &Context<'_>, wanted: bool) -> async_graphql::Result<()> {
        if wanted {
            let ids: Vec<String> = self.0.items.iter().map(|(_, c)| c.id.clone()).collect();
            links_loader(ctx)?
                .load_many(ids)
                .await
                .map_err(|e| internal(format!("{e:#}")))?;
        }
        Ok(())
    }

    /// Rows that could not be read are left out of the page and named in `errors`, once per
    /// list asked for: the rest of the page answers.
    fn report_unreadable(&self, ctx: &Context<'_>) {
        for row in &self.0.unreadable {
            let error = coded(
                format!(
                    "promo code {} cannot be read and is left out of this page",
                    row.id
                ),
                "UNREADABLE_ROW",
            )
            .into_server_error(ctx.item.pos);
            ctx.add_error(ctx.set_error_path(error));
        }
    }
}

#[Object]
impl PromoCodeConnection {
    async fn edges(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PromoCodeEdge>> {
        self.report_unreadable(ctx);
        let wanted = ctx.look_ahead().field("node").field("providers").exists();
        self.load_links(ctx, wanted).await?;
        Ok(self
            .0
            .items
            .iter()
            .map(|(cursor, code)| PromoCodeEdge {
                cursor: cursor.clone(),
                node: PromoCode(code.clone(), Links::Deferred),
            })
            .collect())
    }

    async fn nodes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PromoCode>> {
        self.report_unreadable(ctx);
        self.load_links(ctx, ctx.look_ahead().field("providers").exists())
            .await?;
        Ok(self
            .0
            .items
            .iter()
            .map(|(_, code)| PromoCode(code.clone(), Links::Deferred))
            .collect())
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            has_previous_page: self.0.has_previous_page,
            start_cursor: self.0.items.first().map(|(c, _)| c.clone()),
            end_cursor: self.0.end_cursor.clone(),
        }
    }

    /// Codes matching the filter. Costs a COUNT over them: select it only when it is shown.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let count = service(ctx)?.count(&self.1).await.map_err(query_error)?;
        Ok(int(i64::try_from(count).unwrap_or(i64::MAX)))
    }
}

/// What a provider supports, so a form can offer only what will work.
#[derive(SimpleObject)]
pub struct ProviderCapabilities {
    discount_types: Vec<DiscountType>,
    duration_types: Vec<DurationType>,
    max_redemptions: bool,
    max_redemptions_per_customer: bool,
    expires_at: bool,
    plan_restrictions: bool,
    product_restrictions: bool,
    customer_restriction: bool,
    new_customers_only: bool,
    metadata: bool,
    /// Names of UpdatePromoCodeInput fields this provider accepts after creation (a dotted name
    /// such as restrictions.planIds when only part of a field may change).
    updatable_fields: Vec<String>,
    /// ISO 4217 codes accepted for FIXED_AMOUNT discounts; null means any.
    currencies: Option<Vec<String>>,
    /// True when percentOff must be a whole number.
    whole_percent_only: bool,
}

#[derive(SimpleObject)]
pub struct ProviderInfo {
    provider: Provider,
    /// True when a base URL and credentials are configured.
    configured: bool,
    capabilities: ProviderCapabilities,
}

#[derive(SimpleObject)]
pub struct PromoCodeValidation {
    valid: bool,
    /// When not valid, one of: NOT_FOUND, INACTIVE, ARCHIVED, EXPIRED, EXHAUSTED, NOT_ON_PROVIDER, PLAN_NOT_ELIGIBLE, CUSTOMER_NOT_ELIGIBLE, DISABLED_ON_PROVIDER (the provider asked about turned the code off on its side), DELETED_ON_PROVIDER (the provider asked about no longer holds it).
    reason: Option<String>,
    promo_code: Option<PromoCode>,
}

/// A problem with the caller's input or with what a provider accepts. Nothing was changed.
#[derive(SimpleObject)]
pub struct UserError {
    /// Path to the input field, e.g. ["input", "discount", "percentOff"]; null when not about one field.
    field: Option<Vec<String>>,
    /// One of: INVALID, REQUIRED, DUPLICATE_CODE, NOT_FOUND, UNSUPPORTED_BY_PROVIDER, IMMUTABLE, VERSION_CONFLICT, ARCHIVED, NOT_CONFIGURED, PROVIDER_REJECTED, IMMUTABLE_ON_PROVIDER (the provider refuses every change to the code now, e.g. a redeemed Fynn coupon; the message says what the provider still holds).
    code: String,
    message: String,
}

impl From<&domain::UserError> for UserError {
    fn from(e: &domain::UserError) -> Self {
        Self {
            field: (!e.field.is_empty()).then(|| e.field.clone()),
            code: e.code.as_str().to_string(),
            message: e.message.clone(),
        }
    }
}

#[derive(SimpleObject)]
pub struct PromoCodePayload {
    /// Null when userErrors is not empty.
    promo_code: Option<PromoCode>,
    user_errors: Vec<UserError>,
}

fn payload(
    result: Result<domain::PromoCode, domain::ServiceError>,
) -> async_graphql::Result<PromoCodePayload> {
    match result {
        Ok(code) => Ok(PromoCodePayload {
            promo_code: Some(PromoCode::loaded(code)),
            user_errors: Vec::new(),
        }),
        Err(domain::ServiceError::User(errors)) => Ok(PromoCodePayload {
            promo_code: None,
            user_errors: errors.iter().map(UserError::from).collect(),
        }),
        Err(domain::ServiceError::Internal(error)) => Err(internal(format!("{error:#}"))),
    }
}

/// A user error of a query, as a top-level error carrying its code and field.
fn query_error(error: domain::ServiceError) -> Error {
    match error {
        domain::ServiceError::User(errors) => {
            let first = errors.into_iter().next();
            let message = first
                .as_ref()
                .map_or("invalid input".to_string(), |e| e.message.clone());
            Error::new(message).extend_with(|_, ext| {
                if let Some(first) = &first {
                    ext.set("code", first.code.as_str());
                    ext.set("field", first.field.clone());
                }
            })
        }
        domain::ServiceError::Internal(error) => internal(format!("{error:#}")),
    }
}

#[derive(SimpleObject)]
pub struct SyncReport {
    /// Codes found on a provider and unknown here, now stored.
    imported: i32,
    /// Codes whose provider-side state (redemptions, status) was refreshed.
    updated: i32,
    unchanged: i32,
    /// Codes whose provider-side settings differ from this service's, as 'PROVIDER:CODE: what differs'.
    drifted: Vec<String>,
    errors: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Input types

#[derive(InputObject)]
pub struct PromoCodeFilter {
    status: Option<Vec<PromoCodeStatus>>,
    /// Codes that live on this provider.
    provider: Option<Provider>,
    sync_state: Option<SyncState>,
    /// Case-insensitive prefix of the code.
    code_prefix: Option<String>,
    expires_before: Option<DateTime>,
    expires_after: Option<DateTime>,
}

#[derive(InputObject)]
pub struct DiscountInput {
    #[graphql(name = "type")]
    kind: DiscountType,
    percent_off: Option<f64>,
    amount_off: Option<i32>,
    currency: Option<String>,
}

#[derive(InputObject)]
pub struct DurationInput {
    #[graphql(name = "type")]
    kind: DurationType,
    periods: Option<i32>,
}

#[derive(InputObject)]
pub struct RestrictionsInput {
    plan_ids: Option<Vec<String>>,
    product_ids: Option<Vec<String>>,
    customer_id: Option<String>,
    new_customers_only: Option<bool>,
}

impl From<RestrictionsInput> for domain::RestrictionsInput {
    fn from(r: RestrictionsInput) -> Self {
        Self {
            plan_ids: r.plan_ids,
            product_ids: r.product_ids,
            customer_id: r.customer_id,
            new_customers_only: r.new_customers_only,
        }
    }
}

#[derive(InputObject)]
pub struct CreatePromoCodeInput {
    code: String,
    name: Option<String>,
    discount: DiscountInput,
    /// Defaults to ONCE.
    duration: Option<DurationInput>,
    max_redemptions: Option<i32>,
    max_redemptions_per_customer: Option<i32>,
    expires_at: Option<DateTime>,
    restrictions: Option<RestrictionsInput>,
    metadata: Option<Json<Value>>,
    /// The providers to create the code on; at least one, no repeats.
    providers: Vec<Provider>,
}

/// Only the fields given change. Fields that a provider of the code cannot change give IMMUTABLE.
#[derive(InputObject)]
pub struct UpdatePromoCodeInput {
    name: Option<String>,
    /// ACTIVE or INACTIVE; use archivePromoCode to archive.
    status: Option<PromoCodeStatus>,
    /// null removes the limit.
    max_redemptions: MaybeUndefined<i32>,
    /// null removes the limit.
    max_redemptions_per_customer: MaybeUndefined<i32>,
    /// null removes the expiry.
    expires_at: MaybeUndefined<DateTime>,
    restrictions: Option<RestrictionsInput>,
    metadata: Option<Json<Value>>,
    /// When given and different from the stored version, the update is refused with VERSION_CONFLICT.
    expected_version: Option<i32>,
}

fn patch<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> domain::Patch<U> {
    match value {
        MaybeUndefined::Undefined => domain::Patch::Keep,
        MaybeUndefined::Null => domain::Patch::Clear,
        MaybeUndefined::Value(v) => domain::Patch::Set(map(v)),
    }
}

// ---------------------------------------------------------------------------------------------
// Roots

pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    async fn promo_code(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<PromoCode>> {
        Ok(service(ctx)?
            .get(&id)
            .await
            .map_err(query_error)?
            .map(PromoCode::loaded))
    }

    /// A generatePromoCodes job, with its progress; null when there is none with this id.
    async fn bulk_job(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<bulk::BulkJob>> {
        bulk::get(ctx, id).await
    }

    async fn promo_code_by_code(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<PromoCode>> {
        Ok(service(ctx)?
            .get_by_code(&code)
            .await
            .map_err(query_error)?
            .map(PromoCode::loaded))
    }

    /// first is 1..200 (default 50); after is an opaque cursor from a previous page.
    async fn promo_codes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<PromoCodeFilter>,
        sort_by: Option<PromoCodeSortField>,
        descending: Option<bool>,
    ) -> async_graphql::Result<PromoCodeConnection> {
        let filter = filter.map_or_else(domain::ListFilter::default, |f| domain::ListFilter {
            status: f.status.map(|s| s.into_iter().map(Into::into).collect()),
            provider: f.provider.map(Into::into),
            sync_state: f.sync_state.map(Into::into),
            code_prefix: f.code_prefix,
            expires_before: f.expires_before.map(|t| t.0),
            expires_after: f.expires_after.map(|t| t.0),
        });
        let page = service(ctx)?
            .list(domain::ListQuery {
                first: first.map(i64::from),
                after,
                filter: filter.clone(),
                sort: sort_by.map(Into::into).unwrap_or_default(),
                descending: descending.unwrap_or(false),
            })
            .await
            .map_err(query_error)?;
        Ok(PromoCodeConnection(page, filter))
    }

    /// Can this code be redeemed now (optionally on one provider, for one plan, by one customer)?
    async fn validate_promo_code(
        &self,
        ctx: &Context<'_>,
        code: String,
        provider: Option<Provider>,
        plan_id: Option<String>,
        customer_id: Option<String>,
    ) -> async_graphql::Result<PromoCodeValidation> {
        let validation = service(ctx)?
            .validate(
                &code,
                provider.map(Into::into),
                plan_id.as_deref(),
                customer_id.as_deref(),
            )
            .await
            .map_err(query_error)?;
        Ok(PromoCodeValidation {
            valid: validation.invalid.is_none(),
            reason: validation.invalid.map(|r| r.as_str().to_string()),
            promo_code: validation.promo_code.map(PromoCode::loaded),
        })
    }

    async fn providers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProviderInfo>> {
        let service = service(ctx)?;
        Ok(domain::Provider::ALL
            .iter()
            .map(|&provider| {
                let caps = domain::providers::capabilities(provider);
                let holds = |field| caps.holds(field);
                ProviderInfo {
                    provider: provider.into(),
                    configured: service.providers().is_configured(provider),
                    capabilities: ProviderCapabilities {
                        discount_types: caps.discount_types.iter().map(|&d| d.into()).collect(),
                        duration_types: caps.duration_types.iter().map(|&d| d.into()).collect(),
                        max_redemptions: holds(Field::MaxRedemptions),
                        max_redemptions_per_customer: holds(Field::MaxRedemptionsPerCustomer),
                        expires_at: holds(Field::ExpiresAt),
                        plan_restrictions: holds(Field::PlanIds),
                        product_restrictions: holds(Field::ProductIds),
                        customer_restriction: holds(Field::CustomerId),
                        new_customers_only: holds(Field::NewCustomersOnly),
                        metadata: holds(Field::Metadata),
                        updatable_fields: caps
                            .updatable_fields()
                            .map(|f| f.api_name().to_string())
                            .collect(),
                        currencies: match caps.currencies {
                            Currencies::AnyIso4217 => None,
                            Currencies::Only(codes) => {
                                Some(codes.iter().map(|c| c.to_string()).collect())
                            }
                        },
                        whole_percent_only: caps.whole_percent_only,
                    },
                }
            })
            .collect())
    }
}

pub struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
    #[graphql(guard = "WriteGuard")]
    async fn create_promo_code(
        &self,
        ctx: &Context<'_>,
        input: CreatePromoCodeInput,
    ) -> async_graphql::Result<PromoCodePayload> {
        let input = domain::CreatePromoCodeInput {
            code: input.code,
            name: input.name,
            discount: domain::DiscountInput {
                kind: Some(input.discount.kind.into()),
                percent_off: input.discount.percent_off,
                amount_off: input.discount.amount_off.map(i64::from),
                currency: input.discount.currency,
            },
            duration: input.duration.map(|d| domain::DurationInput {
                kind: d.kind.into(),
                periods: d.periods.map(i64::from),
            }),
            max_redemptions: input.max_redemptions.map(i64::from),
            max_redemptions_per_customer: input.max_redemptions_per_customer.map(i64::from),
            expires_at: input.expires_at.map(|t| t.0),
            restrictions: input.restrictions.map(Into::into),
            metadata: input.metadata.map(|m| m.0),
            providers: input.providers.into_iter().map(Into::into).collect(),
        };
        payload(service(ctx)?.create(input, &actor(ctx)).await)
    }

    #[graphql(guard = "WriteGuard")]
    async fn update_promo_code(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePromoCodeInput,
    ) -> async_graphql::Result<PromoCodePayload> {
        let input = domain::UpdatePromoCodeInput {
            name: input.name,
            status: input.status.map(Into::into),
            max_redemptions: patch(input.max_redemptions, i64::from),
            max_redemptions_per_customer: patch(input.max_redemptions_per_customer, i64::from),
            expires_at: patch(input.expires_at, |t| t.0),
            restrictions: input.restrictions.map(Into::into),
            metadata: input.metadata.map(|m| m.0),
            expected_version: input.expected_version.map(i64::from),
        };
        payload(service(ctx)?.update(&id, input, &actor(ctx)).await)
    }

    /// Make `count` codes with the same settings, in the background (see bulkJob). The input is checked at once: a bad one gives userErrors and stores nothing.
    #[graphql(guard = "WriteGuard")]
    async fn generate_promo_codes(
        &self,
        ctx: &Context<'_>,
        input: bulk::GeneratePromoCodesInput,
    ) -> async_graphql::Result<bulk::GeneratePromoCodesPayload> {
        bulk::generate(ctx, input).await
    }

    /// Stop a bulk job: no codes after the batch in progress; the codes made stay (and are still written to their providers).
    #[graphql(guard = "WriteGuard")]
    async fn cancel_bulk_job(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bulk::CancelBulkJobPayload> {
        bulk::cancel(ctx, id).await
    }

    /// Archive here and retire the code on every provider it lives on.
    #[graphql(guard = "WriteGuard")]
    async fn archive_promo_code(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<PromoCodePayload> {
        payload(service(ctx)?.archive(&id, &actor(ctx)).await)
    }

    /// Retry now the provider writes of a code that is PENDING or FAILED.
    #[graphql(guard = "WriteGuard")]
    async fn retry_sync(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<PromoCodePayload> {
        payload(service(ctx)?.retry_sync(&id).await)
    }

    /// Settle a difference between this service and one provider of a code (see drift in syncFromProviders, and the DISABLED_ON_PROVIDER and DELETED_ON_PROVIDER states).
    #[graphql(guard = "WriteGuard")]
    async fn resolve_drift(
        &self,
        ctx: &Context<'_>,
        id: ID,
        provider: Provider,
        strategy: DriftStrategy,
    ) -> async_graphql::Result<PromoCodePayload> {
        payload(
            service(ctx)?
                .resolve_drift(&id, provider.into(), strategy.into(), &actor(ctx))
                .await,
        )
    }

    /// Pull codes from one provider (all configured ones when null): import unknown codes, refresh redemptions and status, report drift.
    #[graphql(guard = "WriteGuard")]
    async fn sync_from_providers(
        &self,
        ctx: &Context<'_>,
        provider: Option<Provider>,
    ) -> async_graphql::Result<SyncReport> {
        // One at a time: a second call while one runs is refused at once (SYNC_IN_PROGRESS).
        let report = service(ctx)?
            .sync_from_providers_alone(provider.map(Into::into))
            .await
            .ok_or_else(|| {
                async_graphql::Error::new(
                    "a sync from providers is already running; try again once it has finished",
                )
                .extend_with(|_, e| e.set("code", "SYNC_IN_PROGRESS"))
            })?
            .map_err(query_error)?;
        let count = |n: u64| int(i64::try_from(n).unwrap_or(i64::MAX));
        Ok(SyncReport {
            imported: count(report.imported),
            updated: count(report.updated),
            unchanged: count(report.unchanged),
            drifted: report.drifted,
            errors: report.errors,
        })
    }
}
