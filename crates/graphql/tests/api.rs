//! The `promohub` server end to end over real HTTP: an ephemeral port, a temp database, the
//! sandbox as providers. Every query and mutation of the contract, and the error cases.

use std::net::SocketAddr;
use std::time::Duration;

use promohub_domain::providers::ProviderConfig;
use promohub_domain::{Provider, ServiceConfig};
use promohub_graphql::Config;
use promohub_graphql::http::{HttpConfig, MetricsConfig, Tokens};
use promohub_graphql::limits::RequestLimits;
use promohub_sandbox::{FaultKind, FaultSpec, Provider as Emulated, RunningSandbox, SandboxConfig};
use promohub_test_support::TestDb;
use promohub_test_support::on_both_databases;
use promohub_test_support::server::{READER, TestServer, WRITER};
use serde_json::{Value, json};

/// The server of these tests: [`TestServer`] with a browser origin allowed and provider calls
/// timing out after 2 s.
async fn start(db: TestDb) -> TestServer {
    start_with(db, HttpConfig::default()).await
}

async fn start_with(db: TestDb, http: HttpConfig) -> TestServer {
    start_with_provider_timeout(db, http, Duration::from_secs(2)).await
}

async fn start_with_provider_timeout(
    db: TestDb,
    http: HttpConfig,
    provider_timeout: Duration,
) -> TestServer {
    TestServer::start_with(db, |config| {
        config.http = http;
        config.cors_origins = vec!["http://localhost:3000".into()];
        for (_, provider) in &mut config.providers {
            provider.timeout = provider_timeout;
        }
    })
    .await
}

/// Polls until the code's first provider entry is SYNCED (10 s at most).
async fn wait_until_synced(server: &TestServer, code: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let data = server
            .write(
                "query($code: String!) { promoCodeByCode(code: $code) { providers { state attempts } } }",
                json!({ "code": code }),
            )
            .await;
        if data["promoCodeByCode"]["providers"][0]["state"] == "SYNCED" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{code} never synced: {data}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const CODE_FIELDS: &str = "id code name status version timesRedeemed expiresAt createdAt updatedAt
    maxRedemptions maxRedemptionsPerCustomer metadata
    discount { type percentOff amountOff currency } duration { type periods }
    restrictions { planIds productIds customerId newCustomersOnly }
    providers { provider externalId state lastError attempts syncedAt }";

fn create_mutation() -> String {
    format!(
        "mutation Create($input: CreatePromoCodeInput!) {{
           createPromoCode(input: $input) {{ promoCode {{ {CODE_FIELDS} }} userErrors {{ field code message }} }}
         }}"
    )
}

fn update_mutation() -> String {
    format!(
        "mutation Update($id: ID!, $input: UpdatePromoCodeInput!) {{
           updatePromoCode(id: $id, input: $input) {{ promoCode {{ {CODE_FIELDS} }} userErrors {{ field code message }} }}
         }}"
    )
}

on_both_databases!(
    every_query_and_mutation_of_the_contract,
    an_unreadable_row_is_reported_and_the_rest_of_the_page_answers,
    status_changed_on_a_provider_shows_and_resolve_drift_settles_it,
);

