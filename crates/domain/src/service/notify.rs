//! Publishing and listening: the service's side of `crate::events`. Events go out after their
//! change commits; on PostgreSQL through NOTIFY (so every replica hears them), elsewhere on the
//! in-process bus.

use std::sync::atomic::Ordering;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::PromoService;
use crate::error::ServiceError;
use crate::events::{Bus, CHANNEL, Event, Notice, payloads};

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
    ) -> Result<bool, ServiceError>
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
    pub async fn listen_for_events(&self) -> Result<(), ServiceError> {
        if !self.events.via_postgres {
            return Ok(());
        }
        let result = listen(&self.events, self.db.get_postgres_connection_pool()).await;
        self.events.listening.store(false, Ordering::Relaxed);
        let error = match result {
            Ok(never) => match never {},
            Err(error) => error,
        };
        Err(ServiceError::Internal(anyhow::anyhow!(
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
