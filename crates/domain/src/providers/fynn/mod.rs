//! Fynn (subscription billing): one coupon per code. PUT replaces the whole coupon, so every
//! update first reads the coupon (`GET /coupons/{id}`) and sends back what PromoHub does not
//! manage. Once redeemed ("it cannot be edited or deleted anymore"), a coupon refuses changes
//! and deletion: the connector checks `reedemptions` on that read and answers an immutable
//! error (IMMUTABLE_ON_PROVIDER) without writing. The list view lacks fields (e.g.
//! `maxRedemptionsPerCustomer`), so a full list reads every coupon's detail; a coupon that
//! cannot be read is skipped and named, never the whole list.

pub mod capabilities;
mod transformers;

use std::num::NonZeroU64;

use futures::future::BoxFuture;
use promohub_clients::ResponseValue;
use promohub_clients::fynn::{Client, types as api};

use super::error::{ClientFailure, sorted as sort_failure};
use super::{
    Capabilities, Connector, Gate, Listing, ProviderError, ProviderResult, Remote, RemoteCode,
};
use crate::model::{PromoCode, Provider};

/// A coupon in a list, read on its own so that one odd coupon does not spoil the rest.
type Listed = Result<api::Coupon, String>;

#[derive(Clone, Debug)]
pub struct Fynn {
    client: Client,
    gate: Gate,
}

fn error_message(body: &[u8]) -> Option<String> {
    let problem = serde_json::from_slice::<api::Problem>(body).ok()?;
    problem.detail.or(problem.title)
}

async fn sorted<T>(
    result: Result<ResponseValue<T>, ClientFailure>,
) -> Result<ResponseValue<T>, ProviderError> {
    sort_failure(Provider::Fynn, error_message, result).await
}

impl Fynn {
    pub fn new(client: Client, gate: Gate) -> Self {
        Self { client, gate }
    }

    /// One coupon as Fynn holds it now, every field.
    async fn read(&self, external_id: &str) -> Result<api::Coupon, ProviderError> {
        let _permit = self.gate.pass().await?;
        Ok(sorted(self.client.get_coupon(external_id).await)
            .await?
            .into_inner())
    }

    /// The refusal a redeemed coupon gets, before anything is sent.
    fn locked(external_id: &str, held: &api::Coupon) -> ProviderError {
        let state = if held.is_enabled == Some(false) {
            "disabled"
        } else {
            "enabled"
        };
        ProviderError::immutable(
            Provider::Fynn,
            format!(
                "coupon {external_id} ({}) has been redeemed, and Fynn documents that a redeemed \
                 coupon \"cannot be edited or deleted anymore\"; it stays on Fynn, {state}",
                held.code
            ),
        )
    }

    async fn create_coupon(&self, code: &PromoCode) -> ProviderResult<Remote> {
        let request = transformers::coupon_write(code, None);
        let _permit = self.gate.pass().await?;
        // Any 2xx is a created coupon: the spec lists 200 and 201 (the status is undocumented).
        let created = sorted(self.client.create_coupon(&request).await)
            .await?
            .into_inner();
        let times_redeemed = transformers::redemptions(&created);
        let external_id = created.id.ok_or_else(|| {
            ProviderError::permanent(Provider::Fynn, "Fynn answered without a coupon id")
        })?;
        Ok(Remote {
            external_id,
            secondary_id: None,
            times_redeemed,
        })
    }

    async fn replace(&self, external_id: &str, code: &PromoCode) -> ProviderResult<()> {
        let held = self.read(external_id).await?;
        if held.reedemptions == Some(true) {
            return Err(Self::locked(external_id, &held));
        }
        let request = transformers::coupon_write(code, Some(&held));
        let _permit = self.gate.pass().await?;
        sorted(self.client.update_coupon(external_id, &request).await).await?;
        Ok(())
    }

