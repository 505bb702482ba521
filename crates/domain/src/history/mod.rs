//! A code's change history: every change is a row of `audit_log` (who, when, what, and the
//! version it made), read back in pages, newest first.
//!
//! Writers (`record.rs`): `record` inside the transaction of the change it describes
//! (`service/lease.rs` commit for creates, updates, archives and ADOPT_THEIRS; `service/pull.rs`
//! for imports, `service/drift.rs` for PUSH_OURS), and `redemptions_seen` / `state_seen` for
//! what a sync sees change on a provider. Actors are a token's name,
//! `SYNC_ACTOR` for what a sync does or sees, and `bulk_actor(job)` for bulk jobs.
//!
//! `changes` is stored as JSON: `{field: {"from": before, "to": after}}` per changed field
//! (the API's names, dotted when nested: `restrictions.planIds`, `providers.WHOP.state`),
//! beside context keys whose value is not such a pair (`provider`, `externalId`, `message`).
//! Rows written before this module differ only for creates, `{"created": {..}}`, read here as
//! fields set from null.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Map, Value, json};

use crate::entity::audit_log;
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::store;

mod record;

pub use record::{Seen, created, imported, pushed, record, redemptions_seen, state_seen};

/// Who changed a code when a sync did (an import, a change seen on a provider).
pub const SYNC_ACTOR: &str = "sync";

/// Who changed a code when a bulk job did. Hook for the bulk jobs of issue 16: their creates
/// go through the service with this actor and are recorded as CREATED like any other.
pub fn bulk_actor(job_id: &str) -> String {
    format!("bulk:{job_id}")
}

/// Largest page of `history`.
pub const MAX_PAGE: i64 = 100;

/// What a history entry records. Stored as `stored_name`: the names of round 1 are kept, so
/// old rows read the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Archived,
    /// Found on a provider by a sync and stored here.
    Imported,
    /// resolveDrift ADOPT_THEIRS: the provider's values taken as a new version.
    DriftAdopted,
    /// resolveDrift PUSH_OURS: this service's state queued to be written to the provider.
    DriftPushed,
    /// A sync saw the code change on a provider (redemptions, status there).
    ProviderChanged,
    /// A rejected create left a copy on a provider that could not be retired.
    UndoFailed,
    /// A name this version does not know (written by a newer one).
    Other,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Created,
        Action::Updated,
        Action::Archived,
        Action::Imported,
        Action::DriftAdopted,
        Action::DriftPushed,
        Action::ProviderChanged,
        Action::UndoFailed,
        Action::Other,
    ];

    pub fn stored_name(self) -> &'static str {
        match self {
            Action::Created => "create",
            Action::Updated => "update",
            Action::Archived => "archive",
            Action::Imported => "import",
            Action::DriftAdopted => "adopt_provider_state",
            Action::DriftPushed => "push_to_provider",
            Action::ProviderChanged => "provider_change",
            Action::UndoFailed => "undo_failed",
            Action::Other => "other",
        }
    }

    pub fn from_stored(name: &str) -> Action {
        Action::ALL
            .into_iter()
            .find(|a| a.stored_name() == name)
            .unwrap_or(Action::Other)
    }
}

/// One field's value before and after a change (JSON null for "none").
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: Action,
    /// The code's version after the change; None on rows written before versions were kept.
    pub version: Option<i64>,
    pub changes: Vec<FieldChange>,
    /// What the change carried besides fields (e.g. the provider an import came from).
    pub details: Map<String, Value>,
}

#[derive(Clone, Debug)]
pub struct HistoryPage {
    /// Each entry with its cursor, newest first.
    pub items: Vec<(String, HistoryEntry)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// Splits a stored `changes` into field changes and the rest.
fn read_changes(text: &str) -> (Vec<FieldChange>, Map<String, Value>) {
    let mut fields = Vec::new();
    let mut details = Map::new();
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        // Never fails a page: what cannot be read is shown as it is.
        details.insert("unreadable".into(), json!(text));
        return (fields, details);
    };
    for (key, value) in map {
        match value {
            Value::Object(pair) if is_pair(&pair) => fields.push(FieldChange {
                field: key,
                before: pair.get("from").cloned().unwrap_or(Value::Null),
                after: pair.get("to").cloned().unwrap_or(Value::Null),
            }),
            // Round 1's creates: the fields a code was created with.
            Value::Object(created) if key == "created" => {
                fields.extend(created.into_iter().map(|(field, after)| FieldChange {
                    field,
                    before: Value::Null,
                    after,
                }))
            }
            value => {
                details.insert(key, value);
            }
        }
    }
    (fields, details)
}

