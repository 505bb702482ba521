//! `PromoCode.history`: a code's changes as GraphQL types, over `promohub_domain::history`.

use async_graphql::{Enum, ID, Json, Object, SimpleObject};
use promohub_domain::history as domain;
use serde_json::{Map, Value};

use super::context::{DateTime, PageInfo};

/// What a history entry records. Values may be added in later versions: show an unknown one as it is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "promohub_domain::history::Action")]
pub enum PromoCodeHistoryAction {
    /// createPromoCode (or a bulk job: actor `bulk:<job id>`).
    Created,
    /// updatePromoCode.
    Updated,
    /// archivePromoCode.
    Archived,
    /// Found on a provider by a sync and stored here (actor `sync`; details name the provider).
    Imported,
    /// resolveDrift ADOPT_THEIRS: the provider's values taken as a new version.
    DriftAdopted,
    /// resolveDrift PUSH_OURS: this service's state queued to be written to the provider again.
    DriftPushed,
    /// A sync saw the code change on a provider (actor `sync`): its redemptions, or its status
    /// there (`providers.<PROVIDER>.state`).
    ProviderChanged,
    /// A rejected create left a copy on a provider that could not be retired.
    UndoFailed,
    /// Recorded by a newer version of this service, with an action this one does not know.
    Other,
}

/// One field's value before and after a change, as the API shows it; null for "none" (a
/// create's or an import's fields are all set from null).
#[derive(SimpleObject)]
pub struct FieldChange {
    /// The field's API name, dotted when nested: `maxRedemptions`, `restrictions.planIds`,
    /// `providers.WHOP.timesRedeemed`.
    pub(crate) field: String,
    pub(crate) before: Option<Json<Value>>,
    pub(crate) after: Option<Json<Value>>,
}

pub(crate) fn non_null(value: Value) -> Option<Json<Value>> {
    (!value.is_null()).then_some(Json(value))
}

/// One change of a code: who, when, what.
#[derive(SimpleObject)]
pub struct PromoCodeHistoryEntry {
    pub(crate) id: ID,
    pub(crate) at: DateTime,
    /// The token's name (never the token), `sync` for what a sync did or saw, `bulk:<job id>`.
    pub(crate) actor: String,
    pub(crate) action: PromoCodeHistoryAction,
    /// The code's version after the change; null on entries recorded before versions were kept.
    pub(crate) version: Option<i32>,
    pub(crate) changes: Vec<FieldChange>,
    /// What the change carried besides fields, e.g. `{"provider": "WHOP", "externalId": ...}`
    /// for an import; `{}` when nothing.
    pub(crate) details: Json<Map<String, Value>>,
}

impl From<domain::HistoryEntry> for PromoCodeHistoryEntry {
    fn from(entry: domain::HistoryEntry) -> Self {
        Self {
            id: ID(entry.id.to_string()),
            at: DateTime(entry.at),
            actor: entry.actor,
            action: entry.action.into(),
            version: entry.version.and_then(|v| i32::try_from(v).ok()),
            changes: entry
                .changes
                .into_iter()
                .map(|c| FieldChange {
                    field: c.field,
                    before: non_null(c.before),
                    after: non_null(c.after),
                })
                .collect(),
            details: Json(entry.details),
        }
    }
}

#[derive(SimpleObject)]
pub struct PromoCodeHistoryEdge {
    pub(crate) cursor: String,
    pub(crate) node: PromoCodeHistoryEntry,
}

/// A page of a code's history, newest first.
pub struct PromoCodeHistoryConnection(pub domain::HistoryPage);

#[Object]
impl PromoCodeHistoryConnection {
    async fn edges(&self) -> Vec<PromoCodeHistoryEdge> {
        self.0
            .items
            .iter()
            .map(|(cursor, entry)| PromoCodeHistoryEdge {
                cursor: cursor.clone(),
                node: entry.clone().into(),
            })
            .collect()
    }

    async fn nodes(&self) -> Vec<PromoCodeHistoryEntry> {
        self.0
            .items
            .iter()
            .map(|(_, entry)| entry.clone().into())
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            has_previous_page: self.0.has_previous_page,
            start_cursor: self.0.items.first().map(|(c, _)| c.clone()),
            end_cursor: self.0.items.last().map(|(c, _)| c.clone()),
        }
    }
}
