//! Developer tasks for the PromoHub workspace. The library half exists so tests can run the
//! same code generation on a temporary copy of the tree.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

pub mod scaffold;

/// The providers whose specs live in `openapi/<name>.yaml`.
pub const PROVIDERS: &[&str] = &[
    "flex", "fynn", "whop",
    // new-provider: codegen
];

/// Where a provider's spec lives, relative to the workspace root.
pub fn spec_path(root: &Path, provider: &str) -> PathBuf {
    root.join("openapi").join(format!("{provider}.yaml"))
}

/// Where a provider's generated client lives, relative to the workspace root.
pub fn generated_path(root: &Path, provider: &str) -> PathBuf {
    root.join("crates/clients/src/generated")
        .join(format!("{provider}.rs"))
}

/// Reads and parses one spec, refusing anything but OpenAPI 3.0.x (progenitor cannot read 3.1).
pub fn load_spec(path: &Path) -> Result<openapiv3::OpenAPI> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_spec(&text, path)
}

/// Parses the text of the spec at `path` (named in errors), as [`load_spec`] does.
pub fn parse_spec(text: &str, path: &Path) -> Result<openapiv3::OpenAPI> {
    let spec: openapiv3::OpenAPI =
        serde_yaml::from_str(text).with_context(|| format!("parsing {}", path.display()))?;
    if !spec.openapi.starts_with("3.0.") {
        bail!(
            "{}: openapi version {} is not 3.0.x",
            path.display(),
            spec.openapi
        );
    }
    Ok(spec)
}

/// Generates the formatted Rust client for one spec. Deterministic: the same spec always
/// gives the same bytes.
pub fn generate(root: &Path, provider: &str) -> Result<String> {
    let path = spec_path(root, provider);
    generate_spec(&load_spec(&path)?, &path, provider)
}

/// Generates the formatted Rust client for `spec`, read from `path` (named in errors).
pub fn generate_spec(spec: &openapiv3::OpenAPI, path: &Path, provider: &str) -> Result<String> {
    let mut settings = progenitor::GenerationSettings::default();
    settings.with_derive("PartialEq");
    let mut generator = progenitor::Generator::new(&settings);
    // progenitor asserts (panics) on some spec shapes instead of returning an error, e.g. two
    // different success body types; turn that into an error that names the spec.
    let tokens = catch_unwind(AssertUnwindSafe(|| generator.generate_tokens(spec)))
        .map_err(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "progenitor panicked".to_string());
            anyhow!(
                "{}: progenitor cannot generate a client: {why}",
                path.display()
            )
        })?
        .with_context(|| format!("generating a client from {}", path.display()))?;
    let file: syn::File = syn::parse2(tokens)
        .with_context(|| format!("the code generated from {} does not parse", path.display()))?;
    let mut out = String::new();
    writeln!(
        out,
        "// generated from openapi/{provider}.yaml by `cargo xtask codegen`; do not edit"
    )?;
    out.push_str("#![allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]\n\n");
    out.push_str(&prettyplease::unparse(&file));
    Ok(out)
}

/// What `codegen` found for one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    UpToDate,
    Written,
    Stale,
}

/// Regenerates every client. With `check`, writes nothing and reports which files differ.
pub fn codegen(root: &Path, check: bool) -> Result<Vec<(String, Outcome)>> {
    let mut outcomes = Vec::new();
    for provider in PROVIDERS {
        let fresh = generate(root, provider)?;
        let target = generated_path(root, provider);
        let current = std::fs::read_to_string(&target).ok();
        let outcome = if current.as_deref() == Some(fresh.as_str()) {
            Outcome::UpToDate
        } else if check {
            Outcome::Stale
        } else {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&target, &fresh)
                .with_context(|| format!("writing {}", target.display()))?;
            Outcome::Written
        };
        outcomes.push((provider.to_string(), outcome));
    }
    Ok(outcomes)
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
