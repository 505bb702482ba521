//! The edits of existing files: each made at a marker comment (`// new-provider: <what>`) the
//! file carries at its insertion point, so nothing here parses Rust. The new lines go just
//! above the marker, indented as it is, so the marker stays last for the next provider.
//!
//! An edit whose first line naming the provider is already in the file is skipped (reported as
//! already there): a hand edit or an earlier run is never doubled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{FileChange, Names, Touched};

/// One insertion: `text` (templated, may span lines) above the marker `tag` in `file`.
struct Insert {
    file: &'static str,
    tag: &'static str,
    text: &'static str,
}

const SANDBOX: &str = "crates/sandbox/src/lib.rs";

const INSERTS: &[Insert] = &[
    Insert {
        file: "crates/domain/src/model.rs",
        tag: "variants",
        text: r#"{{Name}} => "{{NAME}}","#,
    },
    Insert {
        file: "crates/domain/src/providers/mod.rs",
        tag: "modules",
        text: "pub mod {{name}};",
    },
    Insert {
        file: "crates/domain/src/providers/mod.rs",
        tag: "capabilities",
        text: "Provider::{{Name}} => &{{name}}::capabilities::CAPABILITIES,",
    },
    Insert {
        file: "crates/domain/src/providers/mod.rs",
        tag: "connectors",
        text: "Provider::{{Name}} => Arc::new({{name}}::{{Name}}::new(settings.{{name}}()?, gate)),",
    },
    Insert {
        file: "crates/clients/src/lib.rs",
        tag: "modules",
        text: "#[rustfmt::skip]\n#[path = \"generated/{{name}}.rs\"]\npub mod {{name}};",
    },
    Insert {
        file: "crates/clients/src/lib.rs",
        tag: "builders",
        text: "pub fn {{name}}(&self) -> Result<{{name}}::Client, BuildError> {
    Ok({{name}}::Client::new_with_client(
        self.base()?,
        self.http_client()?,
    ))
}
",
    },
    Insert {
        file: "xtask/src/lib.rs",
        tag: "codegen",
        text: r#""{{name}}","#,
    },
    Insert {
        file: "crates/graphql/src/schema/enums.rs",
        tag: "variants",
        text: "{{Name}},",
    },
    Insert {
        file: "contract/schema.graphql",
        tag: "values",
        text: "{{NAME}}",
    },
    Insert {
        file: "crates/graphql/src/config/settings.rs",
        tag: "api settings",
        text: r#"{{name}}_api_url = "{{NAME}}_API_URL", "unset: {{Name}} not configured", "{{Name}} base URL";
{{name}}_api_key = "{{NAME}}_API_KEY", "unset", "{{Name}} secret key (with {{NAME}}_API_URL)";"#,
    },
    Insert {
        file: "crates/graphql/src/config/settings.rs",
        tag: "rate limit settings",
        text: r#"{{name}}_rate_limit = "PROMOHUB_{{NAME}}_RATE_LIMIT", "none", "limit on {{Name}} calls, like 100/10s, or none; on PostgreSQL one limit for all replicas";"#,
    },
    Insert {
        file: SANDBOX,
        tag: "modules",
        text: "mod {{name}};",
    },
    Insert {
        file: SANDBOX,
        tag: "variants",
        text: "{{Name}},",
    },
    Insert {
        file: SANDBOX,
        tag: "all",
        text: "Provider::{{Name}},",
    },
    Insert {
        file: SANDBOX,
        tag: "names",
        text: r#"Provider::{{Name}} => "{{name}}","#,
    },
    Insert {
        file: SANDBOX,
        tag: "mounts",
        text: r#"Provider::{{Name}} => "/{{name}}","#,
    },
    Insert {
        file: SANDBOX,
        tag: "keys",
        text: r#"Provider::{{Name}} => "sk_sandbox_{{name}}","#,
    },
    Insert {
        file: SANDBOX,
        tag: "specs",
        text: r#"Provider::{{Name}} => include_str!("../../../openapi/{{name}}.yaml"),"#,
    },
    Insert {
        file: SANDBOX,
        tag: "key variables",
        text: r#"Provider::{{Name}} => "{{NAME}}_API_KEY","#,
    },
    Insert {
        file: SANDBOX,
        tag: "errors",
        text: "Provider::{{Name}} => {{name}}::error(status, message),",
    },
    Insert {
        file: SANDBOX,
        tag: "stores",
        text: "pub(crate) {{name}}: {{name}}::Store,",
    },
    Insert {
        file: SANDBOX,
        tag: "routes",
        text: ".nest(
    Provider::{{Name}}.mount(),
    provider_router(Provider::{{Name}}, {{name}}::routes()),
)",
    },
    Insert {
        file: SANDBOX,
        tag: "held",
        text: "Provider::{{Name}} => world.{{name}}.held(),",
    },
    Insert {
        file: "crates/sandbox/src/control.rs",
        tag: "redeem",
        text: "Provider::{{Name}} => world.{{name}}.redeem(redemption),",
    },
];

