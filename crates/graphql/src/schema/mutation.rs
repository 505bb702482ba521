//! The Mutation root.

use async_graphql::{Context, ErrorExtensions, ID, Object};

use super::context::query_error;
use super::context::{WriteGuard, actor, int, service};
use super::enums::DriftStrategy;
use super::enums::Provider;
use super::inputs::{CreatePromoCodeInput, UpdatePromoCodeInput, patch};
use super::results::{PromoCodePayload, SyncReport, payload};
use promohub_domain as domain;

pub struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
    #[graphql(guard = "WriteGuard")]
    async fn create_promo_code(
        &self,
        ctx: &Context<'_>,
        input: CreatePromoCodeInput,
    ) -> async_graphql::Result<PromoCodePayload> {
        payload(service(ctx)?.create(input.into(), &actor(ctx)).await)
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
        input: super::bulk::GeneratePromoCodesInput,
    ) -> async_graphql::Result<super::bulk::GeneratePromoCodesPayload> {
        super::bulk::generate(ctx, input).await
    }

    /// Stop a bulk job: no codes after the batch in progress; the codes made stay (and are still written to their providers).
    #[graphql(guard = "WriteGuard")]
    async fn cancel_bulk_job(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<super::bulk::CancelBulkJobPayload> {
        super::bulk::cancel(ctx, id).await
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
