//! Domain events: what changed, told to whoever listens (the GraphQL subscriptions).
//!
//! An event names what changed (ids, a version, an action, a state), never the data: a
//! subscriber reads the code as stored when it delivers the event, so an event can stay small
//! and never carries a stale copy.
//!
//! Delivery is at most once, after the change is committed, without replay:
//! - Each service has a bounded [`tokio::sync::broadcast`] bus ([`BUFFER`] events). A
//!   subscriber that falls behind by more than that is told how many it missed
//!   ([`Notice::Missed`]) and goes on with the newest; nobody (no publisher, no other
//!   subscriber) ever waits for it.
//! - On SQLite (one process by design) a publish goes straight onto the bus.
//! - On PostgreSQL it goes out as `NOTIFY promohub_events` (a JSON array of events, a few hundred
//!   bytes) and only comes back onto the bus through the process's LISTEN task
//!   ([`PromoService::listen_for_events`]), this process's own events included: every replica
//!   sees every event once. When the LISTEN connection drops and is made again, subscribers
//!   are told they may have missed events (`Notice::Missed(None)`).
//!
//! Publishing is one call after a commit: `self.publish([Event::...]).await`. A failed NOTIFY
//! is logged, never an error of the change (the change is stored; the event is lost).
//!
//! Bulk jobs: [`Event::BulkJobProgress`] is the variant for them. The bulk worker calls
//! `self.publish([Event::BulkJobProgress { job_id }]).await` after each batch it commits
//! (not per code: a batch of a thousand codes is one event), and a `bulkJobProgress(id)`
//! subscription filters on it and reads the job as stored, like `promoCodeChanged` does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::model::{PromoCode, Provider, SyncState};
use crate::service::PromoService;

/// The PostgreSQL channel events travel on between replicas.
pub const CHANNEL: &str = "promohub_events";

/// Events a subscriber may fall behind by before it is told it missed some.
pub const BUFFER: usize = 1024;

/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; batches stay well under.
const MAX_PAYLOAD: usize = 7000;

/// Something that changed, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// An audited change of a code: `create`, `update`, `archive`, `import`,
    /// `adopt_provider_state`, `push_to_provider` (the audit log's action); `version` is the code's version after it.
    CodeChanged {
        id: String,
        version: i64,
        action: String,
    },
    /// The stored state of one provider link changed (a write through, a background attempt,
    /// a status a sync saw, a push queued).
    LinkChanged {
        id: String,
        provider: Provider,
        state: SyncState,
    },
    /// A bulk job made progress (stored a batch, synced codes, finished, was cancelled).
    BulkJobProgress { job_id: String },
}

impl Event {
    /// What a commit of `code` by `action` tells: the change, and the state of each link.
    pub fn committed(code: &PromoCode, action: &str) -> Vec<Event> {
        let mut events = vec![Event::CodeChanged {
            id: code.id.clone(),
            version: code.version,
            action: action.to_string(),
        }];
        events.extend(code.providers.iter().map(|p| Event::LinkChanged {
            id: code.id.clone(),
            provider: p.provider,
            state: p.state,
        }));
        events
    }

    /// A link's new state.
    pub fn link(id: &str, provider: Provider, state: SyncState) -> Event {
        Event::LinkChanged {
            id: id.to_string(),
            provider,
            state,
        }
    }

    /// What `resolveDrift(PUSH_OURS)` tells: the audited push, and the link queued again.
    pub fn pushed(code: &PromoCode, provider: Provider) -> Vec<Event> {
        vec![
            Event::CodeChanged {
                id: code.id.clone(),
                version: code.version,
                action: "push_to_provider".into(),
            },
            Event::LinkChanged {
                id: code.id.clone(),
                provider,
                state: SyncState::Pending,
            },
        ]
    }
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Event(Event),
    /// Events were lost for this subscriber: this many (it fell behind the buffer), or an
    /// unknown number (the LISTEN connection was lost and made again).
    Missed(Option<u64>),
}

/// A service's event bus (cloned with the service: one bus per service).
#[derive(Clone)]
pub struct Bus {
    sender: broadcast::Sender<Notice>,
    /// Events go through NOTIFY and come back through LISTEN (PostgreSQL).
    via_postgres: bool,
    /// The LISTEN task is listening now (always true on SQLite).
    listening: Arc<AtomicBool>,
    /// The LISTEN task has listened before: a restart may have lost events.
    listened: Arc<AtomicBool>,
    /// Events not delivered: failed NOTIFYs, payloads that did not decode.
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("subscribers", &self.sender.receiver_count())
            .field("via_postgres", &self.via_postgres)
            .finish()
    }
}