    /// Undoes a create: deletes the coupon; when Fynn refuses that but the coupon may still be
    /// changed, disables it (`isEnabled: false`). A redeemed coupon can be neither: that is an
    /// `immutable` error saying what stays on Fynn, never a retire reported done.
    async fn delete_or_disable(&self, external_id: &str) -> ProviderResult<()> {
        let held = match self.read(external_id).await {
            // Already gone: nothing is left to retire.
            Err(e) if e.status == Some(404) => return Ok(()),
            held => held?,
        };
        if held.reedemptions == Some(true) {
            return Err(Self::locked(external_id, &held));
        }
        let deleted = {
            let _permit = self.gate.pass().await?;
            sorted(self.client.delete_coupon(external_id).await).await
        };
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.status == Some(404) => Ok(()),
            Err(e) if !e.is_transient() => {
                let mut request = transformers::coupon_from_held(&held);
                request.is_enabled = false;
                let _permit = self.gate.pass().await?;
                sorted(self.client.update_coupon(external_id, &request).await).await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Every coupon as the list shows it (fewer fields than the detail), page by page (the
    /// largest page Fynn allows is 99); each coupon read on its own.
    async fn list_summaries(&self) -> Result<Vec<Listed>, ProviderError> {
        let limit = NonZeroU64::new(99);
        let mut all = Vec::new();
        let mut page = 1u64;
        loop {
            let collection = {
                let _permit = self.gate.pass().await?;
                sorted(self.client.get_coupons(limit, NonZeroU64::new(page)).await)
                    .await?
                    .into_inner()
            };
            let last_page = collection
                .meta
                .as_ref()
                .and_then(|m| m.pagination.as_ref())
                .and_then(|p| p.last_page)
                .and_then(|p| u64::try_from(p).ok())
                .unwrap_or(1);
            let empty = collection.data.is_empty();
            all.extend(collection.data.into_iter().map(|value| {
                serde_json::from_value::<api::Coupon>(value.clone())
                    .map_err(|e| format!("{}: {e}", transformers::describe(&value)))
            }));
            if empty || page >= last_page {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// The codes of every coupon, from the list alone (enough to find one by its code).
    async fn list_view(&self) -> ProviderResult<Vec<RemoteCode>> {
        Ok(self
            .list_summaries()
            .await?
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|coupon| RemoteCode::try_from(coupon).ok())
            .collect())
    }

    /// Every coupon with every field: the list, then each coupon's detail (the list lacks
    /// `maxRedemptionsPerCustomer` and the plan and product lists). Coupons that cannot be read
    /// are skipped and named in the second list.
    async fn list_detailed(&self) -> ProviderResult<Listing> {
        let mut codes = Vec::new();
        let mut skipped = Vec::new();
        for listed in self.list_summaries().await? {
            let summary = match listed {
                Ok(summary) => summary,
                Err(why) => {
                    skipped.push(why);
                    continue;
                }
            };
            let Some(id) = summary.id.clone() else {
                skipped.push(format!("coupon without an id (code {})", summary.code));
                continue;
            };
            let detail = match self.read(&id).await {
                Ok(detail) => detail,
                // Deleted between the list and the read: gone.
                Err(e) if e.status == Some(404) => continue,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    skipped.push(format!(
                        "coupon {id} (code {}): {}",
                        summary.code, e.message
                    ));
                    continue;
                }
            };
            match RemoteCode::try_from(detail) {
                Ok(code) => codes.push(code),
                Err(why) => skipped.push(why),
            }
        }
        Ok(Listing { codes, skipped })
    }
}

impl Connector for Fynn {
    fn provider(&self) -> Provider {
        Provider::Fynn
    }

    fn capabilities(&self) -> &'static Capabilities {
        &capabilities::CAPABILITIES
    }

    fn create<'a>(&'a self, code: &'a PromoCode) -> BoxFuture<'a, ProviderResult<Remote>> {
        Box::pin(self.create_coupon(code))
    }

    fn update<'a>(
        &'a self,
        external_id: &'a str,
        code: &'a PromoCode,
    ) -> BoxFuture<'a, ProviderResult<()>> {
        Box::pin(self.replace(external_id, code))
    }

    fn retire<'a>(&'a self, external_id: &'a str) -> BoxFuture<'a, ProviderResult<()>> {
        Box::pin(self.delete_or_disable(external_id))
    }

    fn list<'a>(&'a self) -> BoxFuture<'a, ProviderResult<Listing>> {
        Box::pin(self.list_detailed())
    }

    /// The list view is enough to find a code; no need to read every coupon's detail.
    fn list_codes<'a>(&'a self) -> BoxFuture<'a, ProviderResult<Vec<RemoteCode>>> {
        Box::pin(self.list_view())
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        error_message(body)
    }
}
