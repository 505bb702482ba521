//! The Query root.

use async_graphql::{Context, ID, Object};

use super::code::PromoCode;
use super::context::query_error;
use super::context::service;
use super::enums::{PromoCodeSortField, Provider};
use super::inputs::PromoCodeFilter;
use super::results::{
    PromoCodeConnection, PromoCodeValidation, ProviderCapabilities, ProviderInfo,
};
use promohub_domain as domain;
use promohub_domain::providers::{Currencies, Field};

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
    ) -> async_graphql::Result<Option<super::bulk::BulkJob>> {
        super::bulk::get(ctx, id).await
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
