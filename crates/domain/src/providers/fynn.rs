//! Fynn: one coupon per code.
//!
//! Units: `percentage` is a whole percent (the capability table refuses fractions);
//! `fixedAmount` is `{amount, currency}` in minor units (an assumption, see openapi/fynn.yaml).
//! `limited` counts billing periods. PUT replaces the whole coupon, so every push sends every
//! field: PromoHub's own fields from the code, and every field it does not manage (the plan and
//! product lists, anything else Fynn holds) as read from `GET /coupons/{id}` right before.
//! Once redeemed ("it cannot be edited or deleted anymore"), a coupon refuses changes and
//! deletion: the adapter checks `reedemptions` on that read and answers an `immutable` error
//! (IMMUTABLE_ON_PROVIDER) without writing. The list view lacks fields (e.g.
//! `maxRedemptionsPerCustomer`), so sync reads every coupon's detail; a coupon that cannot be
//! read is skipped and named, never the whole list.

use std::num::NonZeroU64;

use promohub_clients::fynn::{Client, types as api};

use promohub_clients::ResponseValue;

use super::{ClientFailure, ErrorBody, Gate, ProviderError, Remote, RemoteCode, RemoteSettings};
use crate::model::{Discount, Duration, PromoCode, PromoCodeStatus, Provider, Restrictions};

impl ErrorBody for api::Problem {
    fn message(&self) -> Option<String> {
        self.detail.clone().or_else(|| self.title.clone())
    }
}

#[derive(Clone, Debug)]
pub struct FynnAdapter {
    client: Client,
    gate: Gate,
}

async fn sorted<T>(
    result: Result<ResponseValue<T>, ClientFailure>,
) -> Result<ResponseValue<T>, ProviderError> {
    super::sorted::<T, api::Problem>(Provider::Fynn, result).await
}

/// Fields of a coupon's detail that Fynn sets itself and a write does not carry.
const READ_ONLY: [&str; 4] = ["id", "createdAt", "updatedAt", "reedemptions"];

/// A coupon in a list, read on its own so that one odd coupon does not spoil the rest.
pub(crate) type Listed = Result<api::Coupon, String>;

/// Names a coupon PromoHub cannot read, for the warning.
fn describe(value: &serde_json::Value) -> String {
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or("?");
    format!("coupon {} (code {})", field("id"), field("code"))
}

/// Fynn shows only whether a coupon was redeemed, not how often: count it once.
fn redemptions(coupon: &api::Coupon) -> i64 {
    i64::from(coupon.reedemptions == Some(true))
}

impl FynnAdapter {
    pub(crate) fn new(client: Client, gate: Gate) -> Self {
        Self { client, gate }
    }

