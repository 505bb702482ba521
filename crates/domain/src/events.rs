//! Domain events: what changed, told to whoever listens (the GraphQL subscriptions).
//!
//! An event names what changed (ids, a version, an action, a state), never the data: a
//! subscriber reads the code as stored when it delivers the event, so an event can stay small
//! and never carries a stale copy. A code's change names its history entry by the audit row's
//! id, read by id when delivered: an entry may be far larger than a NOTIFY payload may be.
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

use sea_orm::DbBackend;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::model::{PromoCode, Provider, SyncState};

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
    /// `adopt_provider_state`, `push_to_provider`, `provider_change` (the audit log's action);
    /// `version` is the code's version after it.
    CodeChanged {
        id: String,
        version: i64,
        action: String,
        /// The audit row the change wrote (its history entry). Absent in payloads of servers
        /// from before it was sent, so both versions read each other's events.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        history: Option<i64>,
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
    /// A code's audited change, with the history entry (audit row id) it wrote.
    pub fn changed(id: &str, version: i64, action: &str, history: i64) -> Event {
        Event::CodeChanged {
            id: id.to_string(),
            version,
            action: action.to_string(),
            history: Some(history),
        }
    }

    /// What a commit of `code` by `action` tells: the change (with the history entry it
    /// wrote), and the state of each link.
    pub fn committed(code: &PromoCode, action: &str, history: i64) -> Vec<Event> {
        let mut events = vec![Event::changed(&code.id, code.version, action, history)];
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
    pub fn pushed(code: &PromoCode, provider: Provider, history: i64) -> Vec<Event> {
        vec![
            Event::changed(&code.id, code.version, "push_to_provider", history),
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
    pub(crate) via_postgres: bool,
    /// The LISTEN task is listening now (always true on SQLite).
    pub(crate) listening: Arc<AtomicBool>,
    /// The LISTEN task has listened before: a restart may have lost events.
    pub(crate) listened: Arc<AtomicBool>,
    /// Events not delivered: failed NOTIFYs, payloads that did not decode.
    pub(crate) dropped: Arc<AtomicU64>,
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

    pub(crate) fn deliver(&self, notice: Notice) {
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
pub(crate) fn payloads(events: &[Event]) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_json_arrays_under_the_notify_limit() {
        let events: Vec<Event> = (0..200)
            .map(|i| Event::changed(&format!("{i:036}"), i, "update", i64::MAX - i))
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

    #[test]
    fn a_code_change_names_its_history_entry_and_reads_payloads_without_one() {
        let told = Event::changed("c1", 2, "update", 41);
        let json = serde_json::to_string(&told).expect("encodes");
        assert!(json.contains(r#""history":41"#), "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).expect("decodes"), told);
        // A payload of a server from before history ids were sent.
        let old = r#"{"kind":"code_changed","id":"c1","version":2,"action":"update"}"#;
        let read = serde_json::from_str::<Event>(old).expect("decodes");
        assert!(
            matches!(read, Event::CodeChanged { history: None, .. }),
            "{read:?}"
        );
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
