//! The provider specs are valid OpenAPI 3.0.3 and the generated clients follow them.

use std::path::Path;

use serde_json::Value;
use xtask::{Outcome, PROVIDERS, codegen, generate, generated_path, spec_path, workspace_root};

fn spec_json(provider: &str) -> Value {
    let text = std::fs::read_to_string(spec_path(&workspace_root(), provider)).expect("spec");
    serde_yaml::from_str(&text).expect("spec is YAML")
}

fn walk<'a>(value: &'a Value, path: String, visit: &mut dyn FnMut(&str, &'a Value)) {
    visit(&path, value);
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| walk(v, format!("{path}/{k}"), visit)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| walk(v, format!("{path}/{i}"), visit)),
        _ => {}
    }
}

#[test]
fn every_spec_is_openapi_3_0_3_and_every_ref_resolves() {
    for provider in PROVIDERS {
        let spec = xtask::load_spec(&spec_path(&workspace_root(), provider)).expect("loads");
        assert_eq!(spec.openapi, "3.0.3", "{provider}");
        let raw = spec_json(provider);
        let mut refs = 0;
        let mut broken = Vec::new();
        walk(&raw, String::new(), &mut |path, value| {
            if let Some(Value::String(target)) = value.get("$ref") {
                refs += 1;
                let resolves = target
                    .strip_prefix('#')
                    .is_some_and(|pointer| raw.pointer(pointer).is_some());
                if !resolves {
                    broken.push(format!("{path}: {target}"));
                }
            }
        });
        assert!(refs > 5, "{provider}: expected $refs, found {refs}");
        assert!(broken.is_empty(), "{provider}: unresolved refs {broken:?}");
    }
}

#[test]
fn every_operation_has_an_id_and_every_assumption_a_reason() {
    for provider in PROVIDERS {
        let raw = spec_json(provider);
        let paths = raw["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                assert!(
                    op["operationId"].is_string(),
                    "{provider}: {method} {path} has no operationId"
                );
            }
        }
        walk(&raw, String::new(), &mut |path, value| {
            if value.get("x-promohub-assumed") == Some(&Value::Bool(true)) {
                assert!(
                    value["x-promohub-reason"]
                        .as_str()
                        .is_some_and(|r| !r.is_empty()),
                    "{provider}: {path} is assumed without x-promohub-reason"
                );
            }
        });
        assert!(
            raw["components"]["securitySchemes"]
                .as_object()
                .is_some_and(|schemes| schemes.values().any(|s| s["scheme"] == "bearer")),
            "{provider}: no bearer security scheme"
        );
    }
}

#[test]
fn generation_is_deterministic_and_matches_the_checked_in_clients() {
    let root = workspace_root();
    for provider in PROVIDERS {
        let first = generate(&root, provider).expect("generates");
        let second = generate(&root, provider).expect("generates");
        assert_eq!(first, second, "{provider}: two runs differ");
        assert!(first.starts_with(&format!(
            "// generated from openapi/{provider}.yaml by `cargo xtask codegen`; do not edit"
        )));
        let checked_in = std::fs::read_to_string(generated_path(&root, provider)).expect("file");
        assert!(
            checked_in == first,
            "{provider}: checked-in client is stale; run `cargo xtask codegen`"
        );
    }
}

/// A throwaway copy of the specs and generated clients, laid out like the workspace.
fn temp_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = workspace_root();
    for provider in PROVIDERS {
        for (from, to) in [
            (spec_path(&root, provider), spec_path(dir.path(), provider)),
            (
                generated_path(&root, provider),
                generated_path(dir.path(), provider),
            ),
        ] {
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&from, &to).expect("copy");
        }
    }
    dir
}

fn stale(root: &Path) -> Vec<String> {
    codegen(root, true)
        .expect("check runs")
        .into_iter()
        .filter(|(_, outcome)| *outcome == Outcome::Stale)
        .map(|(provider, _)| provider)
        .collect()
}

#[test]
fn check_names_a_stale_file_and_writes_nothing() {
    let tree = temp_tree();
    assert!(stale(tree.path()).is_empty());
    let whop = generated_path(tree.path(), "whop");
    let edited = std::fs::read_to_string(&whop).expect("read") + "\n// hand edit\n";
    std::fs::write(&whop, &edited).expect("write");
    assert_eq!(stale(tree.path()), vec!["whop".to_string()]);
    assert_eq!(std::fs::read_to_string(&whop).expect("read"), edited);
}

#[test]
fn editing_a_spec_changes_the_client_and_codegen_makes_check_pass_again() {
    let tree = temp_tree();
    let spec = spec_path(tree.path(), "fynn");
    let text = std::fs::read_to_string(&spec).expect("read");
    let edited = text.replace(
        "        reedemptions:\n",
        "        archivedAt: {type: string, format: date-time, nullable: true}\n        reedemptions:\n",
    );
    assert_ne!(text, edited, "the edit applies");
    std::fs::write(&spec, edited).expect("write");
    assert_eq!(stale(tree.path()), vec!["fynn".to_string()]);

    let before = std::fs::read_to_string(generated_path(tree.path(), "fynn")).expect("read");
    let written = codegen(tree.path(), false).expect("codegen");
    assert!(written.contains(&("fynn".to_string(), Outcome::Written)));
    let after = std::fs::read_to_string(generated_path(tree.path(), "fynn")).expect("read");
    assert_ne!(before, after);
    assert!(after.contains("pub archived_at"));
    assert!(stale(tree.path()).is_empty());
}

#[test]
fn a_3_1_spec_is_refused_with_a_clear_error() {
    let tree = temp_tree();
    let spec = spec_path(tree.path(), "flex");
    let text = std::fs::read_to_string(&spec).expect("read");
    std::fs::write(&spec, text.replace("openapi: 3.0.3", "openapi: 3.1.0")).expect("write");
    let err = codegen(tree.path(), true).expect_err("3.1 refused");
    assert!(format!("{err:#}").contains("not 3.0.x"), "{err:#}");
}