/// The marker line for `tag`: `// new-provider: <tag>` (`#` in GraphQL), alone on its line.
fn is_marker(line: &str, tag: &str) -> bool {
    let line = line.trim();
    ["//", "#"].iter().any(|lead| {
        line.strip_prefix(lead)
            .and_then(|rest| rest.trim().strip_prefix("new-provider:"))
            .is_some_and(|rest| rest.trim() == tag)
    })
}

/// The first line of `text` that names the provider: how an edit already made is recognised.
fn probe<'a>(text: &'a str, names: &Names) -> &'a str {
    text.lines()
        .map(str::trim)
        .find(|l| {
            [&names.lower, &names.camel, &names.upper]
                .iter()
                .any(|n| l.contains(*n))
        })
        .unwrap_or_default()
}

fn has_line(text: &str, wanted: &str) -> bool {
    text.lines().any(|l| l.trim() == wanted)
}

/// `text`'s lines inserted above the marker `tag`, indented as the marker is.
fn insert(file: &str, content: &str, tag: &str, text: &str) -> Result<String> {
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    let at = lines
        .iter()
        .position(|l| is_marker(l, tag))
        .with_context(|| {
            format!(
                "{file} has no `new-provider: {tag}` marker comment; put it back where the new line goes (docs/adding-a-provider.md lists them)"
            )
        })?;
    let indent: String = lines[at]
        .chars()
        .take_while(|c| c.is_whitespace() && *c != '\n')
        .collect();
    let mut out: String = lines[..at].concat();
    for line in text.lines() {
        if !line.is_empty() {
            out.push_str(&indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(&lines[at..].concat());
    Ok(out)
}

/// The sandbox's `ALL` array states its length: one more once the variant is in.
fn bump_sandbox_count(content: &str) -> Result<String> {
    const LEAD: &str = "pub const ALL: [Provider; ";
    let start = content
        .find(LEAD)
        .with_context(|| format!("{SANDBOX} has no `{LEAD}N] = [`"))?
        + LEAD.len();
    let end = content[start..]
        .find(']')
        .map(|n| start + n)
        .with_context(|| format!("{SANDBOX}: `{LEAD}` is not closed"))?;
    let count: usize = content[start..end]
        .trim()
        .parse()
        .with_context(|| format!("{SANDBOX}: the length of ALL is not a number"))?;
    Ok(format!(
        "{}{}{}",
        &content[..start],
        count + 1,
        &content[end..]
    ))
}

/// The printed schema has no comments, so no marker: the value goes last in `enum Provider`.
fn add_graphql_value(content: &str, names: &Names) -> Result<Option<String>> {
    const FILE: &str = "schema.graphql";
    let start = content
        .find("enum Provider {\n")
        .with_context(|| format!("{FILE} has no `enum Provider {{`"))?;
    let close = content[start..]
        .find("\n}")
        .map(|n| start + n + 1)
        .with_context(|| format!("{FILE}: `enum Provider` is not closed"))?;
    let body = &content[start..close];
    if has_line(body, &names.upper) {
        return Ok(None);
    }
    let indent: String = body
        .lines()
        .nth(1)
        .map(|l| l.chars().take_while(|c| c.is_whitespace()).collect())
        .unwrap_or_else(|| "\t".to_string());
    Ok(Some(format!(
        "{}{indent}{}\n{}",
        &content[..close],
        names.upper,
        &content[close..]
    )))
}

fn read(root: &Path, file: &str) -> Result<String> {
    std::fs::read_to_string(root.join(file)).with_context(|| format!("reading {file}"))
}

/// Every edit of an existing file, one [`FileChange`] per file, in a fixed order.
pub(super) fn plan(root: &Path, names: &Names) -> Result<Vec<FileChange>> {
    let mut files: BTreeMap<&str, (String, bool)> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for edit in INSERTS {
        if !files.contains_key(edit.file) {
            files.insert(edit.file, (read(root, edit.file)?, false));
            order.push(edit.file);
        }
        let text = names.fill(edit.text);
        let Some((content, edited)) = files.get_mut(edit.file) else {
            bail!("{} was read above", edit.file);
        };
        let original = read(root, edit.file)?;
        // Recognised in the file as it was, so one edit's line never hides another's.
        if has_line(&original, probe(&text, names)) {
            // Still required: a tree without its markers cannot take the next provider either.
            insert(edit.file, content, edit.tag, "")?;
            continue;
        }
        *content = insert(edit.file, content, edit.tag, &text)?;
        if edit.file == SANDBOX && edit.tag == "all" {
            *content = bump_sandbox_count(content)?;
        }
        *edited = true;
    }
    let mut changes: Vec<FileChange> = order
        .into_iter()
        .filter_map(|file| files.remove(file).map(|entry| (file, entry)))
        .map(|(file, (contents, edited))| FileChange {
            path: PathBuf::from(file),
            touched: if edited {
                Touched::Edited
            } else {
                Touched::AlreadyThere
            },
            contents,
        })
        .collect();
    let schema = read(root, "schema.graphql")?;
    changes.push(match add_graphql_value(&schema, names)? {
        Some(contents) => FileChange {
            path: PathBuf::from("schema.graphql"),
            touched: Touched::Edited,
            contents,
        },
        None => FileChange {
            path: PathBuf::from("schema.graphql"),
            touched: Touched::AlreadyThere,
            contents: schema,
        },
    });
    Ok(changes)
}
