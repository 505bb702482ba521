//! Whop v2 (creator commerce): one promo code per code. Create and update answer 201.
//! Retiring deletes the code, or archives it once used. An update reads the code first so
//! that `stock` (the uses LEFT) is never computed from a stale count (docs/providers.md,
//! "Whop stock").

pub mod capabilities;
mod transformers;

use futures::future::BoxFuture;
use promohub_clients::ResponseValue;
use promohub_clients::whop::{Client, types as api};

use super::error::{ClientFailure, sorted as sort_failure};
use super::{
    Capabilities, Connector, Gate, Listing, ProviderError, ProviderResult, Remote, RemoteCode,
};
use crate::model::{PromoCode, Provider};

#[derive(Clone, Debug)]
pub struct Whop {
    client: Client,
    gate: Gate,
}

fn error_message(body: &[u8]) -> Option<String> {
    let error = serde_json::from_slice::<api::Error>(body).ok()?;
    error.error.and_then(|e| e.message).or(error.message)
}

async fn sorted<T>(
    result: Result<ResponseValue<T>, ClientFailure>,
) -> Result<ResponseValue<T>, ProviderError> {
    sort_failure(Provider::Whop, error_message, result).await
}

impl Whop {
    pub fn new(client: Client, gate: Gate) -> Self {
        Self { client, gate }
    }

    async fn create_code(&self, code: &PromoCode) -> ProviderResult<Remote> {
        let request = api::CreatePromoCode::try_from(code)?;
        let _permit = self.gate.pass().await?;
        let created = sorted(self.client.create_promo_code(&request).await)
            .await?
            .into_inner();
        let external_id = created.id.ok_or_else(|| {
            ProviderError::permanent(Provider::Whop, "Whop answered without an id")
        })?;
        Ok(Remote {
            external_id,
            secondary_id: None,
            times_redeemed: i64::from(created.uses.unwrap_or(0)),
        })
    }

    async fn read(&self, external_id: &str) -> Result<api::PromoCode, ProviderError> {
        let _permit = self.gate.pass().await?;
        Ok(sorted(self.client.retrieve_promo_code(external_id).await)
            .await?
            .into_inner())
    }

