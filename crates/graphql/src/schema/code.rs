//! The PromoCode type and what hangs off it: discount, duration, restrictions, provider links
//! (through a per-request DataLoader), history.

use async_graphql::{Context, ID, Json, Object, SimpleObject};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::context::query_error;
use super::context::{DateTime, int, internal, service};
use super::enums::{DiscountType, DurationType, PromoCodeStatus, Provider, SyncState};
use async_graphql::dataloader::{DataLoader, HashMapCache};
use promohub_domain as domain;
use serde_json::Value;

#[derive(SimpleObject)]
pub struct Discount {
    #[graphql(name = "type")]
    pub(crate) kind: DiscountType,
    /// 0 < percentOff <= 100, set when type is PERCENTAGE.
    pub(crate) percent_off: Option<f64>,
    /// Amount in the currency's minor units (cents), set when type is FIXED_AMOUNT.
    pub(crate) amount_off: Option<i32>,
    /// ISO 4217 code in upper case, set when type is FIXED_AMOUNT.
    pub(crate) currency: Option<String>,
}

#[derive(SimpleObject)]
pub struct Duration {
    #[graphql(name = "type")]
    pub(crate) kind: DurationType,
    /// Number of billing periods, set when type is REPEATING.
    pub(crate) periods: Option<i32>,
}

#[derive(SimpleObject)]
pub struct Restrictions {
    pub(crate) plan_ids: Vec<String>,
    pub(crate) product_ids: Vec<String>,
    /// Only this provider-side customer may redeem the code.
    pub(crate) customer_id: Option<String>,
    /// Only customers who never bought before may redeem the code.
    pub(crate) new_customers_only: bool,
}

/// The state of one code on one provider.
#[derive(SimpleObject)]
pub struct ProviderSync {
    pub(crate) provider: Provider,
    /// The provider's own id for the code (e.g. fpromo_..., promo_..., a Fynn coupon id); null until first written.
    pub(crate) external_id: Option<String>,
    pub(crate) state: SyncState,
    /// The last error the provider returned, human readable; null when SYNCED.
    pub(crate) last_error: Option<String>,
    /// Provider write attempts made for the latest change.
    pub(crate) attempts: i32,
    pub(crate) synced_at: Option<DateTime>,
}

/// Whether a code's provider links came with it (single reads) or are to be loaded for the
/// whole page at once through the request's `ProviderLinksLoader` (lists).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    Loaded,
    Deferred,
}

pub struct PromoCode(pub(crate) Arc<domain::PromoCode>, pub(crate) Links);

impl PromoCode {
    pub(crate) fn loaded(code: domain::PromoCode) -> Self {
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

    /// Every change of this code, newest first: who, when, which fields from what to what.
    /// first is 1..100 (default 20); after is an opaque cursor from a previous page.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<super::history::PromoCodeHistoryConnection> {
        let first = i64::from(first.unwrap_or(20));
        let page = service(ctx)?
            .history(&self.0.id, first, after.as_deref())
            .await
            .map_err(query_error)?;
        Ok(super::history::PromoCodeHistoryConnection(page))
    }
}

pub(crate) type LinksLoader = DataLoader<ProviderLinksLoader, HashMapCache>;

pub(crate) fn links_loader<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a LinksLoader> {
    ctx.data::<LinksLoader>()
        .map_err(|_| internal("no provider links loader in the request"))
}
