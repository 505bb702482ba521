//! A code's change history: every change is a row of `audit_log` (who, when, what, and the
//! version it made), read back in pages, newest first.
//!
//! Writers: `record` inside the transaction of the change it describes (service.rs `commit`
//! for creates, updates, archives and ADOPT_THEIRS; sync.rs for imports and PUSH_OURS), and
//! `provider_changed` for what a sync sees change on a provider. Actors are a token's name,
//! `SYNC_ACTOR` for what a sync does or sees, and `bulk_actor(job)` for bulk jobs.
//!
//! `changes` is stored as JSON: `{field: {"from": before, "to": after}}` per changed field
//! (the API's names, dotted when nested: `restrictions.planIds`, `providers.WHOP.state`),
//! beside context keys whose value is not such a pair (`provider`, `externalId`, `message`).
//! Rows written before this module differ only for creates, `{"created": {..}}`, read here as
//! fields set from null.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Map, Value, json};

use crate::entity::{audit_log, promo_code};
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::model::{Discount, PromoCode, Provider, ProviderSync, SyncState};
use crate::service::PromoService;
use crate::store;

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

/// Writes one history row in `db` (the change's own transaction, so both land or neither);
/// answers its id, which the change's event names (`Event::CodeChanged::history`).
pub async fn record(
    db: &impl ConnectionTrait,
    promo_code_id: &str,
    actor: &str,
    action: &str,
    version: Option<i64>,
    changes: Value,
) -> Result<i64, ServiceError> {
    let inserted = audit_log::Entity::insert(audit_log::ActiveModel {
        promo_code_id: Set(promo_code_id.to_string()),
        actor: Set(actor.to_string()),
        action: Set(action.to_string()),
        changes: Set(changes.to_string()),
        at: Set(Utc::now()),
        version: Set(version),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

/// What a sync recorded seeing on a provider: the history entry, and the code's version it was
/// recorded at (None if the code is gone meanwhile).
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub entry: i64,
    pub version: Option<i64>,
}

/// Records the redemptions (before, after) a sync saw on `provider` for a code.
pub async fn redemptions_seen(
    db: &impl ConnectionTrait,
    promo_code_id: &str,
    provider: Provider,
    (before, after): (i64, i64),
) -> Result<Seen, ServiceError> {
    let (before, after) = (json!(before), json!(after));
    provider_changed(
        db,
        promo_code_id,
        provider,
        "timesRedeemed",
        before,
        after,
        None,
    )
    .await
}

/// Records the link state (before, after, why) a sync set from what it saw on `provider`.
pub async fn state_seen(
    db: &impl ConnectionTrait,
    promo_code_id: &str,
    provider: Provider,
    (before, after, message): (&str, SyncState, Option<&str>),
) -> Result<Seen, ServiceError> {
    let (before, after) = (json!(before), json!(after));
    provider_changed(db, promo_code_id, provider, "state", before, after, message).await
}

/// Records what a sync saw change on `provider` for a code (actor `sync`), at the code's
/// current version (the change is the provider's, not a new version here).
async fn provider_changed(
    db: &impl ConnectionTrait,
    promo_code_id: &str,
    provider: Provider,
    field: &str,
    before: Value,
    after: Value,
    message: Option<&str>,
) -> Result<Seen, ServiceError> {
    let version: Option<i64> = promo_code::Entity::find_by_id(promo_code_id.to_string())
        .select_only()
        .column(promo_code::Column::Version)
        .into_tuple()
        .one(db)
        .await?;
    let mut changes = Map::new();
    changes.insert(
        format!("providers.{provider}.{field}"),
        json!({ "from": before, "to": after }),
    );
    changes.insert("provider".into(), json!(provider));
    if let Some(message) = message {
        changes.insert("message".into(), json!(message));
    }
    let action = Action::ProviderChanged.stored_name();
    let changes = Value::Object(changes);
    let entry = record(db, promo_code_id, SYNC_ACTOR, action, version, changes).await?;
    Ok(Seen { entry, version })
}

/// Every field of a new code as set from null: what a create or an import records.
pub fn created(code: &PromoCode) -> Value {
    let discount = match &code.discount {
        Discount::Percentage { percent_off } => {
            json!({ "type": "PERCENTAGE", "percentOff": percent_off })
        }
        Discount::FixedAmount {
            amount_off,
            currency,
        } => json!({ "type": "FIXED_AMOUNT", "amountOff": amount_off, "currency": currency }),
    };
    let duration = json!({ "type": code.duration.kind(), "periods": code.duration.periods() });
    let mut fields = vec![
        ("code", json!(code.code)),
        ("discount", discount),
        ("duration", duration),
        ("providers", json!(code.provider_names())),
    ];
    fields.extend(
        crate::rules::snapshot(code)
            .into_iter()
            .map(|(field, value)| (field.api_name(), value)),
    );
    Value::Object(
        fields
            .into_iter()
            .map(|(field, value)| (field.to_string(), json!({ "from": null, "to": value })))
            .collect(),
    )
}

/// Records an import (actor `sync`): the code as found, and where it was found.
pub async fn imported(
    db: &impl ConnectionTrait,
    code: &PromoCode,
    provider: Provider,
    external_id: &str,
) -> Result<i64, ServiceError> {
    let mut changes = created(code);
    if let Value::Object(map) = &mut changes {
        map.insert("provider".into(), json!(provider));
        map.insert("externalId".into(), json!(external_id));
    }
    let action = Action::Imported.stored_name();
    record(
        db,
        &code.id,
        SYNC_ACTOR,
        action,
        Some(code.version),
        changes,
    )
    .await
}

/// Records a PUSH_OURS: the provider's link goes back to PENDING, for the worker to write.
pub async fn pushed(
    db: &impl ConnectionTrait,
    code: &PromoCode,
    link: &ProviderSync,
    actor: &str,
) -> Result<i64, ServiceError> {
    let action = Action::DriftPushed.stored_name();
    record(
        db,
        &code.id,
        actor,
        action,
        Some(code.version),
        push_changes(link),
    )
    .await
}

fn push_changes(link: &ProviderSync) -> Value {
    let mut changes = Map::new();
    changes.insert(
        format!("providers.{}.state", link.provider),
        json!({ "from": link.state, "to": SyncState::Pending }),
    );
    changes.insert("provider".into(), json!(link.provider));
    changes.insert("strategy".into(), json!("PUSH_OURS"));
    changes.insert("message".into(), json!(link.last_error));
    Value::Object(changes)
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

impl PromoService {
    /// One entry of a code's history by its id, as `history` lists it, with its cursor; None
    /// when the code has no entry with this id. What a subscription event's entry is read by.
    pub async fn history_entry(
        &self,
        promo_code_id: &str,
        entry_id: i64,
    ) -> Result<Option<(String, HistoryEntry)>, ServiceError> {
        let row = audit_log::Entity::find_by_id(entry_id)
            .filter(audit_log::Column::PromoCodeId.eq(promo_code_id))
            .one(&self.db)
            .await?;
        Ok(row.map(|row| (cursor(row.id), entry(row))))
    }

    /// A page of a code's history, newest first: one range scan of the
    /// `(promo_code_id, id)` index with a LIMIT, whatever the depth (`after` is a keyset
    /// cursor, never an offset). `first` is 1..=MAX_PAGE.
    pub async fn history(
        &self,
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
            .all(&self.db)
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
