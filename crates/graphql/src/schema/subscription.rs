//! Subscriptions: live changes over WebSocket (`crate::ws`), from the service's event bus
//! (`promohub_domain::events`). An event names what changed; the code is read as stored when
//! the event is delivered, and only when the subscriber selects it.
//!
//! Delivery is at most once, after commit, without replay. A subscriber that falls behind (or,
//! on PostgreSQL, a lost LISTEN connection) gets one error `EVENTS_MISSED` in the stream, with
//! `missed` (a count, or null when unknown), and the stream goes on.
//!

use futures::{Stream, StreamExt};
use promohub_domain::events::{Event, Notice};

use super::bulk::BulkJob;
use super::context::{coded, int, internal, service};
use super::history::PromoCodeHistoryEntry;
use super::{PromoCode, Provider, SyncState};
use async_graphql::{Context, Error, ErrorExtensions, ID};
use promohub_domain as domain;

pub struct SubscriptionRoot;

/// The events of `service`'s bus that `pick` keeps, as subscription items; a gap in the
/// stream is an `EVENTS_MISSED` error item.
fn events<T, F>(
    service: &domain::PromoService,
    pick: F,
) -> impl Stream<Item = async_graphql::Result<T>> + use<T, F>
where
    T: Send + 'static,
    F: Fn(Event) -> Option<T> + Send + 'static,
{
    let subscriber = service.events().subscribe();
    futures::stream::unfold((subscriber, pick), |(mut subscriber, pick)| async move {
        loop {
            let item = match subscriber.next().await? {
                Notice::Event(event) => match pick(event) {
                    Some(item) => Ok(item),
                    None => continue,
                },
                Notice::Missed(count) => Err(missed(count)),
            };
            return Some((item, (subscriber, pick)));
        }
    })
}

fn missed(count: Option<u64>) -> Error {
    let message = match count {
        Some(n) => format!("{n} events were missed (this subscriber fell behind); reload what you show"),
        None => "events may have been missed (the server lost its event connection for a moment); reload what you show".to_string(),
    };
    coded(message, "EVENTS_MISSED").extend_with(|_, e| match count {
        Some(n) => e.set("missed", n),
        None => e.set("missed", async_graphql::Value::Null),
    })
}

async fn stored(ctx: &Context<'_>, id: &str) -> async_graphql::Result<domain::PromoCode> {
    service(ctx)?
        .get(id)
        .await
        .map_err(|e| internal(format!("{e:#}")))?
        .ok_or_else(|| coded("the code is no longer stored", "NOT_FOUND"))
}

/// A code changed (an audited change: created, updated, archived, imported, a drift resolved,
/// a change a sync saw on a provider).
pub struct PromoCodeEvent {
    id: String,
    version: i64,
    action: String,
    /// The audit row the change wrote.
    history: Option<i64>,
}

#[async_graphql::Object]
impl PromoCodeEvent {
    /// The code's id.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// What was done, as the audit log names it: create, update, archive, import,
    /// adopt_provider_state, push_to_provider, provider_change.
    async fn action(&self) -> &str {
        &self.action
    }

    /// The code's version after the change; events of one code arrive in version order
    /// (compare it to see a missed or late one). push_to_provider and provider_change make no
    /// new version: they carry the version they happened at.
    async fn version(&self) -> i32 {
        int(self.version)
    }