async fn every_query_and_mutation_of_the_contract(db: TestDb) {
    let server = start(db).await;
    let expires = (chrono::Utc::now() + chrono::Duration::days(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let created = server
        .write(
            &create_mutation(),
            json!({ "input": {
                "code": "SPRING-25", "name": "Spring sale",
                "discount": { "type": "PERCENTAGE", "percentOff": 25 },
                "duration": { "type": "REPEATING", "periods": 3 },
                "maxRedemptions": 100, "expiresAt": expires,
                "restrictions": { "planIds": ["plan_pro"], "newCustomersOnly": true },
                "metadata": { "campaign": "spring" },
                "providers": ["WHOP"],
            }}),
        )
        .await;
    let payload = &created["createPromoCode"];
    assert_eq!(payload["userErrors"], json!([]));
    let code = &payload["promoCode"];
    let id = code["id"].as_str().expect("id").to_string();
    assert_eq!(code["version"], 1);
    assert_eq!(
        code["discount"],
        json!({ "type": "PERCENTAGE", "percentOff": 25.0, "amountOff": null, "currency": null })
    );
    assert_eq!(
        code["duration"],
        json!({ "type": "REPEATING", "periods": 3 })
    );
    assert_eq!(code["metadata"], json!({ "campaign": "spring" }));
    assert_eq!(code["expiresAt"], json!(expires));
    assert_eq!(code["providers"][0]["provider"], "WHOP");
    assert_eq!(code["providers"][0]["state"], "SYNCED");
    assert!(
        code["providers"][0]["externalId"]
            .as_str()
            .is_some_and(|id| id.starts_with("promo_"))
    );

    let by_id = server
        .write(
            &format!("query($id: ID!) {{ promoCode(id: $id) {{ {CODE_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(by_id["promoCode"]["code"], "SPRING-25");
    let by_code = server
        .write("{ promoCodeByCode(code: \"spring-25\") { id } }", json!({}))
        .await;
    assert_eq!(by_code["promoCodeByCode"]["id"], json!(id));
    let missing = server
        .write("{ promoCode(id: \"nope\") { id } }", json!({}))
        .await;
    assert_eq!(missing["promoCode"], Value::Null);

    for i in 0..3 {
        server
            .write(
                &create_mutation(),
                json!({ "input": { "code": format!("FLAT-{i}"),
                    "discount": { "type": "FIXED_AMOUNT", "amountOff": 500, "currency": "USD" },
                    "providers": ["FLEX"] } }),
            )
            .await;
    }
    let page_query = "query($after: String) { promoCodes(first: 2, after: $after, sortBy: CODE,
        filter: { codePrefix: \"flat\", provider: FLEX, status: [ACTIVE] }) {
        totalCount edges { cursor node { code } } nodes { code }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let first = server.write(page_query, json!({})).await;
    let first = &first["promoCodes"];
    assert_eq!(first["totalCount"], 3);
    assert_eq!(
        first["nodes"],
        json!([{ "code": "FLAT-0" }, { "code": "FLAT-1" }])
    );
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["endCursor"], first["edges"][1]["cursor"]);
    let second = server
        .write(
            page_query,
            json!({ "after": first["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(second["promoCodes"]["nodes"], json!([{ "code": "FLAT-2" }]));
    assert_eq!(second["promoCodes"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["promoCodes"]["pageInfo"]["hasPreviousPage"], true);

    let valid = server
        .write(
            "{ ok: validatePromoCode(code: \"SPRING-25\", provider: WHOP, planId: \"plan_pro\") { valid reason promoCode { code } }
               plan: validatePromoCode(code: \"SPRING-25\", planId: \"plan_basic\") { valid reason }
               none: validatePromoCode(code: \"NOPE\") { valid reason promoCode { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        valid["ok"],
        json!({ "valid": true, "reason": null, "promoCode": { "code": "SPRING-25" } })
    );
    assert_eq!(
        valid["plan"],
        json!({ "valid": false, "reason": "PLAN_NOT_ELIGIBLE" })
    );
    assert_eq!(
        valid["none"],
        json!({ "valid": false, "reason": "NOT_FOUND", "promoCode": null })
    );

    let updated = server
        .write(
            &update_mutation(),
            json!({ "id": id, "input": { "expectedVersion": 1, "maxRedemptions": 200,
                                         "metadata": { "campaign": "spring", "wave": "2" } } }),
        )
        .await;
    let updated = &updated["updatePromoCode"];
    assert_eq!(updated["userErrors"], json!([]));
    assert_eq!(updated["promoCode"]["version"], 2);
    assert_eq!(updated["promoCode"]["maxRedemptions"], 200);
    let cleared = server
        .write(
            &update_mutation(),
            json!({ "id": id, "input": { "maxRedemptions": null } }),
        )
        .await;
    assert_eq!(
        cleared["updatePromoCode"]["promoCode"]["maxRedemptions"],
        Value::Null
    );

    let providers = server
        .write(
            "{ providers { provider configured capabilities { discountTypes durationTypes maxRedemptions
               maxRedemptionsPerCustomer expiresAt planRestrictions productRestrictions customerRestriction
               newCustomersOnly metadata updatableFields } } }",
            json!({}),
        )
        .await;
    let flex = &providers["providers"][0];
    assert_eq!(flex["provider"], "FLEX");
    assert_eq!(flex["configured"], true);
    assert_eq!(flex["capabilities"]["expiresAt"], false);
    assert_eq!(
        flex["capabilities"]["updatableFields"],
        json!(["status", "metadata"])
    );

    let retried = server
        .write(
            "mutation($id: ID!) { retrySync(id: $id) { promoCode { id } userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(retried["retrySync"]["userErrors"], json!([]));
    let synced = server
        .write(
            "mutation { syncFromProviders { imported updated unchanged drifted errors } }",
            json!({}),
        )
        .await;
    assert_eq!(synced["syncFromProviders"]["imported"], 0);
    assert_eq!(synced["syncFromProviders"]["errors"], json!([]));

    let archived = server
        .write(
            "mutation($id: ID!) { archivePromoCode(id: $id) { promoCode { status version } userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        archived["archivePromoCode"]["promoCode"]["status"],
        "ARCHIVED"
    );
    let again = server
        .write(
            "mutation($id: ID!) { archivePromoCode(id: $id) { promoCode { id } userErrors { field code message } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        again["archivePromoCode"]["userErrors"][0]["code"],
        "ARCHIVED"
    );
    server.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_scopes_are_enforced() {
    let server = start(promohub_test_support::sqlite()).await;
    let query = "{ providers { provider } }";
    assert_eq!(server.gql(None, query, json!({})).await.0, 401);
    let (status, body) = server
        .gql(Some("not-a-token-at-all"), query, json!({}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(server.gql(Some(READER), query, json!({})).await.0, 200);
    let (status, body) = server
        .gql(
            Some(READER),
            &create_mutation(),
            json!({ "input": { "code": "READONLY", "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                               "providers": ["WHOP"] } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let (_, body) = server
        .gql(
            Some(READER),
            "{ promoCodeByCode(code: \"READONLY\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["promoCodeByCode"],
        Value::Null,
        "nothing was created"
    );
    assert!(
        server.sandbox.state().journal().is_empty(),
        "no provider was called"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutation_failures_come_back_as_user_errors() {
    let server = start(promohub_test_support::sqlite()).await;
    let create = |input: Value| {
        let server = &server;
        async move {
            let data = server
                .write(&create_mutation(), json!({ "input": input }))
                .await;
            data["createPromoCode"].clone()
        }
    };
    let base = |code: &str| json!({ "code": code, "discount": { "type": "PERCENTAGE", "percentOff": 10 }, "providers": ["WHOP"] });

    // Bad input, field by field.
    for (input, field, code) in [
        (
            json!({ "code": "x y" }),
            json!(["input", "code"]),
            "INVALID",
        ),
        (
            json!({ "discount": { "type": "PERCENTAGE", "percentOff": 0 } }),
            json!(["input", "discount", "percentOff"]),
            "INVALID",
        ),
        (
            json!({ "discount": { "type": "FIXED_AMOUNT", "amountOff": 100 } }),
            json!(["input", "discount", "currency"]),
            "REQUIRED",
        ),
        (
            json!({ "maxRedemptions": 0 }),
            json!(["input", "maxRedemptions"]),
            "INVALID",
        ),
        (
            json!({ "expiresAt": "2001-01-01T00:00:00Z" }),
            json!(["input", "expiresAt"]),
            "INVALID",
        ),
        (
            json!({ "providers": [] }),
            json!(["input", "providers"]),
            "REQUIRED",
        ),
        (
            json!({ "providers": ["WHOP", "WHOP"] }),
            json!(["input", "providers"]),
            "INVALID",
        ),
        (
            json!({ "maxRedemptionsPerCustomer": 1 }),
            json!(["input", "maxRedemptionsPerCustomer"]),
            "UNSUPPORTED_BY_PROVIDER",
        ),
    ] {
        let mut body = base("GOOD_CODE");
        if let (Some(body), Some(changes)) = (body.as_object_mut(), input.as_object()) {
            body.extend(changes.clone());
        }
        let payload = create(body).await;
        assert_eq!(payload["promoCode"], Value::Null, "{input}");
        let errors = payload["userErrors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{input}: expected {field} {code}, got {errors:?}"
        );
    }
    // A type error is GraphQL's own: a top-level error, nothing run.
    let (status, body) = server
        .gql(
            Some(WRITER),
            &create_mutation(),
            json!({ "input": { "code": 5 } }),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body["errors"].is_array());

    let first = create(base("TAKEN")).await;
    assert_eq!(first["userErrors"], json!([]));
    let duplicate = create(base("taken")).await;
    assert_eq!(duplicate["userErrors"][0]["code"], "DUPLICATE_CODE");
    let id = first["promoCode"]["id"].clone();

    let update = |id: Value, input: Value| {
        let server = &server;
        async move {
            let data = server
                .write(&update_mutation(), json!({ "id": id, "input": input }))
                .await;
            data["updatePromoCode"].clone()
        }
    };
    let conflict = update(id.clone(), json!({ "expectedVersion": 7, "name": "x" })).await;
    assert_eq!(conflict["userErrors"][0]["code"], "VERSION_CONFLICT");
    assert_eq!(
        conflict["userErrors"][0]["field"],
        json!(["input", "expectedVersion"])
    );
    let immutable = update(id.clone(), json!({ "expiresAt": "2099-01-01T00:00:00Z" })).await;
    assert_eq!(immutable["userErrors"][0]["code"], "IMMUTABLE");
    let unknown = update(json!("no-such-id"), json!({ "name": "x" })).await;
    assert_eq!(unknown["userErrors"][0]["code"], "NOT_FOUND");

    // A provider that refuses for good: PROVIDER_REJECTED with its message.
    server.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("create_promo_code".into()),
        kind: FaultKind::Status { status: 400 },
        times: Some(1),
        apply: false,
    });
    let rejected = create(base("REFUSED")).await;
    assert_eq!(rejected["userErrors"][0]["code"], "PROVIDER_REJECTED");
    assert!(
        rejected["userErrors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Injected fault"))
    );

    // A passing failure: accepted as PENDING, then the worker brings it to SYNCED.
    server.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("create_promo_code".into()),
        kind: FaultKind::Status { status: 503 },
        times: Some(1),
        apply: false,
    });
    let pending = create(base("LATER")).await;
    assert_eq!(pending["promoCode"]["providers"][0]["state"], "PENDING");
    wait_until_synced(&server, "LATER").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_follows_the_spec() {
    let server = start(promohub_test_support::sqlite()).await;
    let post = |body: String, content_type: &str, accept: &str| {
        server
            .http
            .post(server.url("/graphql"))
            .bearer_auth(WRITER)
            .header("content-type", content_type.to_string())
            .header("accept", accept.to_string())
            .body(body)
            .send()
    };
    let modern = "application/graphql-response+json";

    let ok = post(
        json!({ "query": "{ providers { provider } }" }).to_string(),
        "application/json",
        modern,
    )
    .await
    .expect("request");
    assert_eq!(ok.status(), 200);
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with(modern))
    );
    let legacy = post(
        json!({ "query": "{ providers { provider } }" }).to_string(),
        "application/json",
        "application/json",
    )
    .await
    .expect("request");
    assert!(
        legacy.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("application/json"))
    );

    let malformed = post("{not json".into(), "application/json", modern)
        .await
        .expect("request");
    assert_eq!(malformed.status(), 400);
    let no_query = post("{}".into(), "application/json", modern)
        .await
        .expect("request");
    assert_eq!(no_query.status(), 400);
    let unparsable = post(
        json!({ "query": "{" }).to_string(),
        "application/json",
        modern,
    )
    .await
    .expect("request");
    assert_eq!(unparsable.status(), 400);
    let unparsable_legacy = post(
        json!({ "query": "{" }).to_string(),
        "application/json",
        "application/json",
    )
    .await
    .expect("request");
    assert_eq!(
        unparsable_legacy.status(),
        200,
        "legacy clients get 200 with errors"
    );
    let invalid = post(
        json!({ "query": "{ nope }" }).to_string(),
        "application/json",
        modern,
    )
    .await
    .expect("request");
    assert_eq!(invalid.status(), 400);
    // 16 levels: one past the default depth limit.
    let too_deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(11),
        "} ".repeat(11)
    );
    let refused = post(
        json!({ "query": &too_deep }).to_string(),
        "application/json",
        modern,
    )
    .await
    .expect("request");
    assert_eq!(refused.status(), 400, "depth limit");
    let wrong_type = post(
        json!({ "query": "{ providers { provider } }" }).to_string(),
        "text/plain",
        modern,
    )
    .await
    .expect("request");
    assert_eq!(wrong_type.status(), 415);
    let not_acceptable = post(
        json!({ "query": "{ providers { provider } }" }).to_string(),
        "application/json",
        "text/csv",
    )
    .await
    .expect("request");
    assert_eq!(not_acceptable.status(), 406);
    let huge = json!({ "query": format!("{{ providers {{ provider }} }} #{}", "x".repeat(1024 * 1024 + 10)) }).to_string();
    let oversized = post(huge, "application/json", modern)
        .await
        .expect("request");
    assert_eq!(oversized.status(), 413);

    // GET runs queries, never mutations; without a query it is GraphiQL's page.
    let get = server
        .http
        .get(server.url("/graphql?query=%7B%20providers%20%7B%20provider%20%7D%20%7D"))
        .bearer_auth(WRITER)
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 200);
    let body: Value = get.json().await.expect("json");
    assert_eq!(body["data"]["providers"][0]["provider"], "FLEX");
    let mutation =
        server
            .http
            .get(server.url(
                "/graphql?query=mutation%20%7B%20syncFromProviders%20%7B%20imported%20%7D%20%7D",
            ))
            .bearer_auth(WRITER)
            .send()
            .await
            .expect("request");
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let page = server
        .http
        .get(server.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("GraphiQL"));
    // Served as built: pinned scripts, and the token is not kept in localStorage by default.
    assert_eq!(html, promohub_graphql::http::GRAPHIQL);
    assert!(html.contains("shouldPersistHeaders: false"));
    assert_eq!(html.matches("integrity=\"sha384-").count(), 4, "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_routes_answer() {
    let server = start(promohub_test_support::sqlite()).await;
    let text = |path: &'static str| {
        let server = &server;
        async move {
            let response = server.get(path).await.expect("request");
            (
                response.status().as_u16(),
                response.headers().clone(),
                response.text().await.unwrap_or_default(),
            )
        }
    };
    assert_eq!(text("/healthz").await.0, 200);
    assert_eq!(text("/readyz").await.0, 200);
    let (status, headers, body) = text("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|c| c.contains("json"))
    );
    let doc: Value = serde_json::from_str(&body).expect("json");
    for path in [
        "/graphql",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from /openapi.json"
        );
    }
    server
        .gql(
            Some(WRITER),
            "query Providers { providers { provider } }",
            json!({}),
        )
        .await;
    let (status, _, metrics) = text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("promohub_graphql_request_duration_seconds_count{operation=\"anonymous\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("promohub_provider_links"), "{metrics}");
    assert!(metrics.contains("promohub_outbox_depth 0"), "{metrics}");
    assert!(!metrics.contains(WRITER), "no secret in metrics");
    // Request ids come back for tracing.
    let response = server.get("/healthz").await.expect("request");
    assert!(response.headers().contains_key("x-request-id"));
    // CORS for the configured frontend origin.
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/graphql"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    server.stop().await.expect("graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_serves_sandboxes_when_asked_for() {
    let db = promohub_test_support::sqlite();
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: db.url.clone(),
        tokens: Some(Tokens::parse(&format!("write:{WRITER}")).expect("tokens")),
        demo: true,
        providers: Vec::new(),
        service: ServiceConfig {
            sync_interval: None,
            ..ServiceConfig::default()
        },
        cors_origins: Vec::new(),
        http: Default::default(),
    };
    assert!(config.is_demo());
    let unused = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let server = TestServer::serve(config, unused, db).await;
    let data = server
        .write("{ providers { provider configured } }", json!({}))
        .await;
    // Every provider, in API order: a scaffolded one (cargo xtask new-provider) too.
    let every: Vec<Value> = Provider::ALL
        .iter()
        .map(|p| json!({ "provider": p.as_str(), "configured": true }))
        .collect();
    assert_eq!(data["providers"], Value::Array(every));
    for (i, name) in ["FLEX", "FYNN", "WHOP"].into_iter().enumerate() {
        assert_eq!(data["providers"][i]["provider"], name, "{data}");
    }
    let created = server
        .write(
            &create_mutation(),
            json!({ "input": { "code": "DEMO1", "discount": { "type": "PERCENTAGE", "percentOff": 10 },
                               "providers": ["FLEX", "FYNN", "WHOP"] } }),
        )
        .await;
    assert_eq!(created["createPromoCode"]["userErrors"], json!([]));
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_providers_or_demo_the_server_refuses_to_start() {
    let db = promohub_test_support::sqlite();
    let base = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: db.url.clone(),
        tokens: Some(Tokens::parse(&format!("write:{WRITER}")).expect("tokens")),
        demo: false,
        providers: Vec::new(),
        service: ServiceConfig::default(),
        cors_origins: Vec::new(),
        http: Default::default(),
    };
    let start = |config: Config| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        tokio::time::timeout(
            Duration::from_secs(10),
            promohub_graphql::serve(config, listener, std::future::pending()),
        )
        .await
        .expect("refused at once")
        .expect_err("refused")
        .to_string()
    };
    let error = start(base.clone()).await;
    assert!(error.contains("no provider is configured"), "{error}");
    assert!(error.contains("promohub demo"), "{error}");
    // Demo mode is never what happens beside a configured provider.
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let error = start(Config {
        demo: true,
        providers: vec![(
            Provider::Whop,
            ProviderConfig::new(
                sandbox.base_url(Emulated::Whop),
                sandbox.key(Emulated::Whop),
            ),
        )],
        ..base
    })
    .await;
    assert!(error.contains("WHOP is configured"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_scrape_token_when_one_is_set() {
    const SCRAPE: &str = "scrape-token-0001";
    let server = start_with(
        promohub_test_support::sqlite(),
        HttpConfig {
            metrics: MetricsConfig {
                token: Some(SCRAPE.into()),
                ..MetricsConfig::default()
            },
            ..HttpConfig::default()
        },
    )
    .await;
    let scrape = |token: Option<&'static str>| {
        let server = &server;
        async move {
            let mut request = server.http.get(server.url("/metrics"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("request");
            (
                response.status().as_u16(),
                response.text().await.expect("text"),
            )
        }
    };
    assert_eq!(scrape(None).await.0, 401);
    assert_eq!(
        scrape(Some(WRITER)).await.0,
        401,
        "an API token is not the scrape token"
    );
    assert_eq!(scrape(Some("scrape-token-0002")).await.0, 401);
    let (status, text) = scrape(Some(SCRAPE)).await;
    assert_eq!(status, 200);
    assert!(text.contains("promohub_outbox_depth 0"), "{text}");
    assert!(!text.contains(SCRAPE), "{text}");
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_have_a_listener_of_their_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let server = start_with(
        promohub_test_support::sqlite(),
        HttpConfig {
            metrics: MetricsConfig {
                listen: Some(listen),
                ..MetricsConfig::default()
            },
            ..HttpConfig::default()
        },
    )
    .await;
    assert_eq!(
        server.get("/metrics").await.expect("request").status(),
        404,
        "not beside the API"
    );
    server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(WRITER)
        .json(&json!({ "query": "query Listed { providers { provider } }", "operationName": "Listed" }))
        .send()
        .await
        .expect("request");
    let response = server
        .http
        .get(format!("http://{listen}/metrics"))
        .send()
        .await
        .expect("metrics listener");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    assert!(
        text.contains(
            "promohub_graphql_request_duration_seconds_count{operation=\"Listed\",status=\"200\"} 1"
        ),
        "{text}"
    );
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_labels_stay_bounded_and_provider_metrics_keep_their_names() {
    let server = start_with(
        promohub_test_support::sqlite(),
        HttpConfig {
            metrics: MetricsConfig {
                max_operation_names: 3,
                ..MetricsConfig::default()
            },
            ..HttpConfig::default()
        },
    )
    .await;
    let long = format!("L{}", "x".repeat(200));
    let mut names: Vec<String> = (1..=5).map(|i| format!("Named{i}")).collect();
    names.push(long.clone());
    for name in &names {
        let response = server
            .http
            .post(server.url("/graphql"))
            .bearer_auth(WRITER)
            .json(
                &json!({ "query": format!("query {name} {{ providers {{ provider }} }}"),
                           "operationName": name }),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
    }
    // A name the document does not define is never a label.
    let _ = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(WRITER)
        .json(&json!({ "query": "query Real { providers { provider } }", "operationName": "Invented" }))
        .send()
        .await
        .expect("request");
    let created = server
        .write(
            &create_mutation(),
            json!({ "input": { "code": "METRICS1", "discount": { "type": "PERCENTAGE", "percentOff": 10 },
                               "providers": ["WHOP"] } }),
        )
        .await;
    assert_eq!(created["createPromoCode"]["userErrors"], json!([]));
    let text = server
        .get("/metrics")
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    let operations: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("promohub_graphql_request_duration_seconds_count{operation=\"")
        })
        .filter_map(|l| l.split('"').next())
        .collect();
    assert_eq!(
        operations,
        ["Named1", "Named2", "Named3", "other"]
            .into_iter()
            .collect(),
        "{text}"
    );
    assert!(!text.contains("Invented"), "{text}");
    assert!(
        !text.contains(&long[..65]),
        "names are cut to 64 characters"
    );
    assert!(
        text.contains(
            "promohub_provider_calls_total{provider=\"WHOP\",operation=\"create\",outcome=\"ok\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("promohub_provider_call_duration_seconds_count{provider=\"WHOP\"}"),
        "{text}"
    );
    assert!(
        text.contains("promohub_provider_links{provider=\"WHOP\",state=\"SYNCED\"} 1"),
        "{text}"
    );
    server.stop().await.expect("stops");
}

const SYNC: &str = "imported updated unchanged drifted errors";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_from_providers_runs_once_per_request_and_one_at_a_time() {
    let server = start(promohub_test_support::sqlite()).await;
    server.sandbox.state().clear_journal();
    for document in [
        format!(
            "mutation {{ a: syncFromProviders {{ {SYNC} }} b: syncFromProviders {{ {SYNC} }} }}"
        ),
        format!(
            "mutation {{ ...S ...S }} fragment S on Mutation {{ syncFromProviders {{ {SYNC} }} }}"
        ),
        format!(
            "mutation {{ syncFromProviders {{ {SYNC} }} ... on Mutation {{ again: syncFromProviders(provider: WHOP) {{ {SYNC} }} }} }}"
        ),
    ] {
        let (status, body) = server.gql(Some(WRITER), &document, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "ONCE_PER_REQUEST",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("syncFromProviders may be selected once per request")),
            "{body}"
        );
        assert!(body.get("data").is_none(), "nothing ran: {body}");
    }
    assert!(
        server.sandbox.state().journal().is_empty(),
        "no provider was called"
    );

    // Not while one runs: the first waits on a slow Whop page, the second is refused at once.
    server.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("list_promo_codes".into()),
        kind: FaultKind::Latency { ms: 1500 },
        times: Some(1),
        apply: true,
    });
    let query = format!("mutation {{ syncFromProviders {{ {SYNC} }} }}");
    let first = {
        let http = server.http.clone();
        let url = server.url("/graphql");
        let query = query.clone();
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(WRITER)
                .json(&json!({ "query": query }))
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while server.sandbox.state().journal().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first sync never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = tokio::time::Instant::now();
    let (_, second) = server.gql(Some(WRITER), &query, json!({})).await;
    assert_eq!(
        second["errors"][0]["extensions"]["code"], "SYNC_IN_PROGRESS",
        "{second}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once, not queued"
    );
    let first = first.await.expect("first sync");
    assert!(first.get("errors").is_none(), "{first}");
    let third = server.write(&query, json!({})).await;
    assert!(
        third["syncFromProviders"]["imported"].is_number(),
        "{third}"
    );
    server.stop().await.expect("stops");
}

/// Sends raw bytes on a fresh connection; what came back before the server closed it or
/// `wait` passed.
async fn raw_exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> (String, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_header_timeout_and_body_limit_act_before_auth() {
    let server = start_with(
        promohub_test_support::sqlite(),
        HttpConfig {
            max_concurrent_requests: 1,
            header_read_timeout: Duration::from_millis(300),
            ..HttpConfig::default()
        },
    )
    .await;
    // A body declared over 1 MiB without a token: 413 at once, unread (not 401).
    let started = tokio::time::Instant::now();
    let (answer, _) = raw_exchange(
        server.addr,
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{",
        Duration::from_secs(3),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // A request head sent too slowly: the connection is closed after the header read timeout.
    let started = tokio::time::Instant::now();
    let (answer, closed) = raw_exchange(
        server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(closed, "still open after 5 s: {answer}");
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // One request in flight (its body never comes) holds the only slot: the next is refused
    // with 503 at once, before its token is looked at; /healthz still answers.
    use tokio::io::AsyncWriteExt;
    let mut holder = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    holder
        .write_all(
            format!("POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WRITER}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let response = server
            .http
            .post(server.url("/graphql"))
            .json(&json!({ "query": "{ providers { provider } }" }))
            .send()
            .await
            .expect("request");
        if response.status() == 503 {
            break response;
        }
        assert_eq!(response.status(), 401, "no token: 401 while a slot is free");
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(server.get("/healthz").await.expect("healthz").status(), 200);
    drop(holder);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = server
            .gql(Some(WRITER), "{ providers { provider } }", json!({}))
            .await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await.expect("stops");
}

/// The error code and the limit named by a refused request.
fn refusal(body: &Value) -> (String, String) {
    let extensions = &body["errors"][0]["extensions"];
    (
        extensions["code"].as_str().unwrap_or("-").to_string(),
        extensions["limit"].as_str().unwrap_or("-").to_string(),
    )
}

async fn total_codes(server: &TestServer) -> i64 {
    let data = server
        .write("{ promoCodes { totalCount } }", json!({}))
        .await;
    data["promoCodes"]["totalCount"].as_i64().expect("count")
}

fn nested_metadata(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |inner, _| json!({ "n": inner }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_limits_refuse_before_work_and_the_server_stays_up() {
    let server = start(promohub_test_support::sqlite()).await;
    let before = total_codes(&server).await;
    let deep_list = format!(
        "{{ promoCodes(filter: {{ codePrefix: {}\"a\"{} }}) {{ totalCount }} }}",
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    let deep_object = format!(
        "{{ promoCodes(filter: {}{}) {{ totalCount }} }}",
        "{codePrefix: ".repeat(1_500),
        "}".repeat(1_500)
    );
    let mut doubling = "query { ...F30 } fragment F0 on Query { __typename }".to_string();
    for n in 1..=30 {
        doubling.push_str(&format!(
            " fragment F{n} on Query {{ ...F{m} ...F{m} }}",
            m = n - 1
        ));
    }
    let aliases = |count: usize, fields: &str| {
        let selections: Vec<String> = (0..count)
            .map(|i| format!("a{i}: promoCodes(first: 200) {{ nodes {{ {fields} }} }}"))
            .collect();
        format!("{{ {} }}", selections.join(" "))
    };
    let deep_metadata_literal = format!(
        "mutation {{ createPromoCode(input: {{ code: \"DEEP-1\", discount: {{ type: PERCENTAGE, percentOff: 5 }}, \
         providers: [WHOP], metadata: {}1{} }}) {{ userErrors {{ code }} }} }}",
        "{a: ".repeat(150),
        "}".repeat(150)
    );
    for (name, query, expected) in [
        ("list literal 2,000 deep", deep_list, "nesting"),
        ("object literal 1,500 deep", deep_object, "nesting"),
        ("30 levels of doubling fragments", doubling, "fields"),
        (
            "50 aliases of promoCodes(first: 200)",
            aliases(50, "id"),
            "aliases",
        ),
        (
            "10 aliased full pages",
            aliases(
                10,
                "id code name status version timesRedeemed createdAt updatedAt expiresAt metadata",
            ),
            "cost",
        ),
        (
            "metadata literal 150 deep",
            deep_metadata_literal,
            "nesting",
        ),
    ] {
        let (status, body) = server.gql(Some(WRITER), &query, json!({})).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(
            refusal(&body),
            ("LIMIT_EXCEEDED".into(), expected.into()),
            "{name}: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("exceeds the limit of") && message.contains("PROMOHUB_MAX_"),
            "{name}: {message}"
        );
    }
    // JSON variables nested past the input depth: refused the same way.
    let (_, body) = server
        .gql(
            Some(WRITER),
            &create_mutation(),
            json!({ "input": { "code": "DEEP-2", "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                               "providers": ["WHOP"], "metadata": nested_metadata(10) } }),
        )
        .await;
    assert_eq!(
        refusal(&body),
        ("LIMIT_EXCEEDED".into(), "inputDepth".into()),
        "{body}"
    );
    // Within the request limits but past the input caps: a userError naming the field.
    for (input, field) in [
        (
            json!({ "metadata": { "a": nested_metadata(6) } }),
            json!(["input", "metadata", "a"]),
        ),
        (
            json!({ "metadata": { "a": "v".repeat(501) } }),
            json!(["input", "metadata", "a"]),
        ),
        (
            json!({ "restrictions": { "planIds": (0..101).map(|i| format!("plan_{i}")).collect::<Vec<_>>() } }),
            json!(["input", "restrictions", "planIds"]),
        ),
    ] {
        let mut variables = json!({ "code": "CAPPED-1", "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                                    "providers": ["WHOP"] });
        for (key, value) in input.as_object().expect("object") {
            variables[key] = value.clone();
        }
        let data = server
            .write(&create_mutation(), json!({ "input": variables }))
            .await;
        let errors = &data["createPromoCode"]["userErrors"];
        assert_eq!(errors[0]["field"], field, "{errors}");
        assert_eq!(errors[0]["code"], "INVALID", "{errors}");
    }
    // A long list in variables is bounded by the body size, not by the limits: it must still
    // answer (a status list was once bound as 100,000 SQL parameters and failed INTERNAL).
    let statuses: Vec<&str> = ["ACTIVE", "INACTIVE"].repeat(50_000);
    let (status, body) = server
        .gql(
            Some(READER),
            "query($s: [PromoCodeStatus!]) { promoCodes(filter: { status: $s }) { nodes { id } } }",
            json!({ "s": statuses }),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(total_codes(&server).await, before, "nothing was stored");
    assert!(
        server.sandbox.state().journal().is_empty(),
        "no provider was called"
    );
    assert_eq!(
        server.get("/healthz").await.map(|r| r.status().as_u16()),
        Some(200)
    );
    server.stop().await.expect("graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_limit_refuses_just_over_and_takes_just_under() {
    let http = HttpConfig {
        limits: RequestLimits {
            max_aliases: 2,
            max_cost: 101,
            ..RequestLimits::default()
        },
        ..HttpConfig::default()
    };
    let server = start_with(promohub_test_support::sqlite(), http).await;
    let (_, ok) = server
        .gql(
            Some(READER),
            "{ a: providers { provider } b: providers { provider } }",
            json!({}),
        )
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let (_, over) = server
        .gql(
            Some(READER),
            "{ a: providers { provider } b: providers { provider } c: providers { provider } }",
            json!({}),
        )
        .await;
    assert_eq!(refusal(&over), ("LIMIT_EXCEEDED".into(), "aliases".into()));
    assert_eq!(over["errors"][0]["extensions"]["actual"], 3);
    assert_eq!(over["errors"][0]["extensions"]["max"], 2);
    // Cost: 1 + first x (nodes + id).
    let page = "query($n: Int) { promoCodes(first: $n) { nodes { id } } }";
    let (_, ok) = server.gql(Some(READER), page, json!({ "n": 50 })).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let (_, over) = server.gql(Some(READER), page, json!({ "n": 51 })).await;
    assert_eq!(
        refusal(&over),
        ("LIMIT_EXCEEDED".into(), "cost".into()),
        "{over}"
    );
    server.stop().await.expect("graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_timeout_is_answered_and_its_change_still_lands() {
    let http = HttpConfig {
        request_timeout: Duration::from_millis(300),
        ..HttpConfig::default()
    };
    let server = start_with(promohub_test_support::sqlite(), http).await;
    server.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("create_promo_code".into()),
        kind: FaultKind::Latency { ms: 1_500 },
        times: Some(1),
        apply: true,
    });
    let (status, body) = server
        .gql(
            Some(WRITER),
            &create_mutation(),
            json!({ "input": { "code": "SLOW-1", "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                               "providers": ["WHOP"] } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "REQUEST_TIMEOUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the change goes on")),
        "{body}"
    );
    wait_until_synced(&server, "SLOW-1").await;
    server.stop().await.expect("graceful stop");
}

async fn an_unreadable_row_is_reported_and_the_rest_of_the_page_answers(db: TestDb) {
    use sea_orm::ConnectionTrait;
    let url = db.url.clone();
    let server = start(db).await;
    for code in ["ROW-1", "ROW-2", "ROW-3"] {
        let data = server
            .write(
                &create_mutation(),
                json!({ "input": { "code": code, "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                                   "providers": ["WHOP"] } }),
            )
            .await;
        assert_eq!(data["createPromoCode"]["userErrors"], json!([]));
    }
    // A row written by some other version, or nested past what serde_json reads back.
    let deep = format!("{}1{}", "{\"a\":".repeat(150), "}".repeat(150));
    let connection = sea_orm::Database::connect(&url).await.expect("database");
    connection
        .execute_unprepared(&format!(
            "UPDATE promo_codes SET metadata = '{deep}' WHERE code = 'ROW-2'"
        ))
        .await
        .expect("corrupt one row");
    let (status, body) = server
        .gql(
            Some(READER),
            "{ promoCodes(first: 2, sortBy: CODE) { nodes { code metadata } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = body["data"]["promoCodes"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["code"].as_str())
        .collect();
    assert_eq!(codes, ["ROW-1"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNREADABLE_ROW",
        "{body}"
    );
    assert_eq!(body["errors"][0]["path"], json!(["promoCodes", "nodes"]));
    // The next page moves past the unreadable row.
    let after = body["data"]["promoCodes"]["pageInfo"]["endCursor"].clone();
    let (_, next) = server
        .gql(
            Some(READER),
            "query($after: String) { promoCodes(first: 2, sortBy: CODE, after: $after) { nodes { code } } }",
            json!({ "after": after }),
        )
        .await;
    assert_eq!(
        next["data"]["promoCodes"]["nodes"],
        json!([{ "code": "ROW-3" }]),
        "{next}"
    );
    server.stop().await.expect("graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_requests_in_flight_only_as_long_as_the_grace() {
    let http = HttpConfig {
        shutdown_grace: Duration::from_millis(500),
        ..HttpConfig::default()
    };
    let server = start_with_provider_timeout(
        promohub_test_support::sqlite(),
        http,
        Duration::from_secs(60),
    )
    .await;
    // A create whose provider call holds for a minute: the request stays in flight.
    server.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("create_promo_code".into()),
        kind: FaultKind::Latency { ms: 60_000 },
        times: Some(1),
        apply: true,
    });
    let request = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(WRITER)
        .json(&json!({ "query": create_mutation(), "variables": { "input": {
            "code": "STUCK-1", "discount": { "type": "PERCENTAGE", "percentOff": 5 }, "providers": ["WHOP"] } } }))
        .send();
    let in_flight = tokio::spawn(request);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.sandbox.state().journal_of(Emulated::Whop).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the create never reached Whop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Stopping returns once the grace is over, not when the minute-long request ends.
    let stopped = tokio::time::timeout(Duration::from_secs(20), server.stop()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "the server did not stop within the grace: {stopped:?}"
    );
    in_flight.abort();
}

/// Issue 13 end to end: a code turned off on Whop shows on its entry after a sync and in
/// validatePromoCode; resolveDrift PUSH_OURS writes ours back through the outbox, ADOPT_THEIRS
/// takes Whop's values as a new version.
async fn status_changed_on_a_provider_shows_and_resolve_drift_settles_it(db: TestDb) {
    let server = start(db).await;
    let data = server
        .write(
            &create_mutation(),
            json!({ "input": { "code": "DRIFTER", "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                               "maxRedemptions": 10, "providers": ["WHOP"] } }),
        )
        .await;
    let code = &data["createPromoCode"]["promoCode"];
    let id = code["id"].as_str().expect("id").to_string();
    let whop_id = code["providers"][0]["externalId"]
        .as_str()
        .expect("external id")
        .to_string();
    // Whop's own API, as its dashboard would use it.
    let whop_url = format!(
        "{}/v2/promo_codes/{whop_id}",
        server.sandbox.base_url(Emulated::Whop)
    );
    let whop_key = server.sandbox.key(Emulated::Whop).to_string();
    let change = |body: Value| {
        let request = server
            .http
            .post(&whop_url)
            .bearer_auth(&whop_key)
            .json(&body);
        async move {
            let response = request.send().await.expect("Whop answers");
            assert_eq!(response.status().as_u16(), 201, "changed on Whop");
        }
    };
    let whop_status = || {
        let request = server.http.get(&whop_url).bearer_auth(&whop_key);
        async move {
            let body: Value = request
                .send()
                .await
                .expect("read")
                .json()
                .await
                .expect("json");
            body["status"].clone()
        }
    };
    change(json!({ "status": "inactive" })).await;
    let sync = server
        .write(
            "mutation { syncFromProviders(provider: WHOP) { drifted errors } }",
            json!({}),
        )
        .await;
    assert_eq!(
        sync["syncFromProviders"]["drifted"],
        json!(["WHOP:DRIFTER: status is INACTIVE there, ACTIVE here"])
    );
    let validate =
        "query { validatePromoCode(code: \"DRIFTER\", provider: WHOP) { valid reason } }";
    let (_, body) = server.gql(Some(READER), validate, json!({})).await;
    assert_eq!(
        body["data"]["validatePromoCode"],
        json!({ "valid": false, "reason": "DISABLED_ON_PROVIDER" })
    );
    let (_, body) = server
        .gql(
            Some(READER),
            "query($id: ID!) { promoCode(id: $id) { providers { state lastError } } }",
            json!({ "id": id }),
        )
        .await;
    let entry = &body["data"]["promoCode"]["providers"][0];
    assert_eq!(entry["state"], "DISABLED_ON_PROVIDER", "{body}");
    assert!(
        entry["lastError"]
            .as_str()
            .is_some_and(|m| m.contains("INACTIVE"))
    );

    let resolve = format!(
        "mutation($id: ID!, $strategy: DriftStrategy!) {{
           resolveDrift(id: $id, provider: WHOP, strategy: $strategy) {{
             promoCode {{ {CODE_FIELDS} }} userErrors {{ field code message }} }} }}"
    );
    // A read token may not resolve drift.
    let (_, body) = server
        .gql(
            Some(READER),
            &resolve,
            json!({ "id": id, "strategy": "PUSH_OURS" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );

    let pushed = server
        .write(&resolve, json!({ "id": id, "strategy": "PUSH_OURS" }))
        .await;
    assert_eq!(pushed["resolveDrift"]["userErrors"], json!([]));
    // The server's worker writes it; wait for SYNCED and for Whop to hold ours again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = server.gql(Some(READER), validate, json!({})).await;
        if whop_status().await == json!("active")
            && body["data"]["validatePromoCode"]["valid"] == json!(true)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never pushed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    change(json!({ "status": "inactive", "stock": 4 })).await;
    let adopted = server
        .write(&resolve, json!({ "id": id, "strategy": "ADOPT_THEIRS" }))
        .await;
    let adopted = &adopted["resolveDrift"];
    assert_eq!(adopted["userErrors"], json!([]), "{adopted}");
    assert_eq!(adopted["promoCode"]["status"], "INACTIVE");
    assert_eq!(adopted["promoCode"]["maxRedemptions"], 4);
    assert!(
        adopted["promoCode"]["version"].as_i64() > code["version"].as_i64(),
        "{adopted}"
    );
    assert_eq!(adopted["promoCode"]["providers"][0]["state"], "SYNCED");
    server.stop().await.expect("graceful stop");
}
