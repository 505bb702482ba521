//! Each limit just under and just over; the documents GraphiQL itself sends fit.

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
    let defaults = "query($x: [[[[[[[[[[[Int]]]]]]]]]]] = [[[[[[[[[[[1]]]]]]]]]]]) { a(x: $x) }";
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