    /// Makes Whop hold what `code` says. The code's current state is read from Whop right
    /// before writing, and `stock` (the uses LEFT) is sent only when Whop's limit (stock +
    /// uses, in Whop's own count) differs from ours, computed from Whop's `uses`: redemptions
    /// made on Whop since the last sync are never given back, and a change of anything else
    /// never touches stock.
    ///
    /// Whop has no conditional write, so a redemption between the read and the write would
    /// still be given back; the answer to the write carries `uses`, and when it moved, stock
    /// is written once more from it (docs/providers.md, "Whop stock").
    async fn write(&self, external_id: &str, code: &PromoCode) -> ProviderResult<()> {
        let current = self.read(external_id).await?;
        let mut uses = i64::from(current.uses.unwrap_or(0));
        let limit_changed = transformers::whop_limit(&current) != code.max_redemptions;
        let (stock_left, unlimited) = transformers::stock(code.max_redemptions, uses);
        let request = api::UpdatePromoCode {
            status: Some(transformers::status(code)),
            // The documented form: `plan_ids`, string[]. ASSUMPTION: it replaces the list.
            plan_ids: Some(code.restrictions.plan_ids.clone()),
            stock: stock_left.filter(|_| limit_changed),
            unlimited_stock: Some(unlimited).filter(|_| limit_changed),
            // ASSUMPTION: metadata replaces what Whop holds (docs/providers.md).
            metadata: Some(code.metadata.clone()),
        };
        let written = {
            let _permit = self.gate.pass().await?;
            sorted(self.client.update_promo_code(external_id, &request).await)
                .await?
                .into_inner()
        };
        if let Some(now_used) = written.uses.map(i64::from)
            && limit_changed
            && code.max_redemptions.is_some()
            && now_used != uses
        {
            uses = now_used;
            let (stock_left, _) = transformers::stock(code.max_redemptions, uses);
            let correction = api::UpdatePromoCode {
                status: None,
                plan_ids: None,
                stock: stock_left,
                unlimited_stock: Some(false),
                metadata: None,
            };
            let _permit = self.gate.pass().await?;
            sorted(
                self.client
                    .update_promo_code(external_id, &correction)
                    .await,
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_or_archive(&self, external_id: &str) -> ProviderResult<()> {
        let deleted = {
            let _permit = self.gate.pass().await?;
            sorted(self.client.delete_promo_code(external_id).await).await
        };
        match deleted {
            Ok(_) => Ok(()),
            // Already gone: nothing is left to retire.
            Err(e) if e.status == Some(404) => Ok(()),
            // A used code cannot be deleted; archived is as retired as Whop allows.
            // ASSUMPTION: the refusal's status is undocumented; any 4xx but 401/403/404/429.
            Err(e)
                if e.status.is_some_and(|s| {
                    (400..500).contains(&s) && !matches!(s, 401 | 403 | 404 | 429)
                }) =>
            {
                let archive = api::UpdatePromoCode {
                    status: Some(api::Status::Archived),
                    plan_ids: None,
                    stock: None,
                    unlimited_stock: None,
                    metadata: None,
                };
                let _permit = self.gate.pass().await?;
                sorted(self.client.update_promo_code(external_id, &archive).await).await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Every code, 50 a page (Whop's most), walked to the end: a page with fewer than 50 is
    /// the last. `pagination` cannot end the walk: Whop documents `total_count` as
    /// "automatically maxed out at 50", and the page count follows it.
    async fn list_all(&self) -> ProviderResult<Listing> {
        const PER: usize = 50;
        // A provider that ignored `page` would repeat page 1 for ever: 20,000 pages (a
        // million codes) end the walk with an error instead.
        const MAX_PAGES: i32 = 20_000;
        let mut listing = Listing::default();
        let mut previous_first: Option<String> = None;
        for page in 1..=MAX_PAGES {
            let list = {
                let _permit = self.gate.pass().await?;
                sorted(
                    self.client
                        .list_promo_codes(Some(page), Some(PER as i32), None)
                        .await,
                )
                .await?
                .into_inner()
            };
            let count = list.data.len();
            let first = list.data.first().and_then(|p| p.id.clone());
            if page > 1 && first.is_some() && first == previous_first {
                return Err(ProviderError::permanent(
                    Provider::Whop,
                    format!("page {page} repeats the page before it; the list cannot be read"),
                ));
            }
            previous_first = first;
            for promo in list.data {
                match RemoteCode::try_from(promo) {
                    Ok(code) => listing.codes.push(code),
                    Err(why) => listing.skipped.push(why),
                }
            }
            if count < PER {
                return Ok(listing);
            }
        }
        Err(ProviderError::permanent(
            Provider::Whop,
            format!("more than {MAX_PAGES} pages of promo codes"),
        ))
    }
}

impl Connector for Whop {
    fn provider(&self) -> Provider {
        Provider::Whop
    }

    fn capabilities(&self) -> &'static Capabilities {
        &capabilities::CAPABILITIES
    }

    fn create<'a>(&'a self, code: &'a PromoCode) -> BoxFuture<'a, ProviderResult<Remote>> {
        Box::pin(self.create_code(code))
    }

    fn update<'a>(
        &'a self,
        external_id: &'a str,
        code: &'a PromoCode,
    ) -> BoxFuture<'a, ProviderResult<()>> {
        Box::pin(self.write(external_id, code))
    }

    fn retire<'a>(&'a self, external_id: &'a str) -> BoxFuture<'a, ProviderResult<()>> {
        Box::pin(self.delete_or_archive(external_id))
    }

    fn list<'a>(&'a self) -> BoxFuture<'a, ProviderResult<Listing>> {
        Box::pin(self.list_all())
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        error_message(body)
    }
}
