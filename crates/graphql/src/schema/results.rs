//! Pages, capabilities, validation, payloads and user errors: what queries and mutations answer.

use async_graphql::{Context, Object, SimpleObject};

use super::code::links_loader;
use super::code::{Links, PromoCode};
use super::context::query_error;
use super::context::{PageInfo, coded, internal};
use super::context::{int, service};
use super::enums::{DiscountType, DurationType, Provider};
use promohub_domain as domain;

#[derive(SimpleObject)]
pub struct PromoCodeEdge {
    pub(crate) cursor: String,
    pub(crate) node: PromoCode,
}

/// A page, and the filter it was read with (for `totalCount`, counted only when asked).
pub struct PromoCodeConnection(pub(crate) domain::PageOf, pub(crate) domain::ListFilter);

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
    pub(crate) discount_types: Vec<DiscountType>,
    pub(crate) duration_types: Vec<DurationType>,
    pub(crate) max_redemptions: bool,
    pub(crate) max_redemptions_per_customer: bool,
    pub(crate) expires_at: bool,
    pub(crate) plan_restrictions: bool,
    pub(crate) product_restrictions: bool,
    pub(crate) customer_restriction: bool,
    pub(crate) new_customers_only: bool,
    pub(crate) metadata: bool,
    /// Names of UpdatePromoCodeInput fields this provider accepts after creation (a dotted name
    /// such as restrictions.planIds when only part of a field may change).
    pub(crate) updatable_fields: Vec<String>,
    /// ISO 4217 codes accepted for FIXED_AMOUNT discounts; null means any.
    pub(crate) currencies: Option<Vec<String>>,
    /// True when percentOff must be a whole number.
    pub(crate) whole_percent_only: bool,
}

#[derive(SimpleObject)]
pub struct ProviderInfo {
    pub(crate) provider: Provider,
    /// True when a base URL and credentials are configured.
    pub(crate) configured: bool,
    pub(crate) capabilities: ProviderCapabilities,
}

#[derive(SimpleObject)]
pub struct PromoCodeValidation {
    pub(crate) valid: bool,
    /// When not valid, one of: NOT_FOUND, INACTIVE, ARCHIVED, EXPIRED, EXHAUSTED, NOT_ON_PROVIDER, PLAN_NOT_ELIGIBLE, CUSTOMER_NOT_ELIGIBLE, DISABLED_ON_PROVIDER (the provider asked about turned the code off on its side), DELETED_ON_PROVIDER (the provider asked about no longer holds it).
    pub(crate) reason: Option<String>,
    pub(crate) promo_code: Option<PromoCode>,
}

/// A problem with the caller's input or with what a provider accepts. Nothing was changed.
#[derive(SimpleObject)]
pub struct UserError {
    /// Path to the input field, e.g. ["input", "discount", "percentOff"]; null when not about one field.
    pub(crate) field: Option<Vec<String>>,
    /// One of: INVALID, REQUIRED, DUPLICATE_CODE, NOT_FOUND, UNSUPPORTED_BY_PROVIDER, IMMUTABLE, VERSION_CONFLICT, ARCHIVED, NOT_CONFIGURED, PROVIDER_REJECTED, IMMUTABLE_ON_PROVIDER (the provider refuses every change to the code now, e.g. a redeemed Fynn coupon; the message says what the provider still holds).
    pub(crate) code: String,
    pub(crate) message: String,
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
    pub(crate) promo_code: Option<PromoCode>,
    pub(crate) user_errors: Vec<UserError>,
}

pub(crate) fn payload(
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

#[derive(SimpleObject)]
pub struct SyncReport {
    /// Codes found on a provider and unknown here, now stored.
    pub(crate) imported: i32,
    /// Codes whose provider-side state (redemptions, status) was refreshed.
    pub(crate) updated: i32,
    pub(crate) unchanged: i32,
    /// Codes whose provider-side settings differ from this service's, as 'PROVIDER:CODE: what differs'.
    pub(crate) drifted: Vec<String>,
    pub(crate) errors: Vec<String>,
}