fn is_pair(map: &Map<String, Value>) -> bool {
    map.len() == 2 && map.contains_key("from") && map.contains_key("to")
}

fn entry(row: audit_log::Model) -> HistoryEntry {
    let (changes, details) = read_changes(&row.changes);
    HistoryEntry {
        id: row.id,
        at: row.at,
        actor: row.actor,
        action: Action::from_stored(&row.action),
        version: row.version,
        changes,
        details,
    }
}

/// The cursor of the entry with this id in `history` (what its edge carries; `after` it
/// pages on to older entries).
pub fn cursor(entry_id: i64) -> String {
    store::encode_cursor(&json!({ "h": entry_id }))
}

/// One entry of a code's history by its id, as `history` lists it, with its cursor; None
/// when the code has no entry with this id. What a subscription event's entry is read by.
pub async fn entry_by_id(
    db: &impl ConnectionTrait,
    promo_code_id: &str,
    entry_id: i64,
) -> Result<Option<(String, HistoryEntry)>, ServiceError> {
    let row = audit_log::Entity::find_by_id(entry_id)
        .filter(audit_log::Column::PromoCodeId.eq(promo_code_id))
        .one(db)
        .await?;
    Ok(row.map(|row| (cursor(row.id), entry(row))))
}

/// A page of a code's history, newest first: one range scan of the
/// `(promo_code_id, id)` index with a LIMIT, whatever the depth (`after` is a keyset
/// cursor, never an offset). `first` is 1..=MAX_PAGE.
pub async fn page(
    db: &impl ConnectionTrait,
    promo_code_id: &str,
    first: i64,
    after: Option<&str>,
) -> Result<HistoryPage, ServiceError> {
    if !(1..=MAX_PAGE).contains(&first) {
        let message = format!("must be 1 to {MAX_PAGE}");
        return Err(UserError::new(&["first"], ErrorCode::Invalid, message).into());
    }
    let before = match after {
        None => None,
        Some(cursor) => Some(
            store::decode_cursor(cursor)
                .and_then(|c| c["h"].as_i64())
                .ok_or_else(|| {
                    UserError::new(&["after"], ErrorCode::Invalid, "not a cursor of a history")
                })?,
        ),
    };
    let mut select =
        audit_log::Entity::find().filter(audit_log::Column::PromoCodeId.eq(promo_code_id));
    if let Some(before) = before {
        select = select.filter(audit_log::Column::Id.lt(before));
    }
    let wanted = u64::try_from(first + 1).unwrap_or(1);
    let mut rows = select
        .order_by_desc(audit_log::Column::Id)
        .limit(wanted)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 >= wanted;
    rows.truncate(usize::try_from(first).unwrap_or(0));
    Ok(HistoryPage {
        items: rows
            .into_iter()
            .map(|row| (cursor(row.id), entry(row)))
            .collect(),
        has_next_page,
        has_previous_page: after.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_round_one_read_as_field_changes() {
        let (fields, details) = read_changes(
            r#"{"created": {"code": "A", "providers": ["WHOP"]}, "imported_from": "WHOP"}"#,
        );
        assert_eq!(
            fields,
            [
                FieldChange {
                    field: "code".into(),
                    before: Value::Null,
                    after: json!("A")
                },
                FieldChange {
                    field: "providers".into(),
                    before: Value::Null,
                    after: json!(["WHOP"])
                },
            ]
        );
        assert_eq!(details["imported_from"], "WHOP");
        let (fields, _) = read_changes(r#"{"name": {"from": "a", "to": "b"}}"#);
        assert_eq!(
            (fields[0].before.clone(), fields[0].after.clone()),
            (json!("a"), json!("b"))
        );
        let (fields, details) = read_changes("not json");
        assert!(fields.is_empty());
        assert_eq!(details["unreadable"], "not json");
    }

    #[test]
    fn actions_keep_their_stored_names() {
        for action in Action::ALL {
            assert_eq!(Action::from_stored(action.stored_name()), action);
        }
        assert_eq!(Action::from_stored("something new"), Action::Other);
    }
}
