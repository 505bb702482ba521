//! Writing history: one audit row per change, in the transaction of the change it describes.

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use serde_json::{Map, Value, json};

use super::{Action, SYNC_ACTOR};
use crate::entity::{audit_log, promo_code};
use crate::error::ServiceError;
use crate::model::{Discount, PromoCode, Provider, ProviderSync, SyncState};

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