    /// The entry this change wrote in the code's history: the same entry (id, at, actor,
    /// action, version, changes, details) that `PromoCode.history` lists for it, so a client
    /// showing the history can put it on top. Read by id when the event is delivered, so an
    /// entry of any size arrives on every replica. Every change told here writes one; null
    /// only for an event sent by a server of an earlier version (during a rolling upgrade).
    /// Codes made by a bulk job are not told here (follow `bulkJobProgress`); their CREATED
    /// entries are in their history.
    async fn history_entry(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<PromoCodeHistoryEntry>> {
        let Some(entry_id) = self.history else {
            return Ok(None);
        };
        let found = service(ctx)?
            .history_entry(&self.id, entry_id)
            .await
            .map_err(|e| internal(format!("{e:#}")))?;
        Ok(found.map(|(_, entry)| entry.into()))
    }

    /// The cursor of `historyEntry` in `PromoCode.history` (its edge's cursor): `history(after:
    /// historyCursor)` pages on to the entries before it. Null on an event from a server of an
    /// earlier version (as `historyEntry`).
    async fn history_cursor(&self) -> Option<String> {
        self.history.map(domain::history::cursor)
    }

    /// The code as stored when the event is delivered (it may be newer than `version`).
    async fn promo_code(&self, ctx: &Context<'_>) -> async_graphql::Result<PromoCode> {
        stored(ctx, &self.id).await.map(PromoCode::loaded)
    }
}

/// The stored state of one code on one provider changed.
pub struct ProviderSyncEvent {
    id: String,
    provider: domain::Provider,
    state: domain::SyncState,
}

#[async_graphql::Object]
impl ProviderSyncEvent {
    async fn promo_code_id(&self) -> ID {
        ID(self.id.clone())
    }

    async fn provider(&self) -> Provider {
        self.provider.into()
    }

    /// The state the link changed to.
    async fn state(&self) -> SyncState {
        self.state.into()
    }

    /// The link's last error as stored when the event is delivered; null when there is none.
    async fn last_error(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let code = stored(ctx, &self.id).await?;
        Ok(code
            .provider(self.provider)
            .and_then(|link| link.last_error.clone()))
    }

    /// The code as stored when the event is delivered (its providers show their state now).
    async fn promo_code(&self, ctx: &Context<'_>) -> async_graphql::Result<PromoCode> {
        stored(ctx, &self.id).await.map(PromoCode::loaded)
    }
}

#[async_graphql::Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every audited change of the code with this id, or of every code when id is null. At most
    /// once, after the change is stored; nothing from before the subscription is replayed.
    async fn promo_code_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<PromoCodeEvent>> + use<>>
    {
        let wanted = id.map(|id| id.0);
        Ok(events(service(ctx)?, move |event| match event {
            Event::CodeChanged {
                id,
                version,
                action,
                history,
            } if wanted.as_ref().is_none_or(|w| *w == id) => Some(PromoCodeEvent {
                id,
                version,
                action,
                history,
            }),
            _ => None,
        }))
    }

    /// Every change of a provider link's stored state (a write through, a background retry, a
    /// status a sync saw), on this provider or on all when null.
    async fn provider_sync_changed(
        &self,
        ctx: &Context<'_>,
        provider: Option<Provider>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ProviderSyncEvent>> + use<>>
    {
        let wanted: Option<domain::Provider> = provider.map(Into::into);
        Ok(events(service(ctx)?, move |event| match event {
            Event::LinkChanged {
                id,
                provider,
                state,
            } if wanted.is_none_or(|w| w == provider) => Some(ProviderSyncEvent {
                id,
                provider,
                state,
            }),
            _ => None,
        }))
    }

    /// A bulk job as stored after each batch of codes it stores, and once when it ends or is
    /// cancelled (`synced` and `failed` are counted when the event is delivered). Poll
    /// `bulkJob` for the provider writes that follow the last batch.
    async fn bulk_job_progress(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<BulkJob>> + use<>> {
        let service = service(ctx)?.clone();
        let wanted = id.0;
        let jobs = events(&service, move |event| match event {
            Event::BulkJobProgress { job_id } if job_id == wanted => Some(job_id),
            _ => None,
        });
        Ok(jobs.filter_map(move |item| {
            let service = service.clone();
            async move {
                match item {
                    Ok(job_id) => match service.bulk_job(&job_id).await {
                        Ok(job) => job.map(|job| Ok(BulkJob::from(job))),
                        Err(error) => Some(Err(internal(format!("{error:#}")))),
                    },
                    Err(missed) => Some(Err(missed)),
                }
            }
        }))
    }
}