impl Bus {
    pub(crate) fn new(backend: DbBackend) -> Self {
        let via_postgres = backend == DbBackend::Postgres;
        Self {
            sender: broadcast::channel(BUFFER).0,
            via_postgres,
            listening: Arc::new(AtomicBool::new(!via_postgres)),
            listened: Arc::new(AtomicBool::new(false)),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A new subscriber; it receives what is published from now on.
    pub fn subscribe(&self) -> Subscriber {
        Subscriber(self.sender.subscribe())
    }

    /// Subscribers now (each GraphQL subscription is one).
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Whether events reach this bus now: on PostgreSQL, while the LISTEN task listens.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// Whether this bus needs [`PromoService::listen_for_events`] running (PostgreSQL).
    pub fn needs_listener(&self) -> bool {
        self.via_postgres
    }

    /// Events that could not be delivered since start (failed NOTIFY, undecodable payload).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn deliver(&self, notice: Notice) {
        // No subscriber is no error: the event has nobody to tell.
        let _ = self.sender.send(notice);
    }
}

/// One subscriber's end of the bus.
pub struct Subscriber(broadcast::Receiver<Notice>);

impl Subscriber {
    /// The next notice; None once the bus is gone (the service was dropped).
    pub async fn next(&mut self) -> Option<Notice> {
        match self.0.recv().await {
            Ok(notice) => Some(notice),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Notice::Missed(Some(missed))),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// The events as NOTIFY payloads, each a JSON array under `MAX_PAYLOAD` bytes.
fn payloads(events: &[Event]) -> Vec<String> {
    let mut out = Vec::new();
    let mut batch: Vec<String> = Vec::new();
    let mut size = 2;
    for event in events {
        let Ok(json) = serde_json::to_string(event) else {
            continue;
        };
        if !batch.is_empty() && size + json.len() + 1 > MAX_PAYLOAD {
            out.push(format!("[{}]", batch.join(",")));
            batch.clear();
            size = 2;
        }
        size += json.len() + 1;
        batch.push(json);
    }
    if !batch.is_empty() {
        out.push(format!("[{}]", batch.join(",")));
    }
    out
}

impl PromoService {
    /// This service's bus.
    pub fn events(&self) -> &Bus {
        &self.events
    }

    /// Tells subscribers on every replica what a committed change did. Call it after the
    /// commit, never inside the transaction (a rollback would have told a lie).
    pub(crate) async fn publish(&self, events: impl IntoIterator<Item = Event>) {
        let events: Vec<Event> = events.into_iter().collect();
        if !self.events.via_postgres {
            for event in events {
                self.events.deliver(Notice::Event(event));
            }
            return;
        }
        for payload in payloads(&events) {
            let notify = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            );
            if let Err(error) = self.db.execute_raw(notify).await {
                self.events.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "an event was not sent (NOTIFY failed); subscribers miss it");
            }
        }
    }

    /// [`PromoService::fenced`], then `event` published when the write was stored.
    pub(crate) async fn fenced_then_publish<F>(
        &self,
        id: &str,
        token: &str,
        event: Event,
        write: F,
    ) -> Result<bool, crate::ServiceError>
    where
        F: for<'t> FnOnce(
            &'t sea_orm::DatabaseTransaction,
        ) -> futures::future::BoxFuture<'t, Result<(), sea_orm::DbErr>>,
    {
        let stored = self.fenced(id, token, write).await?;
        if stored {
            self.publish([event]).await;
        }
        Ok(stored)
    }

    /// PostgreSQL: LISTENs on [`CHANNEL`] with a connection of the service's pool and puts what
    /// arrives on the bus, until the connection cannot be made again (an error: run it
    /// supervised, which restarts it with a backoff). A lost connection is made again at once
    /// by the listener; subscribers are told they may have missed events. On SQLite there is
    /// nothing to listen to: it answers at once.
    pub async fn listen_for_events(&self) -> Result<(), crate::ServiceError> {
        if !self.events.via_postgres {
            return Ok(());
        }
        let result = listen(&self.events, self.db.get_postgres_connection_pool()).await;
        self.events.listening.store(false, Ordering::Relaxed);
        let error = match result {
            Ok(never) => match never {},
            Err(error) => error,
        };
        Err(crate::ServiceError::Internal(anyhow::anyhow!(
            "listening for events on {CHANNEL}: {error}"
        )))
    }
}

/// The LISTEN loop: ends only with an error (the connection could not be made again).
async fn listen(
    bus: &Bus,
    pool: &sea_orm::sqlx::PgPool,
) -> Result<std::convert::Infallible, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    bus.listening.store(true, Ordering::Relaxed);
    if bus.listened.swap(true, Ordering::Relaxed) {
        // Listening again after a failure: what was sent meanwhile is gone.
        bus.deliver(Notice::Missed(None));
    }
    loop {
        let Some(notification) = listener.try_recv().await? else {
            // The connection was lost and made again (eagerly, by the listener).
            tracing::warn!("the LISTEN connection was lost and made again; events may be missed");
            bus.deliver(Notice::Missed(None));
            continue;
        };
        match serde_json::from_str::<Vec<Event>>(notification.payload()) {
            Ok(events) => {
                for event in events {
                    bus.deliver(Notice::Event(event));
                }
            }
            Err(error) => {
                bus.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "an event payload on {CHANNEL} does not decode");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_json_arrays_under_the_notify_limit() {
        let events: Vec<Event> = (0..200)
            .map(|i| Event::CodeChanged {
                id: format!("{i:036}"),
                version: i,
                action: "update".into(),
            })
            .collect();
        let payloads = payloads(&events);
        assert!(payloads.len() > 1, "split into several");
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < MAX_PAYLOAD, "{}", payload.len());
            back.extend(serde_json::from_str::<Vec<Event>>(payload).expect("decodes"));
        }
        assert_eq!(back, events, "all of them, in order");
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_how_many_it_missed() {
        let bus = Bus::new(DbBackend::Sqlite);
        let mut slow = bus.subscribe();
        for i in 0..(BUFFER as u64 + 5) {
            bus.deliver(Notice::Event(Event::BulkJobProgress {
                job_id: i.to_string(),
            }));
        }
        assert_eq!(slow.next().await, Some(Notice::Missed(Some(5))));
        assert_eq!(
            slow.next().await,
            Some(Notice::Event(Event::BulkJobProgress { job_id: "5".into() }))
        );
    }
}
