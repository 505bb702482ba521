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

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};
use async_graphql_value::{ConstValue, Value as GqlValue};
use serde_json::Value;

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

/// Counts aliases and the deepest argument literal in one selection set, fragments not followed
/// (every fragment definition is visited once on its own).
fn visit_fields(set: &SelectionSet, aliases: &mut usize, input_depth: &mut usize) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    *aliases += 1;
                }
                for (_, value) in &field.node.arguments {
                    *input_depth = (*input_depth).max(value_depth(&value.node));
                }
                visit_fields(&field.node.selection_set.node, aliases, input_depth);
            }
            Selection::InlineFragment(inline) => {
                visit_fields(&inline.node.selection_set.node, aliases, input_depth);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn value_depth(value: &GqlValue) -> usize {
    match value {
        GqlValue::List(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
        GqlValue::Object(fields) => 1 + fields.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn const_depth(value: &ConstValue) -> usize {
    match value {
        ConstValue::List(items) => 1 + items.iter().map(const_depth).max().unwrap_or(0),
        ConstValue::Object(fields) => 1 + fields.values().map(const_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// What a selection set amounts to once expanded.
#[derive(Clone, Copy, Default)]
struct Shape {
    fields: u64,
    depth: u64,
    cost: u64,
}

struct Walker<'a> {
    fragments: &'a HashMap<Name, Positioned<async_graphql::parser::types::FragmentDefinition>>,
    variables: Option<&'a Value>,
    defaults: HashMap<String, ConstValue>,
    /// Each fragment's shape, computed once: this keeps doubling spreads linear.
    done: HashMap<Name, Shape>,
    in_progress: Vec<Name>,
}

impl Walker<'_> {
    fn shape(&mut self, set: &SelectionSet) -> Shape {
        let mut total = Shape::default();
        for item in &set.items {
            let shape = match &item.node {
                Selection::Field(field) => {
                    let inner = self.shape(&field.node.selection_set.node);
                    let name = field.node.name.node.as_str();
                    let items = self.list_size(name, &field.node.arguments);
                    Shape {
                        fields: 1u64.saturating_add(inner.fields),
                        // Leaves count as a level, as async-graphql's own depth limit did.
                        depth: 1 + inner.depth,
                        cost: 1u64.saturating_add(items.saturating_mul(inner.cost)),
                    }
                }
                Selection::InlineFragment(inline) => self.shape(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            total.fields = total.fields.saturating_add(shape.fields);
            total.cost = total.cost.saturating_add(shape.cost);
            total.depth = total.depth.max(shape.depth);
        }
        total
    }

    fn fragment(&mut self, name: &Name) -> Shape {
        if let Some(shape) = self.done.get(name) {
            return *shape;
        }
        // A cycle or an unknown fragment adds nothing here; validation refuses both.
        if self.in_progress.contains(name) {
            return Shape::default();
        }
        let Some(definition) = self.fragments.get(name) else {
            return Shape::default();
        };
        self.in_progress.push(name.clone());
        let shape = self.shape(&definition.node.selection_set.node);
        self.in_progress.pop();
        self.done.insert(name.clone(), shape);
        shape
    }

    /// How many items a field's list may hold (1 for a field that is not a list).
    fn list_size(&self, name: &str, arguments: &[(Positioned<Name>, Positioned<GqlValue>)]) -> u64 {
        if let Some((_, items)) = SHORT_LISTS.iter().find(|(n, _)| *n == name) {
            return *items;
        }
        let Some(&(_, default_page, max_page)) = CONNECTIONS.iter().find(|(n, ..)| *n == name)
        else {
            return 1;
        };
        let first = arguments
            .iter()
            .find(|(n, _)| n.node.as_str() == "first")
            .and_then(|(_, value)| match &value.node {
                GqlValue::Number(n) => n.as_u64(),
                GqlValue::Variable(variable) => self
                    .variables
                    .and_then(|v| v.get(variable.as_str()))
                    .and_then(Value::as_u64)
                    .or_else(|| match self.defaults.get(variable.as_str()) {
                        Some(ConstValue::Number(n)) => n.as_u64(),
                        _ => None,
                    }),
                _ => None,
            });
        first.unwrap_or(default_page).clamp(1, max_page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("test document parses")
    }

    fn check(
        limits: &RequestLimits,
        query: &str,
        variables: Option<&Value>,
    ) -> Result<(), LimitExceeded> {
        limits.check_text(query)?;
        if let Some(variables) = variables {
            limits.check_variables(variables)?;
        }
        limits.check_document(&parse(query), variables)
    }

    fn nested_list(depth: usize) -> String {
        format!(
            "{{ promoCodes(filter: {{codePrefix: {}\"a\"{}}}) {{ totalCount }} }}",
            "[".repeat(depth),
            "]".repeat(depth)
        )
    }

    #[test]
    fn document_size_just_under_and_over() {
        let limits = RequestLimits {
            max_document_bytes: 40,
            ..Default::default()
        };
        let padded = |len: usize| format!("{{ __typename }}{}", " ".repeat(len - 14));
        assert!(check(&limits, &padded(40), None).is_ok());
        let error = check(&limits, &padded(41), None).expect_err("over");
        assert_eq!(
            (error.limit, error.max, error.actual),
            ("documentBytes", 40, 41)
        );
        assert!(
            error.message.contains("PROMOHUB_MAX_DOCUMENT_BYTES"),
            "{}",
            error.message
        );
    }

    #[test]
    fn tokens_just_under_and_over() {
        let limits = RequestLimits {
            max_tokens: 10,
            ..Default::default()
        };
        // `{ a b c d e f g h }` is 10 tokens; comments, commas and strings' contents are not.
        assert!(check(&limits, "{ a, b c d e f g h } # x y z", None).is_ok());
        let error = check(&limits, "{ a b c d e f g h i }", None).expect_err("over");
        assert_eq!((error.limit, error.actual), ("tokens", 11));
        assert!(check(&limits, "{ a(s: \"x y z w v u t\") }", None).is_ok());
        assert!(
            check(
                &limits,
                "{ a(s: \"\"\"x \\\"\"\" y z w v u t\"\"\") }",
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn bracket_nesting_stops_before_the_parser() {
        let limits = RequestLimits::default();
        // 15 + 10 + 2 brackets are allowed lexically; the precise checks come after parsing.
        let error = limits
            .check_text(&nested_list(2_000))
            .expect_err("deep list");
        assert_eq!((error.limit, error.max, error.actual), ("nesting", 27, 28));
        let deep_object = format!("{{ a(x: {}1{}) }}", "{a: ".repeat(1_500), "}".repeat(1_500));
        assert_eq!(
            limits
                .check_text(&deep_object)
                .expect_err("deep object")
                .limit,
            "nesting"
        );
        // Brackets inside strings and comments do not count.
        let quoted = format!("{{ a(x: \"{}\") }} # {}", "[".repeat(100), "{".repeat(100));
        assert!(limits.check_text(&quoted).is_ok());
    }

    #[test]
    fn input_depth_just_under_and_over_in_literals_and_variables() {
        let limits = RequestLimits::default();
        assert!(
            check(&limits, &nested_list(9), None).is_ok(),
            "filter object + 9 lists = 10"
        );
        let error = check(&limits, &nested_list(10), None).expect_err("11 levels");
        assert_eq!((error.limit, error.actual), ("inputDepth", 11));

        let nest = |depth: usize| {
            let mut value = serde_json::json!(1);
            for _ in 0..depth {
                value = serde_json::json!({ "a": value });
            }
            serde_json::json!({ "input": value })
        };
        assert!(limits.check_variables(&nest(10)).is_ok());
        assert_eq!(
            limits.check_variables(&nest(11)).expect_err("over").actual,
            11
        );
        let defaults =
            "query($x: [[[[[[[[[[[Int]]]]]]]]]]] = [[[[[[[[[[[1]]]]]]]]]]]) { a(x: $x) }";
        assert_eq!(
            check(&limits, defaults, None).expect_err("default").limit,
            "inputDepth"
        );
    }

    #[test]
    fn selection_depth_just_under_and_over_through_fragments() {
        let limits = RequestLimits {
            max_depth: 3,
            ..Default::default()
        };
        assert!(check(&limits, "{ a { b { c } } }", None).is_ok());
        let error = check(&limits, "{ a { b { c { d } } } }", None).expect_err("4 deep");
        assert_eq!((error.limit, error.actual), ("queryDepth", 4));
        let through_fragment = "{ a { ...F } } fragment F on T { b { c { d } } }";
        assert_eq!(
            check(&limits, through_fragment, None)
                .expect_err("4 deep")
                .limit,
            "queryDepth"
        );
    }

    #[test]
    fn aliases_just_under_and_over() {
        let limits = RequestLimits {
            max_aliases: 3,
            ..Default::default()
        };
        assert!(check(&limits, "{ a: x b: x c: x }", None).is_ok());
        let error = check(&limits, "{ a: x b: x c: x d: x }", None).expect_err("4 aliases");
        assert_eq!((error.limit, error.actual), ("aliases", 4));
    }

    /// Fragment F0 is one field; F(n) spreads F(n-1) twice: 2^n fields once expanded.
    fn doubling(levels: usize) -> String {
        let mut text = format!("{{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
        for n in 1..=levels {
            text.push_str(&format!(
                " fragment F{n} on Query {{ ...F{m} ...F{m} }}",
                m = n - 1
            ));
        }
        text
    }

    #[test]
    fn fragment_expansion_is_counted_without_expanding() {
        let limits = RequestLimits {
            max_fields: 1_024,
            ..Default::default()
        };
        assert!(check(&limits, &doubling(10), None).is_ok(), "1024 fields");
        let error = check(&limits, &doubling(11), None).expect_err("2048 fields");
        assert_eq!((error.limit, error.actual), ("fields", 2_048));
        // 30 levels is 2^30 fields: refused at once (the walk is linear in the document).
        let started = std::time::Instant::now();
        assert_eq!(
            check(&RequestLimits::default(), &doubling(30), None)
                .expect_err("huge")
                .limit,
            "fields"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // A cycle neither hangs nor counts; validation reports it.
        assert!(
            check(
                &limits,
                "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn cost_multiplies_by_first_and_reads_variables() {
        let limits = RequestLimits {
            max_cost: 401,
            ..Default::default()
        };
        // 1 (promoCodes) + 200 x (nodes + id) = 401.
        assert!(check(&limits, "{ promoCodes(first: 200) { nodes { id } } }", None).is_ok());
        let over = "{ promoCodes(first: 200) { nodes { id code } } }";
        assert_eq!(check(&limits, over, None).expect_err("601").actual, 601);
        let by_variable = "query($n: Int) { promoCodes(first: $n) { nodes { id code } } }";
        assert!(check(&limits, by_variable, Some(&serde_json::json!({"n": 100}))).is_ok());
        assert_eq!(
            check(&limits, by_variable, Some(&serde_json::json!({"n": 200})))
                .expect_err("601")
                .actual,
            601
        );
        let by_default = "query($n: Int = 200) { promoCodes(first: $n) { nodes { id code } } }";
        assert!(check(&limits, by_default, None).is_err());
        // Without first: the default page of 50. Providers: at most one per provider.
        assert_eq!(
            check(
                &RequestLimits {
                    max_cost: 0,
                    ..Default::default()
                },
                "{ promoCodes { nodes { providers { state } } } }",
                None
            )
            .expect_err("cost")
            .actual,
            1 + 50 * (1 + 1 + 3)
        );
    }

    #[test]
    fn history_multiplies_by_its_first_inside_promo_codes() {
        let cost = |query: &str| {
            check(
                &RequestLimits {
                    max_cost: 0,
                    ..Default::default()
                },
                query,
                None,
            )
            .expect_err("cost")
            .actual
        };
        // history: 20 entries by default, each with at most 16 changes.
        assert_eq!(
            cost("{ promoCode(id: 1) { history { nodes { changes { field } } } } }"),
            1 + (1 + 20 * (1 + (1 + 16)))
        );
        assert_eq!(
            cost("{ promoCodes(first: 10) { nodes { history(first: 100) { nodes { id } } } } }"),
            1 + 10 * (1 + (1 + 100 * (1 + 1)))
        );
        // Past the resolver's largest page: counted as 100 (the resolver refuses it).
        assert_eq!(
            cost("{ promoCode(id: 1) { history(first: 5000) { nodes { id } } } }"),
            1 + (1 + 100 * 2)
        );
    }

    #[test]
    fn fifty_aliased_full_pages_are_refused_by_cost() {
        let limits = RequestLimits {
            max_aliases: 100,
            ..Default::default()
        };
        let query = format!(
            "{{ {} }}",
            (0..50)
                .map(|i| format!("a{i}: promoCodes(first: 200) {{ nodes {{ id }} }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let error = check(&limits, &query, None).expect_err("50 x 401");
        assert_eq!((error.limit, error.actual), ("cost", 50 * 401));
        // One page of 200 with every field of a code fits.
        let full = "{ promoCodes(first: 200) { totalCount pageInfo { hasNextPage endCursor } nodes { id code name status discount { type percentOff amountOff currency } duration { type periods } maxRedemptions maxRedemptionsPerCustomer timesRedeemed expiresAt restrictions { planIds productIds customerId newCustomersOnly } metadata providers { provider externalId state lastError attempts syncedAt } version createdAt updatedAt } } }";
        assert!(check(&RequestLimits::default(), full, None).is_ok());
    }

    /// The introspection query GraphiQL sends (graphql-js 16's, with descriptions) fits.
    #[test]
    fn graphiql_introspection_fits_the_defaults() {
        let type_ref = format!(
            "fragment TypeRef on __Type {{ kind name {}{} }}",
            "ofType { kind name ".repeat(7),
            "}".repeat(7)
        );
        let query = format!(
            "query IntrospectionQuery {{ __schema {{ description queryType {{ name }} mutationType {{ name }} \
             subscriptionType {{ name }} types {{ ...FullType }} directives {{ name description \
             isRepeatable locations args(includeDeprecated: true) {{ ...InputValue }} }} }} }} \
             fragment FullType on __Type {{ kind name description specifiedByURL \
             fields(includeDeprecated: true) {{ name description args(includeDeprecated: true) \
             {{ ...InputValue }} type {{ ...TypeRef }} isDeprecated deprecationReason }} \
             inputFields(includeDeprecated: true) {{ ...InputValue }} interfaces {{ ...TypeRef }} \
             enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }} \
             possibleTypes {{ ...TypeRef }} }} \
             fragment InputValue on __InputValue {{ name description type {{ ...TypeRef }} \
             defaultValue isDeprecated deprecationReason }} {type_ref}"
        );
        assert_eq!(check(&RequestLimits::default(), &query, None), Ok(()));
    }
}
