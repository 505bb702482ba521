//! docker-compose.yml cannot be run here (no Docker engine), so its shape is checked: the
//! services, builds, healthchecks and dependencies the README promises, and that every variable
//! it sets for PromoHub's programs is one contract/runtime.md defines.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The variables of runtime.md's configuration table (every `UPPER_CASE` name in its rows).
fn runtime_variables() -> BTreeSet<String> {
    read("contract/runtime.md")
        .lines()
        .filter(|line| line.starts_with("| `"))
        .flat_map(|line| {
            let cell = line.split('|').nth(1).unwrap_or_default();
            cell.split('`')
                .skip(1)
                .step_by(2)
                .filter(|name| {
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                })
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn compose() -> Value {
    serde_yaml::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML")
}

fn environment(service: &Value) -> Vec<(String, String)> {
    service["environment"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    (k.as_str().unwrap_or_default().to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn runtime_md_lists_the_variables_we_expect() {
    let vars = runtime_variables();
    for name in [
        "PROMOHUB_LISTEN",
        "DATABASE_URL",
        "PROMOHUB_API_TOKENS",
        "FLEX_API_URL",
        "WHOP_API_KEY",
        "RUST_LOG",
    ] {
        assert!(
            vars.contains(name),
            "{name} not parsed from runtime.md: {vars:?}"
        );
    }
}

#[test]
fn the_stack_has_its_services_builds_healthchecks_and_dependencies() {
    let compose = compose();
    let services = &compose["services"];
    let names: BTreeSet<&str> = services
        .as_mapping()
        .expect("services")
        .keys()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(names, BTreeSet::from(["postgres", "promohub", "sandbox"]));

    let postgres = &services["postgres"];
    assert!(
        postgres["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("postgres:"))
    );
    let volume = postgres["volumes"][0].as_str().expect("a volume");
    let named = volume.split(':').next().expect("volume name");
    assert!(
        compose["volumes"].get(named).is_some(),
        "{named} is a named volume"
    );
    assert!(postgres["healthcheck"]["test"].is_sequence());

    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile
            .lines()
            .filter(|l| l.starts_with("FROM "))
            .count()
            >= 2,
        "a multi-stage Dockerfile"
    );
    for binary in ["promohub", "promohub-sandbox"] {
        assert!(
            dockerfile.contains(&format!("/target/release/{binary} ")),
            "Dockerfile ships {binary}"
        );
    }
    for service in ["promohub", "sandbox"] {
        assert_eq!(
            services[service]["build"]["dockerfile"].as_str(),
            Some("Dockerfile"),
            "{service} is built"
        );
        assert!(
            services[service]["healthcheck"]["test"].is_sequence(),
            "{service} has a healthcheck"
        );
    }
    let promohub = &services["promohub"];
    assert!(
        promohub["healthcheck"]["test"]
            .as_sequence()
            .is_some_and(|t| t
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.ends_with("/readyz")))),
        "promohub's healthcheck asks /readyz"
    );
    assert_eq!(
        promohub["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert_eq!(
        promohub["depends_on"]["sandbox"]["condition"].as_str(),
        Some("service_healthy")
    );
}

#[test]
fn every_variable_set_for_promohub_and_the_sandbox_is_in_runtime_md() {
    let allowed = runtime_variables();
    let compose = compose();
    for service in ["promohub", "sandbox"] {
        for (name, _) in environment(&compose["services"][service]) {
            assert!(
                allowed.contains(&name),
                "{service} sets {name}, which runtime.md does not define"
            );
        }
    }
}

#[test]
fn promohub_is_pointed_at_postgres_and_the_sandbox_with_matching_keys() {
    let compose = compose();
    let promohub: std::collections::BTreeMap<_, _> = environment(&compose["services"]["promohub"])
        .into_iter()
        .collect();
    let sandbox: std::collections::BTreeMap<_, _> = environment(&compose["services"]["sandbox"])
        .into_iter()
        .collect();
    assert!(promohub["DATABASE_URL"].starts_with("postgres://"));
    assert!(promohub["DATABASE_URL"].contains("@postgres:5432/"));
    for (provider, mount) in [("FLEX", "/flex"), ("FYNN", "/fynn"), ("WHOP", "/whop/api")] {
        assert_eq!(
            promohub[&format!("{provider}_API_URL")],
            format!("http://sandbox:9100{mount}")
        );
        let key = format!("{provider}_API_KEY");
        assert_eq!(
            promohub[&key], sandbox[&key],
            "promohub sends the key the sandbox accepts"
        );
    }
    assert!(promohub.contains_key("PROMOHUB_API_TOKENS"));
    let env_example = read(".env.example");
    assert!(env_example.contains("PROMOHUB_API_TOKENS="));
}
