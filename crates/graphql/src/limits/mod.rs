//! Request limits, checked before a document reaches async-graphql's parser and executor.
//!
//! Two passes, each linear in the size of the request:
//! - a lexical scan of the raw text (size, tokens, bracket nesting), because the parser recurses
//!   once per nesting level and a 4 KB document nested 2,000 deep overflows its stack;
//! - a walk of the parsed document that expands every fragment once (memoized), so fields after
//!   expansion, selection depth and cost are known before any work grows with them.
//!
//! Every refusal names the limit, the value seen and the environment variable that sets it.

use std::collections::HashMap;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use serde_json::Value;

mod walk;
use walk::{Walker, const_depth, json_depth, visit_fields};

/// What a request may hold. Defaults fit every query of the contract (and GraphiQL's
/// introspection query) with room to spare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Bytes of the query text.
    pub max_document_bytes: usize,
    /// Lexical tokens of the query text (names, punctuators, strings, numbers).
    pub max_tokens: usize,
    /// Nesting of selection sets in an operation, fragments expanded.
    pub max_depth: usize,
    /// Nesting of lists and objects in one input value (literals, variables, defaults).
    pub max_input_depth: usize,
    /// Aliased fields in the document.
    pub max_aliases: usize,
    /// Fields of an operation once every fragment spread is expanded.
    pub max_fields: u64,
    /// Cost of an operation: each field costs 1, and what sits inside a list costs once per
    /// item the list may hold (`first` of a connection).
    pub max_cost: u64,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_document_bytes: 32 * 1024,
            max_tokens: 4_000,
            // GraphiQL's introspection query is 13 deep (fields.args.type and 7 ofType levels).
            max_depth: 15,
            max_input_depth: 10,
            max_aliases: 30,
            max_fields: 1_000,
            max_cost: 20_000,
        }
    }
}

/// The environment variable of each limit, as documented in contract/runtime.md.
pub const ENV_VARS: [&str; 7] = [
    "PROMOHUB_MAX_DOCUMENT_BYTES",
    "PROMOHUB_MAX_TOKENS",
    "PROMOHUB_MAX_QUERY_DEPTH",
    "PROMOHUB_MAX_INPUT_DEPTH",
    "PROMOHUB_MAX_ALIASES",
    "PROMOHUB_MAX_FIELDS",
    "PROMOHUB_MAX_COST",
];

/// A refused request: which limit, what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The limit's name in the error's extensions, e.g. `queryDepth`.
    pub limit: &'static str,
    pub env_var: &'static str,
    pub max: u64,
    /// What the request holds, or at least this much (scans stop once over the limit).
    pub actual: u64,
    pub message: String,
}

fn exceeded(
    limit: &'static str,
    env_var: &'static str,
    what: &str,
    max: u64,
    actual: u64,
) -> LimitExceeded {
    LimitExceeded {
        limit,
        env_var,
        max,
        actual,
        message: format!("{what} {actual} exceeds the limit of {max} ({env_var})"),
    }
}

/// Fields that are lists of at most a few items: one per provider (`providers`), one per
/// field of a code (a history entry's `changes`: a create sets 14).
const SHORT_LISTS: [(&str, u64); 2] = [("providers", 3), ("changes", 16)];
/// Fields that are connections paged by `first`: (name, page size when `first` is not given,
/// largest `first` the resolver accepts; a larger one it refuses itself).
const CONNECTIONS: [(&str, u64, u64); 2] = [("promoCodes", 50, 200), ("history", 20, 100)];

