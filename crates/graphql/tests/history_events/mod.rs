//! Shared by tests/subscriptions.rs and tests/subscriptions_replicas.rs: a `promoCodeChanged`
//! event's `historyEntry` held against what `PromoCode.history(first: 1)` answers afterwards,
//! and the change both files make to produce events.

#![allow(dead_code)]

use std::net::SocketAddr;

use promohub_test_support::server;
use serde_json::{Value, json};

/// Every field of a history entry, as a client showing the history asks them.
const ENTRY: &str = "id at actor action version details changes { field before after }";

/// `promoCodeChanged(id: $id)` with the event's entry and cursor.
pub fn subscription() -> String {
    format!(
        "subscription($id: ID) {{ promoCodeChanged(id: $id) {{ id action version historyCursor \
         historyEntry {{ {ENTRY} }} }} }}"
    )
}

/// The newest `first` edges of the code's history (`{cursor, node}`), read over HTTP from `addr`.
pub async fn edges(addr: SocketAddr, token: &str, id: &str, first: usize) -> Vec<Value> {
    let query = format!(
        "query($id: ID!, $first: Int) {{ promoCode(id: $id) {{ history(first: $first) {{ edges {{ cursor node {{ {ENTRY} }} }} }} }} }}"
    );
    let variables = json!({ "id": id, "first": first });
    let data = server::graphql_data(&format!("http://{addr}"), token, &query, variables).await;
    let edges = data["promoCode"]["history"]["edges"].as_array();
    edges.cloned().unwrap_or_default()
}

/// Renames code `id` through the API at `addr` with `token`.
pub async fn rename(addr: SocketAddr, token: &str, id: &str, name: &str) {
    server::graphql_data(
        &format!("http://{addr}"),
        token,
        "mutation($id: ID!, $name: String!) { updatePromoCode(id: $id, input: { name: $name }) { userErrors { message } } }",
        json!({ "id": id, "name": name }),
    )
    .await;
}

/// The history action an event's (audit log) action is listed as.
fn listed_as(action: &str) -> &'static str {
    match action {
        "create" => "CREATED",
        "update" => "UPDATED",
        "archive" => "ARCHIVED",
        "import" => "IMPORTED",
        "adopt_provider_state" => "DRIFT_ADOPTED",
        "push_to_provider" => "DRIFT_PUSHED",
        "provider_change" => "PROVIDER_CHANGED",
        other => panic!("an event with action {other}"),
    }
}

/// Asserts `event` (a `promoCodeChanged` of [`subscription`]) carries the very entry, and its
/// cursor, that the history of its code on `addr` lists newest now; answers the entry.
pub async fn assert_newest(addr: SocketAddr, token: &str, event: &Value) -> Value {
    let id = event["id"].as_str().expect("the event's code id");
    let newest = edges(addr, token, id, 1).await;
    assert_same(event, newest.first().unwrap_or(&Value::Null))
}

/// Asserts `event` carries the entry and cursor of history edge `edge`; answers the entry.
pub fn assert_same(event: &Value, edge: &Value) -> Value {
    let entry = &event["historyEntry"];
    assert!(entry.is_object(), "the event carries no entry: {event}");
    assert_eq!(*entry, edge["node"], "the event's entry is the history's");
    assert_eq!(event["historyCursor"], edge["cursor"], "{event}");
    assert_eq!(entry["version"], event["version"], "{event}");
    let action = event["action"].as_str().unwrap_or_default();
    assert_eq!(entry["action"], listed_as(action), "{event}");
    entry.clone()
}

/// Metadata of `keys` keys with 480-character values (about 490 bytes per key; the cap is
/// 8 KiB as JSON, so at most 16 keys).
pub fn large_metadata(keys: usize, fill: char) -> Value {
    let value: String = std::iter::repeat_n(fill, 480).collect();
    Value::Object(
        (0..keys)
            .map(|i| (format!("note{i:02}"), json!(value)))
            .collect(),
    )
}

/// The entry as JSON text: what an event would have to carry inline.
pub fn bytes(entry: &Value) -> usize {
    entry.to_string().len()
}
