//! Generated and mutated requests for the GraphQL HTTP surface.
//!
//! Every case is a pure function of (seed, case number, the seeded codes): the same seed gives
//! the same requests whatever the server answered, so a failure reproduces with `FUZZ_SEED`
//! (and `FUZZ_CASE` for one case).

use serde_json::{Value, json};

/// SplitMix64: tiny and stable across versions of everything, so a printed seed reproduces
/// its cases forever (a library RNG may change its stream between releases).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The generator of one case: independent of every other case.
    pub fn for_case(seed: u64, case: u64) -> Self {
        let mut rng = Rng(seed ^ case.wrapping_mul(0xA24B_AED4_963E_E407));
        rng.next();
        rng
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// lo..=hi.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Who the request claims to be.
#[derive(Clone, Debug)]
pub enum Auth {
    Write,
    /// The read token (the write token when the server has none).
    Read,
    Missing,
    /// This exact Authorization header value.
    Raw(Vec<u8>),
}

/// One HTTP request and the generator that made it.
pub struct Case {
    pub generator: &'static str,
    pub detail: String,
    pub method: &'static str,
    /// Path and query string.
    pub target: String,
    /// Headers besides Authorization, as raw values (always valid header bytes).
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub auth: Auth,
    pub body: Vec<u8>,
}

impl Case {
    fn post(generator: &'static str, detail: impl Into<String>, body: Vec<u8>) -> Case {
        Case {
            generator,
            detail: detail.into(),
            method: "POST",
            target: "/graphql".into(),
            headers: vec![
                ("content-type", b"application/json".to_vec()),
                (
                    "accept",
                    b"application/graphql-response+json, application/json".to_vec(),
                ),
            ],
            auth: Auth::Write,
            body,
        }
    }

    fn post_json(generator: &'static str, detail: impl Into<String>, body: &Value) -> Case {
        Case::post(generator, detail, body.to_string().into_bytes())
    }

    fn set_header(&mut self, name: &'static str, value: Option<Vec<u8>>) {
        self.headers.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            self.headers.push((name, value));
        }
    }
}

/// What the fuzzer seeded, so some requests name real codes.
#[derive(Default)]
pub struct Known {
    pub ids: Vec<String>,
    pub codes: Vec<String>,
}

impl Known {
    fn id(&self, rng: &mut Rng) -> String {
        if self.ids.is_empty() || rng.chance(15) {
            return rng
                .pick(&["0", "", "not-an-id", "00000000-0000-0000-0000-000000000000"])
                .to_string();
        }
        rng.pick(&self.ids).clone()
    }

