//! Every provider example we hold deserializes into the generated types and serializes back
//! without losing a field.

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

fn round_trip<T: DeserializeOwned + Serialize>(original: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(original.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Parses `value` as the generated type named by the fixture's file name.
fn round_trip_as(provider: &str, type_name: &str, value: &Value) -> Result<Value, String> {
    use promohub_clients::{flex::types as flex, fynn::types as fynn, whop::types as whop};
    match (provider, type_name) {
        ("flex", "PromoCode") => round_trip::<flex::PromoCode>(value),
        ("flex", "PromoCodeEnvelope") => round_trip::<flex::PromoCodeEnvelope>(value),
        ("flex", "CreatePromoCodeRequest") => round_trip::<flex::CreatePromoCodeRequest>(value),
        ("flex", "UpdatePromoCodeRequest") => round_trip::<flex::UpdatePromoCodeRequest>(value),
        ("flex", "UpdatePromoCode") => round_trip::<flex::UpdatePromoCode>(value),
        ("fynn", "CouponCollection") => round_trip::<fynn::CouponCollection>(value),
        ("whop", "PromoCode") => round_trip::<whop::PromoCode>(value),
        ("whop", "UpdatePromoCode") => round_trip::<whop::UpdatePromoCode>(value),
        ("whop", "Error") => round_trip::<whop::Error>(value),
        _ => Err(format!(
            "no type mapped for {provider}/{type_name}: add it here"
        )),
    }
}

/// Equal as the provider means it: numbers by value (123 == 123.0), timestamps by instant
/// (`+00:00` == `Z`), and an explicit `null` the same as an absent field.
fn same(original: &Value, back: &Value, path: &str, diffs: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = format!("{path}.{key}");
                match b.get(key) {
                    Some(other) => same(value, other, &here, diffs),
                    None if value.is_null() => {}
                    None => diffs.push(format!("{here}: lost")),
                }
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                if !b[key].is_null() {
                    diffs.push(format!("{path}.{key}: added"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same(x, y, &format!("{path}[{i}]"), diffs);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (Value::String(a), Value::String(b)) if a == b || same_instant(a, b) => {}
        (a, b) if a == b => {}
        (a, b) => diffs.push(format!("{path}: {a} became {b}")),
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = Vec::new();
    for provider in ["flex", "fynn", "whop"] {
        let entries = std::fs::read_dir(dir.join(provider)).expect("fixture folder exists");
        files.extend(
            entries
                .map(|entry| entry.expect("readable fixture folder").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "json")),
        );
    }
    files.sort();
    files
}

#[test]
fn every_provider_example_round_trips_through_the_generated_types() {
    let files = fixtures();
    assert!(
        files.len() >= 10,
        "expected the provider examples, found {files:?}"
    );
    let mut failures = Vec::new();
    for file in &files {
        let provider = file
            .parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .expect("provider folder");
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        let type_name = name.split('.').next().expect("type prefix");
        let text = std::fs::read_to_string(file).expect("readable fixture");
        let original: Value = serde_json::from_str(&text).expect("fixture is JSON");
        match round_trip_as(provider, type_name, &original) {
            Ok(back) => {
                let mut diffs = Vec::new();
                same(&original, &back, "$", &mut diffs);
                if !diffs.is_empty() {
                    failures.push(format!("{provider}/{name}: {}", diffs.join("; ")));
                }
            }
            Err(err) => failures.push(format!("{provider}/{name}: does not deserialize: {err}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_comparison_notices_a_lost_field() {
    // Guards the guard: a type that drops a field must be caught.
    let original = serde_json::json!({"active": true, "metadata": {"k": "v"}, "extra": 1});
    let back = round_trip_as("flex", "UpdatePromoCode", &original).expect("deserializes");
    let mut diffs = Vec::new();
    same(&original, &back, "$", &mut diffs);
    assert_eq!(diffs, vec!["$.extra: lost".to_string()]);
}
