//! `cargo xtask new-provider <name>`: scaffolds a provider so that the tree builds and its
//! tests list what is left to fill in (docs/adding-a-provider.md).
//!
//! Everything is planned in memory first (new files rendered from `xtask/templates/`, edits of
//! existing files made at `new-provider:` marker comments, the client generated from the stub
//! spec); only when every step of the plan holds is anything written. So a refusal writes
//! nothing, and a run never leaves half a provider behind.

mod edits;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{PROVIDERS, generate_spec, generated_path, parse_spec, spec_path};

/// A provider's name in each spelling the tree uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// `acme`: modules, files, the sandbox's name.
    pub lower: String,
    /// `Acme`: the enum variants and the connector type.
    pub camel: String,
    /// `ACME`: the API name, and the prefix of its environment variables.
    pub upper: String,
}

impl Names {
    /// Checks `name` (lower-case ASCII letters, 2 to 20 of them) and spells it three ways.
    pub fn parse(name: &str) -> Result<Self> {
        if !(2..=20).contains(&name.len()) || !name.bytes().all(|b| b.is_ascii_lowercase()) {
            bail!(
                "the provider name must be 2 to 20 lower-case ASCII letters (a-z), like `acme`; got {name:?}"
            );
        }
        if RESERVED.contains(&name) {
            bail!(
                "`{name}` cannot name a provider: it is a Rust keyword or a name the tree already uses for something else"
            );
        }
        let mut camel = name.to_string();
        camel[..1].make_ascii_uppercase();
        Ok(Self {
            lower: name.to_string(),
            camel,
            upper: name.to_ascii_uppercase(),
        })
    }

    /// `text` with `{{name}}`, `{{Name}}` and `{{NAME}}` filled in.
    pub fn fill(&self, text: &str) -> String {
        text.replace("{{name}}", &self.lower)
            .replace("{{Name}}", &self.camel)
            .replace("{{NAME}}", &self.upper)
    }
}

/// Rust keywords (strict and reserved), crate roots, and names the edited modules already
/// hold beside the providers (the sandbox's `World` fields).
const RESERVED: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "union", "std", "core", "alloc",
    "journal", "faults", "tests",
];

/// The new files, from `xtask/templates/` (path template, contents template).
const NEW_FILES: &[(&str, &str)] = &[
    (
        "crates/domain/src/providers/{{name}}/mod.rs",
        include_str!("../../templates/connector.rs.tmpl"),
    ),
    (
        "crates/domain/src/providers/{{name}}/capabilities.rs",
        include_str!("../../templates/capabilities.rs.tmpl"),
    ),
    (
        "crates/domain/src/providers/{{name}}/transformers.rs",
        include_str!("../../templates/transformers.rs.tmpl"),
    ),
    (
        "crates/sandbox/src/{{name}}.rs",
        include_str!("../../templates/sandbox.rs.tmpl"),
    ),
    (
        "crates/domain/tests/provider_{{name}}.rs",
        include_str!("../../templates/provider_test.rs.tmpl"),
    ),
];

const SPEC: &str = include_str!("../../templates/spec.yaml");

/// What a scaffold run did to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Touched {
    Created,
    Edited,
    /// The edit was already there (a file edited by hand, or an earlier run): left as it was.
    AlreadyThere,
}

/// One file of the plan, with what will be (or was) done to it.
#[derive(Clone, Debug)]
pub struct FileChange {
    /// Relative to the workspace root.
    pub path: PathBuf,
    pub touched: Touched,
    pub contents: String,
}

/// Everything a run will write, decided before anything is.
#[derive(Clone, Debug)]
pub struct Plan {
    pub names: Names,
    pub changes: Vec<FileChange>,
    /// What the user should know after the run (e.g. rustfmt could not run).
    pub notes: Vec<String>,
}

impl Plan {
    /// The files the plan touches (created or edited), in plan order.
    pub fn touched(&self) -> impl Iterator<Item = &FileChange> {
        self.changes
            .iter()
            .filter(|c| c.touched != Touched::AlreadyThere)
    }
}

/// The providers the tree at `root` has: the codegen list this xtask was built with, and any
/// with a spec or a connector folder (a tree scaffolded since).
fn existing(root: &Path, names: &Names) -> Option<PathBuf> {
    let spec = spec_path(root, &names.lower);
    let folder = root.join("crates/domain/src/providers").join(&names.lower);
    if PROVIDERS.contains(&names.lower.as_str()) {
        return Some(spec);
    }
    [spec, folder].into_iter().find(|p| p.exists())
}