    fn code(&self, rng: &mut Rng) -> String {
        if self.codes.is_empty() || rng.chance(20) {
            return random_code(rng);
        }
        let code = rng.pick(&self.codes).clone();
        if rng.chance(30) {
            code.to_lowercase()
        } else {
            code
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus: every query and mutation of contract/schema.graphql, with variables.

pub const PROMO_FIELDS: &str = "id code name status version timesRedeemed expiresAt createdAt \
    updatedAt maxRedemptions maxRedemptionsPerCustomer metadata \
    discount { type percentOff amountOff currency } duration { type periods } \
    restrictions { planIds productIds customerId newCustomersOnly } \
    providers { provider externalId state lastError attempts syncedAt }";

const PAYLOAD: &str = "promoCode { id code version status providers { provider state } } \
    userErrors { field code message }";

/// The operations of the contract, by the field they call.
pub const OPERATIONS: &[&str] = &[
    "promoCode",
    "promoCodeByCode",
    "promoCodes",
    "validatePromoCode",
    "providers",
    "bulkJob",
    "createPromoCode",
    "updatePromoCode",
    "archivePromoCode",
    "retrySync",
    "syncFromProviders",
    "generatePromoCodes",
    "cancelBulkJob",
];

/// A request to the server's GraphQL: document, variables, operation name.
#[derive(Clone)]
pub struct Op {
    pub field: &'static str,
    pub query: String,
    pub variables: Value,
    pub name: Option<String>,
}

impl Op {
    pub fn body(&self) -> Value {
        let mut body = json!({ "query": self.query, "variables": self.variables });
        if let Some(name) = &self.name {
            body["operationName"] = json!(name);
        }
        body
    }
}

fn random_code(rng: &mut Rng) -> String {
    format!("FZ{:X}", rng.next() & 0xFF_FFFF_FFFF)
}

fn some_providers(rng: &mut Rng) -> Vec<&'static str> {
    let all = ["FLEX", "FYNN", "WHOP"];
    let mut chosen: Vec<&str> = all.iter().copied().filter(|_| rng.chance(50)).collect();
    if chosen.is_empty() {
        chosen.push(*rng.pick(&all));
    }
    chosen
}

fn small_metadata(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 => json!({}),
        1 => json!({ "campaign": "spring", "n": rng.below(1000) }),
        2 => json!({ "nested": { "list": [1, 2, { "x": null }] }, "flag": true }),
        _ => json!({ "unicode": "Grüße 🎟️ \u{202e}txet", "empty": "" }),
    }
}

fn timestamp(rng: &mut Rng) -> Value {
    json!(*rng.pick(&[
        "2030-01-01T00:00:00Z",
        "2020-01-01T00:00:00Z",
        "2031-06-30T12:00:00+02:00",
        "not a time",
        "9999-12-31T23:59:59Z",
    ]))
}

fn create_input(rng: &mut Rng) -> Value {
    let mut input = json!({
        "code": random_code(rng),
        "discount": if rng.chance(50) {
            json!({ "type": "PERCENTAGE", "percentOff": *rng.pick(&[5.0, 25.0, 100.0, 0.0, 150.0, -1.0]) })
        } else {
            json!({ "type": "FIXED_AMOUNT", "amountOff": *rng.pick(&[100, 500, 0, -5, i32::MAX]), "currency": *rng.pick(&["EUR", "USD", "usd", "XXXX"]) })
        },
        "providers": some_providers(rng),
    });
    if rng.chance(40) {
        input["name"] = json!(format!("Fuzz {}", rng.below(10_000)));
    }
    if rng.chance(40) {
        input["duration"] = match rng.below(3) {
            0 => json!({ "type": "ONCE" }),
            1 => json!({ "type": "REPEATING", "periods": rng.range(0, 24) }),
            _ => json!({ "type": "FOREVER" }),
        };
    }
    if rng.chance(30) {
        input["maxRedemptions"] = json!(*rng.pick(&[1, 100, 0, -1]));
    }
    if rng.chance(20) {
        input["maxRedemptionsPerCustomer"] = json!(rng.range(0, 5));
    }
    if rng.chance(30) {
        input["expiresAt"] = timestamp(rng);
    }
    if rng.chance(30) {
        input["restrictions"] = json!({
            "planIds": ["plan_a", "plan_b"],
            "productIds": [],
            "customerId": if rng.chance(50) { json!("cus_1") } else { Value::Null },
            "newCustomersOnly": rng.chance(50),
        });
    }
    if rng.chance(40) {
        input["metadata"] = small_metadata(rng);
    }
    input
}

fn filter(rng: &mut Rng) -> Value {
    let mut filter = json!({});
    if rng.chance(40) {
        filter["status"] = json!(["ACTIVE", "INACTIVE"]);
    }
    if rng.chance(30) {
        filter["provider"] = json!(*rng.pick(&["FLEX", "FYNN", "WHOP"]));
    }
    if rng.chance(30) {
        filter["syncState"] = json!(*rng.pick(&["PENDING", "SYNCED", "FAILED"]));
    }
    if rng.chance(40) {
        filter["codePrefix"] = json!(*rng.pick(&["FZ", "SEED", "%", "_", "'; --", ""]));
    }
    if rng.chance(20) {
        filter["expiresBefore"] = timestamp(rng);
    }
    if rng.chance(20) {
        filter["expiresAfter"] = timestamp(rng);
    }
    filter
}

/// One operation of the corpus (valid against the contract; its values may be refused).
pub fn operation(rng: &mut Rng, known: &Known, field: &'static str) -> Op {
    let (query, variables, name) = match field {
        "promoCode" => (
            format!("query PromoCode($id: ID!) {{ promoCode(id: $id) {{ {PROMO_FIELDS} }} }}"),
            json!({ "id": known.id(rng) }),
            "PromoCode",
        ),
        "promoCodeByCode" => (
            format!(
                "query ByCode($code: String!) {{ promoCodeByCode(code: $code) {{ {PROMO_FIELDS} }} }}"
            ),
            json!({ "code": known.code(rng) }),
            "ByCode",
        ),
        "promoCodes" => {
            let mut variables = json!({ "first": *rng.pick(&[1, 5, 20, 50, 200, 0, -1, 201]) });
            if rng.chance(20) {
                variables["after"] = json!(*rng.pick(&["", "bm90LWEtY3Vyc29y", "%%%"]));
            }
            if rng.chance(50) {
                variables["filter"] = filter(rng);
            }
            if rng.chance(50) {
                variables["sortBy"] =
                    json!(*rng.pick(&["CREATED_AT", "CODE", "EXPIRES_AT", "TIMES_REDEEMED"]));
                variables["descending"] = json!(rng.chance(50));
            }
            (
                format!(
                    "query Page($first: Int, $after: String, $filter: PromoCodeFilter, \
                     $sortBy: PromoCodeSortField, $descending: Boolean) {{ promoCodes(first: $first, \
                     after: $after, filter: $filter, sortBy: $sortBy, descending: $descending) {{ \
                     totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} \
                     edges {{ cursor node {{ id code }} }} nodes {{ {PROMO_FIELDS} }} }} }}"
                ),
                variables,
                "Page",
            )
        }
        "validatePromoCode" => {
            let mut variables = json!({ "code": known.code(rng) });
            if rng.chance(50) {
                variables["provider"] = json!(*rng.pick(&["FLEX", "FYNN", "WHOP"]));
            }
            if rng.chance(40) {
                variables["planId"] = json!("plan_a");
            }
            if rng.chance(40) {
                variables["customerId"] = json!("cus_1");
            }
            (
                "query Validate($code: String!, $provider: Provider, $planId: String, \
                 $customerId: String) { validatePromoCode(code: $code, provider: $provider, \
                 planId: $planId, customerId: $customerId) { valid reason promoCode { id code status } } }"
                    .to_string(),
                variables,
                "Validate",
            )
        }
        "providers" => (
            "query Providers { providers { provider configured capabilities { discountTypes \
             durationTypes maxRedemptions maxRedemptionsPerCustomer expiresAt planRestrictions \
             productRestrictions customerRestriction newCustomersOnly metadata updatableFields } } }"
                .to_string(),
            json!({}),
            "Providers",
        ),
        "createPromoCode" => (
            format!(
                "mutation Create($input: CreatePromoCodeInput!) {{ createPromoCode(input: $input) \
                 {{ promoCode {{ {PROMO_FIELDS} }} userErrors {{ field code message }} }} }}"
            ),
            json!({ "input": create_input(rng) }),
            "Create",
        ),
        "updatePromoCode" => {
            let mut input = json!({});
            if rng.chance(50) {
                input["name"] = json!(format!("Renamed {}", rng.below(100)));
            }
            if rng.chance(40) {
                input["status"] = json!(*rng.pick(&["ACTIVE", "INACTIVE", "ARCHIVED"]));
            }
            if rng.chance(30) {
                input["maxRedemptions"] = if rng.chance(50) { json!(10) } else { Value::Null };
            }
            if rng.chance(20) {
                input["expiresAt"] = timestamp(rng);
            }
            if rng.chance(30) {
                input["metadata"] = small_metadata(rng);
            }
            if rng.chance(30) {
                input["expectedVersion"] = json!(rng.range(0, 5));
            }
            (
                format!(
                    "mutation Update($id: ID!, $input: UpdatePromoCodeInput!) {{ \
                     updatePromoCode(id: $id, input: $input) {{ {PAYLOAD} }} }}"
                ),
                json!({ "id": known.id(rng), "input": input }),
                "Update",
            )
        }
        "archivePromoCode" => (
            format!("mutation Archive($id: ID!) {{ archivePromoCode(id: $id) {{ {PAYLOAD} }} }}"),
            json!({ "id": known.id(rng) }),
            "Archive",
        ),
        "retrySync" => (
            format!("mutation Retry($id: ID!) {{ retrySync(id: $id) {{ {PAYLOAD} }} }}"),
            json!({ "id": known.id(rng) }),
            "Retry",
        ),
        "syncFromProviders" => (
            "mutation Pull($provider: Provider) { syncFromProviders(provider: $provider) { \
             imported updated unchanged drifted errors } }"
                .to_string(),
            if rng.chance(70) {
                json!({ "provider": *rng.pick(&["FLEX", "FYNN", "WHOP"]) })
            } else {
                json!({})
            },
            "Pull",
        ),
        "bulkJob" => (
            "query Job($id: ID!) { bulkJob(id: $id) { id state pattern total created synced \
             failed errors createdAt updatedAt } }"
                .to_string(),
            json!({ "id": known.id(rng) }),
            "Job",
        ),
        "generatePromoCodes" => {
            let mut input = create_input(rng);
            if let Some(fields) = input.as_object_mut() {
                fields.remove("code");
                fields.insert("count".into(), json!(*rng.pick(&[1, 5, 20, 3, 0, -3, 100_001])));
                if rng.chance(70) {
                    fields.insert(
                        "pattern".into(),
                        json!(*rng.pick(&["FZ-####-????", "FZ-*****", "FZ-?#?#?#", "AB-##", "", "FZ ##", "#"])),
                    );
                } else {
                    fields.insert("prefix".into(), json!(*rng.pick(&["FZB-", "FZC_", "", "F!"])));
                    fields.insert("length".into(), json!(*rng.pick(&[8, 6, 0, 70, -1])));
                }
            }
            (
                "mutation Generate($input: GeneratePromoCodesInput!) { generatePromoCodes(input: \
                 $input) { bulkJob { id state total created } userErrors { field code message } } }"
                    .to_string(),
                json!({ "input": input }),
                "Generate",
            )
        }
        "cancelBulkJob" => (
            "mutation Cancel($id: ID!) { cancelBulkJob(id: $id) { bulkJob { id state } \
             userErrors { field code message } } }"
                .to_string(),
            json!({ "id": known.id(rng) }),
            "Cancel",
        ),
        other => panic!("no corpus entry for {other}"),
    };
    Op {
        field,
        query,
        variables,
        name: rng.chance(70).then(|| name.to_string()),
    }
}

/// Writes are rarer than reads (they call the provider sandboxes and grow the table);
/// syncFromProviders reads every code of a sandbox, rarer still.
fn any_operation(rng: &mut Rng, known: &Known) -> Op {
    let field = match rng.below(100) {
        0..=11 => "promoCode",
        12..=23 => "promoCodeByCode",
        24..=45 => "promoCodes",
        46..=57 => "validatePromoCode",
        58..=64 => "providers",
        65..=79 => "createPromoCode",
        80..=89 => "updatePromoCode",
        90..=93 => "archivePromoCode",
        94..=97 => "retrySync",
        _ => "syncFromProviders",
    };
    operation(rng, known, field)
}

/// A few documents with their values written as literals instead of variables.
fn literal_operation(rng: &mut Rng, known: &Known) -> (String, &'static str) {
    match rng.below(4) {
        0 => (
            format!(
                "{{ promoCodes(first: {}, filter: {{ status: [ACTIVE, INACTIVE], codePrefix: \"FZ\" }}, \
                 sortBy: CODE, descending: true) {{ totalCount nodes {{ code metadata }} }} }}",
                rng.range(1, 200)
            ),
            "promoCodes with literal arguments",
        ),
        1 => (
            format!(
                "{{ validatePromoCode(code: {}, provider: WHOP) {{ valid reason }} }}",
                json!(known.code(rng))
            ),
            "validatePromoCode with literal arguments",
        ),
        2 => (
            format!(
                "mutation {{ createPromoCode(input: {{ code: \"{}\", discount: {{ type: FIXED_AMOUNT, \
                 amountOff: 500, currency: \"EUR\" }}, metadata: {{ a: [1, 2.5, \"x\", null, {{ b: true }}] }}, \
                 providers: [FLEX, FYNN] }}) {{ {PAYLOAD} }} }}",
                random_code(rng)
            ),
            "createPromoCode with literal input",
        ),
        _ => (
            format!(
                "mutation {{ updatePromoCode(id: {}, input: {{ name: \"lit\", maxRedemptions: null }}) \
                 {{ {PAYLOAD} }} }}",
                json!(known.id(rng))
            ),
            "updatePromoCode with literal input",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations of valid requests.

const INTERESTING: &[u8] = b"{}[]()$@!:.,=|&\"\\#\n\t 0-9aZ_\x00\xff";

fn flip(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let flips = rng.range(1, 8);
    for _ in 0..flips {
        if bytes.is_empty() {
            bytes.push(*rng.pick(INTERESTING));
            continue;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] = rng.next() as u8,
            1 => bytes[at] = *rng.pick(INTERESTING),
            2 => bytes.insert(at, *rng.pick(INTERESTING)),
            _ => {
                bytes.remove(at);
            }
        }
    }
    format!("{flips} byte edits")
}

fn truncate(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let at = rng.below(bytes.len().max(1));
    bytes.truncate(at);
    format!("truncated to {at} bytes")
}

fn duplicate(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    if bytes.is_empty() {
        return "nothing to duplicate".into();
    }
    let start = rng.below(bytes.len());
    let end = rng.range(start, (start + 200).min(bytes.len()));
    let times = *rng.pick(&[1, 2, 10, 100, 1000]);
    let slice = bytes[start..end].to_vec();
    let at = rng.below(bytes.len());
    let repeated: Vec<u8> = slice
        .iter()
        .copied()
        .cycle()
        .take(slice.len() * times)
        .collect();
    bytes.splice(at..at, repeated);
    format!("bytes {start}..{end} repeated {times}x at {at}")
}

fn splice(rng: &mut Rng, bytes: &mut Vec<u8>, other: &[u8]) -> String {
    let cut = rng.below(bytes.len().max(1));
    let from = rng.below(other.len().max(1));
    bytes.truncate(cut);
    bytes.extend_from_slice(&other[from.min(other.len())..]);
    format!("first {cut} bytes + another request from byte {from}")
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, other: &[u8]) -> String {
    match rng.below(4) {
        0 => flip(rng, bytes),
        1 => truncate(rng, bytes),
        2 => duplicate(rng, bytes),
        _ => splice(rng, bytes, other),
    }
}

// ---------------------------------------------------------------------------------------------
// Structural attacks.

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    let mut text = String::with_capacity(depth * (open.len() + close.len()) + inner.len());
    for _ in 0..depth {
        text.push_str(open);
    }
    text.push_str(inner);
    for _ in 0..depth {
        text.push_str(close);
    }
    text
}

/// Nesting depths: round numbers around the usual limits and where stacks give out (in a debug
/// build today a list literal 500 deep overflows, one 900 deep is a parse error), and any depth
/// up to 3000.
fn depth(rng: &mut Rng) -> usize {
    if rng.chance(40) {
        return rng.range(2, 3000);
    }
    *rng.pick(&[
        10, 32, 64, 65, 129, 200, 300, 500, 800, 1000, 1500, 2000, 5000, 20_000,
    ])
}

/// Where a deep literal goes.
fn in_argument(rng: &mut Rng, literal: &str) -> (String, &'static str) {
    match rng.below(4) {
        0 => (
            format!("{{ promoCodes(filter: {{ status: {literal} }}) {{ totalCount }} }}"),
            "promoCodes(filter.status)",
        ),
        1 => (
            format!("{{ validatePromoCode(code: {literal}) {{ valid }} }}"),
            "validatePromoCode(code)",
        ),
        2 => (
            format!(
                "mutation {{ createPromoCode(input: {{ code: \"DEEP\", discount: {{ type: PERCENTAGE, \
                 percentOff: 5 }}, metadata: {{ deep: {literal} }}, providers: [WHOP] }}) {{ {PAYLOAD} }} }}"
            ),
            "createPromoCode(input.metadata)",
        ),
        _ => (
            format!("{{ promoCodes(first: 1, unknownArgument: {literal}) {{ totalCount }} }}"),
            "an unknown argument",
        ),
    }
}

fn deep_list_literal(rng: &mut Rng) -> Case {
    let depth = depth(rng);
    let (query, place) = in_argument(rng, &nested("[", "ACTIVE", "]", depth));
    Case::post_json(
        "deep_list_literal",
        format!("list literal {depth} deep in {place}"),
        &json!({ "query": query }),
    )
}

fn deep_object_literal(rng: &mut Rng) -> Case {
    let depth = depth(rng);
    let (query, place) = in_argument(rng, &nested("{a: ", "1", "}", depth));
    Case::post_json(
        "deep_object_literal",
        format!("object literal {depth} deep in {place}"),
        &json!({ "query": query }),
    )
}

fn deep_selection(rng: &mut Rng) -> Case {
    let depth = depth(rng);
    let (query, how) = match rng.below(3) {
        0 => (
            format!(
                "{{ {} }}",
                nested("promoCodes { nodes { ", "id", " } }", depth / 2)
            ),
            "promoCodes { nodes { ... } } repeated",
        ),
        1 => (
            format!(
                "{{ promoCodes {{ nodes {} }} }}",
                nested("{ ... on PromoCode ", "{ id }", " }", depth)
            ),
            "inline fragments nested",
        ),
        _ => (
            format!("{{ {} }}", nested("f { ", "f", " }", depth)),
            "unknown fields nested",
        ),
    };
    Case::post_json(
        "deep_selection",
        format!("selection {depth} deep: {how}"),
        &json!({ "query": query }),
    )
}

fn many_aliases(rng: &mut Rng) -> Case {
    let count = *rng.pick(&[10, 50, 200, 1000]);
    let first = *rng.pick(&[50, 200]);
    let selection = if rng.chance(50) {
        "nodes { id code }".to_string()
    } else {
        format!("nodes {{ {PROMO_FIELDS} }}")
    };
    let fields: Vec<String> = (1..=count)
        .map(|i| format!("a{i}: promoCodes(first: {first}) {{ {selection} }}"))
        .collect();
    Case::post_json(
        "many_aliases",
        format!("{count} aliases of promoCodes(first: {first})"),
        &json!({ "query": format!("{{ {} }}", fields.join(" ")) }),
    )
}

/// fragment F0 selects a field; F_n spreads F_{n-1} twice; the query spreads the last one.
pub fn doubling_fragments(levels: usize) -> String {
    let mut document = String::from("query Doubling { providers { ...F0 } }\n");
    document.push_str("fragment F0 on ProviderInfo { provider }\n");
    for n in 1..=levels {
        document.push_str(&format!(
            "fragment F{n} on ProviderInfo {{ ...F{} ...F{} }}\n",
            n - 1,
            n - 1
        ));
    }
    document.replace("{ ...F0 } }\n", &format!("{{ ...F{levels} }} }}\n"))
}

fn fragment_doubling(rng: &mut Rng) -> Case {
    let levels = *rng.pick(&[4, 8, 12, 16, 20, 24, 30]);
    Case::post_json(
        "fragment_doubling",
        format!("{levels} levels of doubling fragment spreads"),
        &json!({ "query": doubling_fragments(levels) }),
    )
}

fn deep_json(depth: usize, list: bool) -> Value {
    let mut value = json!("leaf");
    for _ in 0..depth {
        value = if list {
            Value::Array(vec![value])
        } else {
            json!({ "a": value })
        };
    }
    value
}

/// Deep JSON as text: a deeply nested `Value` would recurse in this process (on drop and in
/// serde_json's writer) before the server ever sees it.
fn deep_json_text(depth: usize, list: bool) -> String {
    if list {
        nested("[", "\"leaf\"", "]", depth)
    } else {
        nested("{\"a\":", "\"leaf\"", "}", depth)
    }
}

fn create_body_with_metadata(code: &str, metadata_json: &str) -> String {
    format!(
        "{{\"query\":\"mutation Create($input: CreatePromoCodeInput!) {{ createPromoCode(input: $input) \
         {{ promoCode {{ id }} userErrors {{ field code message }} }} }}\",\"variables\":{{\"input\":\
         {{\"code\":\"{code}\",\"discount\":{{\"type\":\"PERCENTAGE\",\"percentOff\":5}},\
         \"providers\":[\"WHOP\"],\"metadata\":{metadata_json}}}}}}}"
    )
}

fn deep_json_variables(rng: &mut Rng) -> Case {
    let depth = *rng.pick(&[20, 100, 127, 128, 129, 500, 5000, 50_000]);
    let list = rng.chance(50);
    let (body, place) = if rng.chance(60) {
        (
            create_body_with_metadata(
                &random_code(rng),
                &format!("{{\"deep\":{}}}", deep_json_text(depth, list)),
            ),
            "createPromoCode variables input.metadata",
        )
    } else {
        (
            format!(
                "{{\"query\":\"query Page($filter: PromoCodeFilter) {{ promoCodes(filter: $filter) \
                 {{ totalCount }} }}\",\"variables\":{{\"filter\":{{\"status\":{}}}}}}}",
                deep_json_text(depth, list)
            ),
            "promoCodes variables filter.status",
        )
    };
    let kind = if list { "arrays" } else { "objects" };
    Case::post(
        "deep_json_variables",
        format!("JSON {kind} nested {depth} deep in {place}"),
        body.into_bytes(),
    )
}

fn giant_metadata(rng: &mut Rng) -> Case {
    let (metadata, what) = match rng.below(4) {
        0 => {
            let keys = *rng.pick(&[1000, 10_000, 50_000]);
            let map: serde_json::Map<String, Value> =
                (0..keys).map(|i| (format!("k{i}"), json!(i))).collect();
            (Value::Object(map), format!("{keys} keys"))
        }
        1 => {
            let size = *rng.pick(&[10_000, 100_000, 900_000, 1_100_000]);
            (
                json!({ "big": "x".repeat(size) }),
                format!("one value of {size} bytes"),
            )
        }
        2 => {
            let size = *rng.pick(&[1000, 100_000]);
            let mut map = serde_json::Map::new();
            map.insert("k".repeat(size), json!(1));
            (Value::Object(map), format!("a key of {size} bytes"))
        }
        _ => {
            let depth = *rng.pick(&[50, 100, 120]);
            (
                json!({ "wide": (0..5000).map(|i| json!({ "i": i })).collect::<Vec<_>>(), "deep": deep_json(depth, false) }),
                format!("5000 objects wide and {depth} deep"),
            )
        }
    };
    let mut op = operation(rng, &Known::default(), "createPromoCode");
    let place = if rng.chance(30) {
        op = operation(rng, &Known::default(), "updatePromoCode");
        "updatePromoCode"
    } else {
        "createPromoCode"
    };
    op.variables["input"]["metadata"] = metadata;
    Case::post_json(
        "giant_metadata",
        format!("{place} metadata with {what}"),
        &op.body(),
    )
}

fn huge_list(rng: &mut Rng) -> Case {
    let count = *rng.pick(&[1000, 10_000, 100_000]);
    match rng.below(3) {
        0 => {
            let mut op = operation(rng, &Known::default(), "createPromoCode");
            let ids: Vec<Value> = (0..count).map(|i| json!(format!("p{i}"))).collect();
            let field = *rng.pick(&["planIds", "productIds"]);
            op.variables["input"]["restrictions"] = json!({ field: ids });
            Case::post_json(
                "huge_list",
                format!("createPromoCode with {count} {field} (variables)"),
                &op.body(),
            )
        }
        1 => {
            let statuses = vec!["ACTIVE"; count].join(", ");
            Case::post_json(
                "huge_list",
                format!("promoCodes(filter.status) literal list of {count}"),
                &json!({ "query": format!("{{ promoCodes(filter: {{ status: [{statuses}] }}) {{ totalCount }} }}") }),
            )
        }
        _ => {
            let providers: Vec<&str> = (0..count)
                .map(|i| ["FLEX", "FYNN", "WHOP"][i % 3])
                .collect();
            let mut op = operation(rng, &Known::default(), "createPromoCode");
            op.variables["input"]["providers"] = json!(providers);
            Case::post_json(
                "huge_list",
                format!("createPromoCode with {count} providers"),
                &op.body(),
            )
        }
    }
}

fn long_string(rng: &mut Rng) -> Case {
    let size = *rng.pick(&[1000, 65_536, 300_000, 900_000]);
    let long = "Z".repeat(size);
    let (body, what) = match rng.below(5) {
        0 => {
            let mut op = operation(rng, &Known::default(), "createPromoCode");
            let field = *rng.pick(&["code", "name"]);
            op.variables["input"][field] = json!(long);
            (op.body(), format!("createPromoCode input.{field}"))
        }
        1 => (
            json!({ "query": format!("query {long} {{ providers {{ provider }} }}"), "operationName": long }),
            "operation name".to_string(),
        ),
        2 => (
            json!({ "query": format!("{{ {long} }}") }),
            "field name".to_string(),
        ),
        3 => (
            json!({ "query": format!("{{ validatePromoCode(code: \"{long}\") {{ valid }} }}") }),
            "string literal".to_string(),
        ),
        _ => (
            json!({ "query": "{ providers { provider } }", "operationName": long }),
            "operationName matching nothing".to_string(),
        ),
    };
    Case::post_json("long_string", format!("{what} of {size} bytes"), &body)
}

const UNICODE: &[&str] = &[
    "é",
    "ß",
    "🎟️",
    "👩‍👩‍👧",
    "\u{202e}",
    "\u{200d}",
    "\u{feff}",
    "\u{0301}",
    "漢字",
    "עברית",
    "\u{0000}",
    "\u{fffd}",
    "\u{10ffff}",
    "\u{2028}",
    "𝔘",
];

fn unicode(rng: &mut Rng) -> Case {
    let count = rng.range(1, 64);
    let text: String = (0..count).map(|_| *rng.pick(UNICODE)).collect();
    let (body, what) = match rng.below(4) {
        0 => {
            let mut op = operation(rng, &Known::default(), "createPromoCode");
            op.variables["input"]["code"] = json!(text);
            op.variables["input"]["name"] = json!(text);
            (op.body().to_string(), "createPromoCode code and name")
        }
        1 => (
            json!({ "query": format!("{{ promoCodeByCode(code: {}) {{ id }} }}", json!(text)) })
                .to_string(),
            "a string literal",
        ),
        2 => (
            json!({ "query": format!("{{ providers {{ {text} }} }}") }).to_string(),
            "the document outside strings",
        ),
        _ => (
            // Lone surrogates: valid JSON escapes of no Unicode scalar value.
            r#"{"query":"{ promoCodeByCode(code: \"\ud800x\udfff\") { id } }","variables":{"x":"\udc00"}}"#
                .to_string(),
            "lone surrogate escapes",
        ),
    };
    Case::post(
        "unicode",
        format!("{count} unusual characters in {what}"),
        body.into_bytes(),
    )
}

fn invalid_utf8(rng: &mut Rng, op: &Op) -> Case {
    let mut body = op.body().to_string().into_bytes();
    let bad: &[&[u8]] = &[
        b"\xff",
        b"\xc3\x28",
        b"\xe2\x82",
        b"\xed\xa0\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\x80",
    ];
    let times = rng.range(1, 4);
    for _ in 0..times {
        let at = rng.below(body.len());
        let bytes = *rng.pick(bad);
        body.splice(at..at, bytes.iter().copied());
    }
    if rng.chance(20) {
        body = (0..rng.range(1, 4096)).map(|_| rng.next() as u8).collect();
        return Case::post("invalid_utf8", "random bytes", body);
    }
    Case::post(
        "invalid_utf8",
        format!("{times} invalid UTF-8 sequences in a {} request", op.field),
        body,
    )
}

fn content_type(rng: &mut Rng, op: &Op) -> Case {
    let value: Option<&[u8]> = *rng.pick(&[
        None,
        Some(b"text/plain".as_slice()),
        Some(b"application/graphql"),
        Some(b"application/x-www-form-urlencoded"),
        Some(b"multipart/form-data; boundary=x"),
        Some(b"application/jsonx"),
        Some(b"application/json; charset=latin1"),
        Some(b"APPLICATION/JSON"),
        Some(b""),
        Some(b"\xff\xfe garbage"),
        Some(b"application/json, text/plain"),
    ]);
    let mut case = Case::post_json("content_type", "", &op.body());
    if rng.chance(30) {
        case.body = op.query.clone().into_bytes();
    }
    case.detail = format!(
        "Content-Type {:?} on a {} request",
        value.map(String::from_utf8_lossy),
        op.field
    );
    case.set_header("content-type", value.map(<[u8]>::to_vec));
    case
}

/// lo..=hi bytes of visible ASCII, space, tab and obs-text: every byte a header value may hold.
fn header_value(rng: &mut Rng, lo: usize, hi: usize) -> Vec<u8> {
    let size = rng.range(lo, hi);
    (0..size)
        .map(|_| {
            loop {
                let b = rng.next() as u8;
                if b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80 {
                    break b;
                }
            }
        })
        .collect()
}

fn odd_headers(rng: &mut Rng, op: &Op) -> Case {
    let mut case = Case::post_json("odd_headers", "", &op.body());
    let mut what = Vec::new();
    if rng.chance(60) {
        let accept: Option<Vec<u8>> = match rng.below(9) {
            0 => None,
            1 => Some(b"text/html".to_vec()),
            2 => Some(b"*/*".to_vec()),
            3 => Some(b"application/graphql-response+json;q=0.1, application/json;q=0.9".to_vec()),
            4 => Some(Vec::new()),
            5 => Some(b",,,;;;".to_vec()),
            6 => Some(
                "application/json, "
                    .repeat(rng.range(10, 2000))
                    .into_bytes(),
            ),
            7 => Some(b"application/xml".to_vec()),
            _ => Some(header_value(rng, 1, 200)),
        };
        what.push(format!(
            "Accept {:?}",
            accept
                .as_deref()
                .map(|a| String::from_utf8_lossy(&a[..a.len().min(60)]).into_owned())
        ));
        case.set_header("accept", accept);
    }
    let auth = match rng.below(8) {
        0 => Auth::Missing,
        1 => Auth::Read,
        2 => Auth::Raw(b"Bearer ".to_vec()),
        3 => Auth::Raw(b"Basic dXNlcjpwYXNz".to_vec()),
        4 => Auth::Raw(b"bearer demo-00000000000000000000000000000000".to_vec()),
        5 => {
            let mut value = b"Bearer ".to_vec();
            value.extend(header_value(rng, 1, 8000));
            Auth::Raw(value)
        }
        6 => Auth::Raw(header_value(rng, 0, 100)),
        _ => Auth::Write,
    };
    what.push(format!("Authorization {}", describe_auth(&auth)));
    case.auth = auth;
    if rng.chance(30) {
        let name = *rng.pick(&[
            "x-request-id",
            "origin",
            "content-encoding",
            "transfer-encoding-x",
            "x-forwarded-for",
        ]);
        let value = header_value(rng, 0, 4000);
        what.push(format!("{name} of {} bytes", value.len()));
        case.set_header(name, Some(value));
    }
    case.detail = format!("{} on a {} request", what.join(", "), op.field);
    case
}

pub fn describe_auth(auth: &Auth) -> String {
    match auth {
        Auth::Write => "write token".into(),
        Auth::Read => "read token".into(),
        Auth::Missing => "missing".into(),
        Auth::Raw(value) => format!(
            "{:?} ({} bytes)",
            String::from_utf8_lossy(&value[..value.len().min(60)]),
            value.len()
        ),
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The HTTP client refuses URIs of 64 KiB and more; stay below.
const MAX_TARGET: usize = 60_000;

fn get_query(rng: &mut Rng, op: &Op, other: &[u8]) -> Case {
    let mut query = op.query.clone().into_bytes();
    let mut what = format!("a {} document", op.field);
    if rng.chance(40) {
        what = format!("{what}, {}", mutate(rng, &mut query, other));
    }
    let mut target = format!("/graphql?query={}", url_encode(&query));
    if rng.chance(60) {
        let variables = match rng.below(4) {
            0 => op.variables.to_string(),
            1 => "not json".to_string(),
            2 => "[1,2]".to_string(),
            _ => deep_json_text(rng.range(1, 3000), rng.chance(50)),
        };
        target.push_str(&format!("&variables={}", url_encode(variables.as_bytes())));
    }
    if rng.chance(40)
        && let Some(name) = &op.name
    {
        target.push_str(&format!("&operationName={}", url_encode(name.as_bytes())));
    }
    if rng.chance(15) {
        const ODD: &[&str] = &[
            "&query=%7B%7D",
            "&&&",
            "&%ZZ=%",
            "&query",
            "#frag",
            "&%FF%FE=%C3%28",
        ];
        let odd = *rng.pick(ODD);
        target.push_str(odd);
    }
    if rng.chance(5) {
        let size = *rng.pick(&[1000, 10_000, 50_000]);
        target.push_str(&format!("&pad={}", "a".repeat(size)));
        what.push_str(&format!(", padded by {size} bytes"));
    }
    if target.len() > MAX_TARGET {
        // Cut anywhere, maybe inside a %XX escape: itself a malformed input.
        target.truncate(MAX_TARGET);
        what.push_str(&format!(", cut to {MAX_TARGET} bytes"));
    }
    let mut case = Case::post("get_query", format!("GET with {what}"), Vec::new());
    case.method = "GET";
    case.target = target;
    case.set_header("content-type", None);
    if rng.chance(20) {
        case.set_header("accept", Some(b"text/html".to_vec()));
    }
    case
}

fn not_json(rng: &mut Rng, op: &Op) -> Case {
    let bodies: &[&str] = &[
        "",
        "null",
        "1",
        "\"{ providers { provider } }\"",
        "[]",
        "{}",
        "{\"query\": 1}",
        "{\"query\": null}",
        "{\"query\": [\"{ providers { provider } }\"]}",
        "{\"query\": \"{ providers { provider } }\", \"variables\": []}",
        "{\"query\": \"{ providers { provider } }\", \"variables\": \"{}\"}",
        "{\"query\": \"{ providers { provider } }\", \"extensions\": 5}",
        "{\"query\": \"{ providers { provider } }\", \"operationName\": 7}",
        "{\"query\": \"{ providers { provider } }\"} trailing",
        "{\"query\": \"{ providers { provider } }\", \"query\": \"{ x }\"}",
        "query { providers { provider } }",
        "{'query': '{ providers { provider } }'}",
        "\u{feff}{\"query\": \"{ providers { provider } }\"}",
        "{\"query\": \"{ providers { provider } }\", \"variables\": {\"x\": 1e999999}}",
        "{\"query\": \"{ providers { provider } }\", \"variables\": {\"x\": -0, \"y\": 123456789012345678901234567890}}",
    ];
    let body = if rng.chance(20) {
        op.query.clone()
    } else {
        rng.pick(bodies).to_string()
    };
    let detail = format!("body {:?}", &body[..body.len().min(80)]);
    Case::post("not_json", detail, body.into_bytes())
}

fn batch(rng: &mut Rng, known: &Known) -> Case {
    let count = *rng.pick(&[0, 1, 2, 10, 100]);
    let items: Vec<Value> = (0..count)
        .map(|_| any_operation(rng, known).body())
        .collect();
    Case::post_json(
        "batch",
        format!("a JSON array of {count} requests"),
        &Value::Array(items),
    )
}

fn operation_name(rng: &mut Rng, known: &Known) -> Case {
    let a = operation(rng, known, "providers");
    let b = operation(rng, known, "promoCodeByCode");
    let c = operation(rng, known, "createPromoCode");
    let document = format!(
        "{} {} {}",
        a.query.replacen("query Providers", "query A", 1),
        b.query.replacen("query ByCode", "query B", 1),
        c.query.replacen("mutation Create", "mutation C", 1)
    );
    let mut variables = b.variables.clone();
    variables["input"] = c.variables["input"].clone();
    let (document, name, what): (String, Value, &str) = match rng.below(8) {
        0 => (document, Value::Null, "three operations, no operationName"),
        1 => (document, json!("Nope"), "operationName matching none"),
        2 => (document, json!("C"), "operationName of the mutation"),
        3 => (document, json!("a"), "operationName differing in case"),
        4 => (
            format!("{} {}", a.query, a.query),
            json!("Providers"),
            "two operations of the same name",
        ),
        5 => (
            format!("{{ providers {{ provider }} }} {}", b.query),
            Value::Null,
            "an anonymous and a named operation",
        ),
        6 => (
            a.query.clone(),
            json!("Other"),
            "one operation, another name given",
        ),
        _ => (document, json!(""), "empty operationName"),
    };
    let mut case = Case::post_json(
        "operation_name",
        what,
        &json!({ "query": document, "variables": variables, "operationName": name }),
    );
    if rng.chance(25) {
        // Over GET a mutation must be refused whatever the name says.
        case.method = "GET";
        case.target = format!(
            "/graphql?query={}&operationName={}",
            url_encode(document.as_bytes()),
            url_encode(name.as_str().unwrap_or("").as_bytes())
        );
        case.target.truncate(MAX_TARGET);
        case.body.clear();
        case.set_header("content-type", None);
        case.detail = format!("GET, {what}");
    }
    case
}

fn many_tokens(rng: &mut Rng) -> Case {
    let count = *rng.pick(&[1000, 10_000, 100_000]);
    let (query, what) = match rng.below(5) {
        0 => (
            format!("{{ providers {{ {} }} }}", "provider ".repeat(count)),
            "repeated fields",
        ),
        1 => (
            format!(
                "{{ providers {{ provider {} }} }}",
                "@skip(if: false) ".repeat(count)
            ),
            "directives on one field",
        ),
        2 => {
            let definitions: Vec<String> = (0..count).map(|i| format!("$v{i}: Int")).collect();
            (
                format!(
                    "query Q({}) {{ providers {{ provider }} }}",
                    definitions.join(", ")
                ),
                "variable definitions",
            )
        }
        3 => (
            format!(
                "{}{{ providers {{ provider }} }}",
                "# comment\n".repeat(count)
            ),
            "comment lines",
        ),
        _ => (
            format!(
                "{{ providers {{ provider }} }} {}",
                (0..count / 10)
                    .map(|i| format!("fragment G{i} on Query {{ __typename }}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            "unused fragments",
        ),
    };
    Case::post_json(
        "many_tokens",
        format!("{count} {what}"),
        &json!({ "query": query }),
    )
}

fn other_route(rng: &mut Rng) -> Case {
    let (method, target) = *rng.pick(&[
        ("GET", "/metrics"),
        ("GET", "/readyz"),
        ("GET", "/openapi.json"),
        ("PUT", "/graphql"),
        ("DELETE", "/graphql"),
        ("OPTIONS", "/graphql"),
        ("PATCH", "/graphql"),
        ("GET", "/graphql"),
        ("POST", "/healthz"),
        ("GET", "/graphql/../healthz"),
        ("GET", "/%00"),
    ]);
    let mut case = Case::post("other_route", format!("{method} {target}"), Vec::new());
    case.method = method;
    case.target = target.to_string();
    case
}

/// One case. The generators and their weights (out of 100).
pub fn case(seed: u64, number: u64, known: &Known) -> Case {
    let mut rng = Rng::for_case(seed, number);
    let op = any_operation(&mut rng, known);
    let other = any_operation(&mut rng, known)
        .body()
        .to_string()
        .into_bytes();
    // Weights: the slow generators (big documents a debug build takes a second or more to
    // execute today) are rare enough for a short run to take seconds.
    let mut case = match rng.below(100) {
        0..=29 => {
            let mut case = Case::post_json("valid", format!("corpus {}", op.field), &op.body());
            if op.field != "createPromoCode" && rng.chance(30) {
                case.auth = Auth::Read;
                case.detail.push_str(" with the read token");
            }
            case
        }
        30..=32 => {
            let (query, what) = literal_operation(&mut rng, known);
            Case::post_json("valid_literals", what, &json!({ "query": query }))
        }
        33..=41 => {
            let mut query = op.query.clone().into_bytes();
            let how = mutate(&mut rng, &mut query, &other);
            let mut body = op.body();
            body["query"] = json!(String::from_utf8_lossy(&query));
            Case::post_json(
                "mutated_document",
                format!("corpus {}, {how}", op.field),
                &body,
            )
        }
        42..=48 => {
            let mut body = op.body().to_string().into_bytes();
            let how = mutate(&mut rng, &mut body, &other);
            Case::post(
                "mutated_body",
                format!("corpus {} body, {how}", op.field),
                body,
            )
        }
        49..=51 => deep_list_literal(&mut rng),
        52..=54 => deep_object_literal(&mut rng),
        55..=57 => deep_selection(&mut rng),
        58..=59 => many_aliases(&mut rng),
        60..=61 => fragment_doubling(&mut rng),
        62..=64 => deep_json_variables(&mut rng),
        65 => giant_metadata(&mut rng),
        66 => huge_list(&mut rng),
        67..=68 => long_string(&mut rng),
        69..=71 => unicode(&mut rng),
        72..=74 => invalid_utf8(&mut rng, &op),
        75..=77 => content_type(&mut rng, &op),
        78..=82 => odd_headers(&mut rng, &op),
        83..=88 => get_query(&mut rng, &op, &other),
        89..=91 => not_json(&mut rng, &op),
        92..=93 => batch(&mut rng, known),
        94..=96 => operation_name(&mut rng, known),
        97..=98 => many_tokens(&mut rng),
        _ => other_route(&mut rng),
    };
    // Any request may come from a read-only or unknown caller.
    if matches!(case.auth, Auth::Write) && rng.chance(10) {
        case.auth = Auth::Read;
        case.detail.push_str(" (read token)");
    }
    case
}