impl RequestLimits {
    /// The lexical pass, before parsing: size, tokens, nesting of brackets. Stops at the first
    /// limit crossed, so its cost is bounded by the limits, not by the input.
    pub fn check_text(&self, query: &str) -> Result<(), LimitExceeded> {
        if query.len() > self.max_document_bytes {
            return Err(exceeded(
                "documentBytes",
                "PROMOHUB_MAX_DOCUMENT_BYTES",
                "document size in bytes",
                self.max_document_bytes as u64,
                query.len() as u64,
            ));
        }
        // A selection at the deepest level holds arguments, whose values nest in turn.
        let max_nesting = self.max_depth + self.max_input_depth + 2;
        let bytes = query.as_bytes();
        let (mut tokens, mut nesting, mut i) = (0usize, 0usize, 0usize);
        while i < bytes.len() {
            let byte = bytes[i];
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                    i += 1;
                    continue;
                }
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                        i += 1;
                    }
                    continue;
                }
                b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i..].starts_with(b"\\\"\"\"") {
                            4
                        } else {
                            1
                        };
                    }
                    i += 3;
                }
                b'"' => {
                    i += 1;
                    while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
                b'{' | b'[' | b'(' => {
                    nesting += 1;
                    if nesting > max_nesting {
                        return Err(exceeded(
                            "nesting",
                            "PROMOHUB_MAX_QUERY_DEPTH",
                            "nesting of brackets (selection depth plus input depth)",
                            max_nesting as u64,
                            nesting as u64,
                        ));
                    }
                    i += 1;
                }
                b'}' | b']' | b')' => {
                    nesting = nesting.saturating_sub(1);
                    i += 1;
                }
                b'.' if bytes[i..].starts_with(b"...") => i += 3,
                b'_' | b'-' | b'.' | b'+' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => {
                    while i < bytes.len()
                        && matches!(bytes[i], b'_' | b'-' | b'.' | b'+' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z')
                        && !bytes[i..].starts_with(b"...")
                    {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
            tokens += 1;
            if tokens > self.max_tokens {
                return Err(exceeded(
                    "tokens",
                    "PROMOHUB_MAX_TOKENS",
                    "number of tokens",
                    self.max_tokens as u64,
                    tokens as u64,
                ));
            }
        }
        Ok(())
    }

    /// Nesting of a JSON variables object (the object itself is level 0, as an argument is).
    pub fn check_variables(&self, variables: &Value) -> Result<(), LimitExceeded> {
        let depth = match variables {
            Value::Object(map) => map.values().map(json_depth).max().unwrap_or(0),
            other => json_depth(other),
        };
        self.input_depth_ok(depth)
    }

    fn input_depth_ok(&self, depth: usize) -> Result<(), LimitExceeded> {
        if depth > self.max_input_depth {
            return Err(exceeded(
                "inputDepth",
                "PROMOHUB_MAX_INPUT_DEPTH",
                "nesting of an input value",
                self.max_input_depth as u64,
                depth as u64,
            ));
        }
        Ok(())
    }

    /// The structural pass over the parsed document: aliases, input nesting, and per operation
    /// its depth, fields and cost with every fragment expanded.
    pub fn check_document(
        &self,
        document: &ExecutableDocument,
        variables: Option<&Value>,
    ) -> Result<(), LimitExceeded> {
        let mut aliases = 0usize;
        let mut input_depth = 0usize;
        for (_, operation) in document.operations.iter() {
            visit_fields(
                &operation.node.selection_set.node,
                &mut aliases,
                &mut input_depth,
            );
            for definition in &operation.node.variable_definitions {
                if let Some(default) = &definition.node.default_value {
                    input_depth = input_depth.max(const_depth(&default.node));
                }
            }
        }
        for fragment in document.fragments.values() {
            visit_fields(
                &fragment.node.selection_set.node,
                &mut aliases,
                &mut input_depth,
            );
        }
        if aliases > self.max_aliases {
            return Err(exceeded(
                "aliases",
                "PROMOHUB_MAX_ALIASES",
                "number of aliases",
                self.max_aliases as u64,
                aliases as u64,
            ));
        }
        self.input_depth_ok(input_depth)?;

        let operations: Vec<_> = match &document.operations {
            DocumentOperations::Single(op) => vec![op],
            DocumentOperations::Multiple(ops) => ops.values().collect(),
        };
        let mut walker = Walker {
            fragments: &document.fragments,
            variables,
            defaults: HashMap::new(),
            done: HashMap::new(),
            in_progress: Vec::new(),
        };
        for operation in operations {
            walker.defaults = operation
                .node
                .variable_definitions
                .iter()
                .filter_map(|d| {
                    let value = d.node.default_value.as_ref()?;
                    Some((d.node.name.node.to_string(), value.node.clone()))
                })
                .collect();
            let shape = walker.shape(&operation.node.selection_set.node);
            if shape.depth > self.max_depth as u64 {
                return Err(exceeded(
                    "queryDepth",
                    "PROMOHUB_MAX_QUERY_DEPTH",
                    "selection depth",
                    self.max_depth as u64,
                    shape.depth,
                ));
            }
            if shape.fields > self.max_fields {
                return Err(exceeded(
                    "fields",
                    "PROMOHUB_MAX_FIELDS",
                    "number of fields after expanding fragments",
                    self.max_fields,
                    shape.fields,
                ));
            }
            if shape.cost > self.max_cost {
                return Err(exceeded(
                    "cost",
                    "PROMOHUB_MAX_COST",
                    "query cost (a field inside a list counts once per item)",
                    self.max_cost,
                    shape.cost,
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