    /// The whole coupon as Fynn should hold it: PromoHub's fields from `code`, the rest from
    /// `held` (what Fynn holds now) unchanged; none of those on a create.
    fn coupon(code: &PromoCode, held: Option<&api::Coupon>) -> api::CouponWrite {
        let (type_, percentage, fixed_amount) = match &code.discount {
            // Whole percents only: the capability table guarantees no fraction reaches here.
            Discount::Percentage { percent_off } => (
                api::CouponType::Percentage,
                Some(percent_off.round() as i64),
                None,
            ),
            Discount::FixedAmount {
                amount_off,
                currency,
            } => (
                api::CouponType::FixedAmount,
                None,
                Some(api::FixedAmount {
                    amount: *amount_off,
                    currency: currency.clone(),
                }),
            ),
        };
        let (frequency, frequency_interval) = match code.duration {
            Duration::Once => (api::Frequency::Once, None),
            Duration::Repeating { periods } => (api::Frequency::Limited, Some(i64::from(periods))),
            Duration::Forever => (api::Frequency::Lifetime, None),
        };
        api::CouponWrite {
            code: code.code.clone(),
            name: code.name.clone(),
            type_,
            percentage,
            fixed_amount,
            frequency,
            frequency_interval,
            max_redemptions: code.max_redemptions,
            max_redemptions_per_customer: code.max_redemptions_per_customer,
            expires_at: code.expires_at,
            is_enabled: code.status == PromoCodeStatus::Active,
            limited_to_plans: held.and_then(|h| h.limited_to_plans.clone()),
            excluded_from_plans: held.and_then(|h| h.excluded_from_plans.clone()),
            limited_to_products: held.and_then(|h| h.limited_to_products.clone()),
            excluded_from_products: held.and_then(|h| h.excluded_from_products.clone()),
            // ASSUMPTION (docs/providers.md, "Fynn full replace"): a field Fynn shows that the
            // docs do not list is Fynn's to keep, so it goes back as it came.
            extra: held
                .map(|h| {
                    h.extra
                        .iter()
                        .filter(|(k, _)| !READ_ONLY.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// One coupon as Fynn holds it now, every field.
    pub(crate) async fn read(&self, external_id: &str) -> Result<api::Coupon, ProviderError> {
        let _permit = self.gate.pass().await;
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

    pub async fn create(&self, code: &PromoCode) -> Result<Remote, ProviderError> {
        let request = Self::coupon(code, None);
        let _permit = self.gate.pass().await;
        // Any 2xx is a created coupon: the spec lists 200 and 201 (the status is undocumented).
        let created = sorted(self.client.create_coupon(&request).await)
            .await?
            .into_inner();
        let times_redeemed = redemptions(&created);
        let external_id = created.id.ok_or_else(|| {
            ProviderError::permanent(Provider::Fynn, "Fynn answered without a coupon id")
        })?;
        Ok(Remote {
            external_id,
            secondary_id: None,
            times_redeemed,
        })
    }

    pub async fn push(&self, external_id: &str, code: &PromoCode) -> Result<(), ProviderError> {
        let held = self.read(external_id).await?;
        if held.reedemptions == Some(true) {
            return Err(Self::locked(external_id, &held));
        }
        let request = Self::coupon(code, Some(&held));
        let _permit = self.gate.pass().await;
        sorted(self.client.update_coupon(external_id, &request).await).await?;
        Ok(())
    }

    /// Undoes a create: deletes the coupon; when Fynn refuses that but the coupon may still be
    /// changed, disables it (`isEnabled: false`). A redeemed coupon can be neither: that is an
    /// `immutable` error saying what stays on Fynn, never a retire reported done.
    pub async fn retire(&self, external_id: &str) -> Result<(), ProviderError> {
        let held = match self.read(external_id).await {
            // Already gone: nothing is left to retire.
            Err(e) if e.status == Some(404) => return Ok(()),
            held => held?,
        };
        if held.reedemptions == Some(true) {
            return Err(Self::locked(external_id, &held));
        }
        let deleted = {
            let _permit = self.gate.pass().await;
            sorted(self.client.delete_coupon(external_id).await).await
        };
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.status == Some(404) => Ok(()),
            Err(e) if !e.transient => {
                let mut request = Self::coupon_from_held(&held);
                request.is_enabled = false;
                let _permit = self.gate.pass().await;
                sorted(self.client.update_coupon(external_id, &request).await).await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// A write that puts back exactly what Fynn holds.
    fn coupon_from_held(held: &api::Coupon) -> api::CouponWrite {
        api::CouponWrite {
            code: held.code.clone(),
            name: held.name.clone(),
            type_: held.type_,
            percentage: held.percentage,
            fixed_amount: held.fixed_amount.clone(),
            frequency: held.frequency,
            frequency_interval: held.frequency_interval,
            max_redemptions: held.max_redemptions,
            max_redemptions_per_customer: held.max_redemptions_per_customer,
            expires_at: held.expires_at,
            is_enabled: held.is_enabled.unwrap_or(true),
            limited_to_plans: held.limited_to_plans.clone(),
            excluded_from_plans: held.excluded_from_plans.clone(),
            limited_to_products: held.limited_to_products.clone(),
            excluded_from_products: held.excluded_from_products.clone(),
            extra: held
                .extra
                .iter()
                .filter(|(k, _)| !READ_ONLY.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Every coupon as the list shows it (fewer fields than the detail), page by page (the
    /// largest page Fynn allows is 99); each coupon read on its own.
    pub(crate) async fn list_summaries(&self) -> Result<Vec<Listed>, ProviderError> {
        let limit = NonZeroU64::new(99);
        let mut all = Vec::new();
        let mut page = 1u64;
        loop {
            let collection = {
                let _permit = self.gate.pass().await;
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
                    .map_err(|e| format!("{}: {e}", describe(&value)))
            }));
            if empty || page >= last_page {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// The codes of every coupon, from the list alone (enough to find one by its code).
    pub async fn list_codes(&self) -> Result<Vec<RemoteCode>, ProviderError> {
        Ok(self
            .list_summaries()
            .await?
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(remote_code)
            .collect())
    }

    /// Every coupon with every field: the list, then each coupon's detail (the list lacks
    /// `maxRedemptionsPerCustomer` and the plan and product lists). Coupons that cannot be read
    /// are skipped and named in the second list.
    pub async fn list_all(&self) -> Result<(Vec<RemoteCode>, Vec<String>), ProviderError> {
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
                Err(e) if e.transient => return Err(e),
                Err(e) => {
                    skipped.push(format!(
                        "coupon {id} (code {}): {}",
                        summary.code, e.message
                    ));
                    continue;
                }
            };
            codes.extend(remote_code(detail));
        }
        Ok((codes, skipped))
    }
}

fn remote_code(coupon: api::Coupon) -> Option<RemoteCode> {
    let discount = match (coupon.type_, coupon.percentage, &coupon.fixed_amount) {
        (api::CouponType::Percentage, Some(percentage), _) => Ok(Discount::Percentage {
            percent_off: percentage as f64,
        }),
        (api::CouponType::FixedAmount, _, Some(fixed)) => Ok(Discount::FixedAmount {
            amount_off: fixed.amount,
            currency: fixed.currency.to_uppercase(),
        }),
        _ => Err("the coupon's type and amount do not match".to_string()),
    };
    let duration = match (coupon.frequency, coupon.frequency_interval) {
        (api::Frequency::Once, _) => Ok(Duration::Once),
        (api::Frequency::Lifetime, _) => Ok(Duration::Forever),
        (api::Frequency::Limited, Some(n)) => u32::try_from(n)
            .map(|periods| Duration::Repeating { periods })
            .map_err(|_| "frequencyInterval out of range".to_string()),
        (api::Frequency::Limited, None) => Err("a limited coupon without frequencyInterval".into()),
    };
    let settings = discount.and_then(|discount| {
        Ok(RemoteSettings {
            name: coupon.name.clone(),
            discount,
            duration: duration?,
            max_redemptions: coupon.max_redemptions,
            max_redemptions_per_customer: coupon.max_redemptions_per_customer,
            expires_at: coupon.expires_at,
            restrictions: Restrictions::default(),
            metadata: serde_json::Map::new(),
        })
    });
    let times_redeemed = redemptions(&coupon);
    Some(RemoteCode {
        owner: None,
        remote: Remote {
            external_id: coupon.id?,
            secondary_id: None,
            times_redeemed,
        },
        code: coupon.code,
        status: if coupon.is_enabled != Some(false) {
            PromoCodeStatus::Active
        } else {
            PromoCodeStatus::Inactive
        },
        settings,
    })
}