/// Plans `new-provider <name>` on the tree at `root`, writing nothing.
pub fn plan(root: &Path, name: &str) -> Result<Plan> {
    let names = Names::parse(name)?;
    if let Some(path) = existing(root, &names) {
        bail!(
            "provider `{}` already exists ({}); pick another name",
            names.lower,
            relative(root, &path).display()
        );
    }
    let dependencies = crate_names(root)?;
    if dependencies.contains(&names.lower) {
        bail!(
            "`{}` is the name of a crate the workspace depends on; a module of that name would shadow it",
            names.lower
        );
    }
    let mut changes = Vec::new();
    let spec = names.fill(SPEC);
    let mut new_files = vec![(relative(root, &spec_path(root, &names.lower)), spec.clone())];
    new_files.extend(
        NEW_FILES
            .iter()
            .map(|(path, text)| (PathBuf::from(names.fill(path)), names.fill(text))),
    );
    // Beside the files to write, modules the new ones would clash with (`providers/error.rs`).
    let clashes = [
        relative(root, &generated_path(root, &names.lower)),
        PathBuf::from(names.fill("crates/domain/src/providers/{{name}}.rs")),
        PathBuf::from(names.fill("crates/sandbox/src/{{name}}")),
        PathBuf::from(names.fill("crates/clients/src/{{name}}.rs")),
    ];
    let taken: Vec<String> = new_files
        .iter()
        .map(|(path, _)| path)
        .chain(clashes.iter())
        .filter(|path| root.join(path).exists())
        .map(|path| path.display().to_string())
        .collect();
    if !taken.is_empty() {
        bail!(
            "refusing to overwrite what exists: {}; remove it or pick another name",
            taken.join(", ")
        );
    }
    for (path, contents) in new_files {
        changes.push(FileChange {
            path,
            touched: Touched::Created,
            contents,
        });
    }
    // The generated client, from the stub spec: as `cargo xtask codegen` would write it.
    changes.push(FileChange {
        path: relative(root, &generated_path(root, &names.lower)),
        touched: Touched::Created,
        contents: generate_from(root, &spec, &names.lower)?,
    });
    changes.extend(edits::plan(root, &names)?);
    Ok(Plan {
        names,
        changes,
        notes: Vec::new(),
    })
}

/// Writes a plan made by [`plan`] on the same tree.
pub fn apply(root: &Path, plan: &Plan) -> Result<()> {
    for change in plan.touched() {
        let path = root.join(&change.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &change.contents)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Plans and applies `new-provider <name>`, then formats what it wrote; the plan says which
/// files were touched.
pub fn new_provider(root: &Path, name: &str) -> Result<Plan> {
    let mut plan = plan(root, name)?;
    apply(root, &plan)?;
    if let Err(why) = format(root, &plan) {
        plan.notes.push(format!(
            "rustfmt did not run ({why:#}): run `cargo fmt --all` before committing"
        ));
    }
    Ok(plan)
}

/// The Rust files a plan wrote that rustfmt may touch (the generated client it must not).
pub fn formattable(plan: &Plan) -> Vec<PathBuf> {
    plan.touched()
        .map(|c| c.path.clone())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| !p.starts_with("crates/clients/src/generated"))
        .collect()
}

/// rustfmt over what the plan wrote: the inserted lines go above each marker, and rustfmt
/// puts them where the tree's style wants them (it sorts `mod` lines, for one).
fn format(root: &Path, plan: &Plan) -> Result<()> {
    let status = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(formattable(plan))
        .current_dir(root)
        .status()
        .context("starting rustfmt")?;
    if !status.success() {
        bail!("rustfmt failed: {status}");
    }
    Ok(())
}

/// The client progenitor generates from the stub `spec`, as `cargo xtask codegen` would write
/// it; a spec that cannot generate stops the plan before any write.
fn generate_from(root: &Path, spec: &str, name: &str) -> Result<String> {
    let path = spec_path(root, name);
    generate_spec(&parse_spec(spec, &path)?, &path, name)
}

/// The crates named in the root manifest's `[workspace.dependencies]`, as Rust spells them.
fn crate_names(root: &Path) -> Result<BTreeSet<String>> {
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let mut in_section = false;
    let mut names = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.dependencies]";
        } else if in_section && let Some((key, _)) = line.split_once('=') {
            names.insert(key.trim().replace('-', "_"));
        }
    }
    Ok(names)
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}
