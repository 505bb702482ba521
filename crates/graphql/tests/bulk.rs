//! generatePromoCodes, bulkJob and cancelBulkJob over real HTTP, on SQLite and PostgreSQL:
//! the server's own runner and worker, writing to the provider sandbox.

use std::time::Duration;

use promohub_sandbox::{Provider as Emulated, RunningSandbox, SandboxConfig};
use promohub_test_support::server::{self, InProcessServer, READER, WRITER, server_config};
use promohub_test_support::{TestDb, on_both_databases};
use serde_json::{Value, json};

const GENERATE: &str = "mutation G($input: GeneratePromoCodesInput!) {
    generatePromoCodes(input: $input) {
        bulkJob { id state total created synced failed errors pattern }
        userErrors { field code message } } }";
const JOB: &str =
    "query J($id: ID!) { bulkJob(id: $id) { id state total created synced failed errors } }";
const CANCEL: &str = "mutation C($id: ID!) { cancelBulkJob(id: $id) {
    bulkJob { id state } userErrors { field code message } } }";

async fn post(base: &str, token: &str, query: &str, variables: Value) -> Value {
    server::graphql_body(base, token, query, variables).await
}

fn input(count: i64, pattern: &str) -> Value {
    json!({ "input": { "count": count, "pattern": pattern,
        "discount": { "type": "PERCENTAGE", "percentOff": 20 },
        "metadata": { "campaign": "spring" }, "providers": ["WHOP", "FLEX"] } })
}

async fn a_campaign_over_http(db: TestDb) {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let server = InProcessServer::start(server_config(&db.url, &sandbox)).await;
    let base = server.base();

    // A read token may not start a job; a bad job is refused with nothing stored.
    let forbidden = post(&base, READER, GENERATE, input(10, "SPRING-####-????")).await;
    assert_eq!(
        forbidden["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{forbidden}"
    );
    let small = post(&base, WRITER, GENERATE, input(10, "AB-##")).await;
    let refused = &small["data"]["generatePromoCodes"];
    assert_eq!(refused["bulkJob"], Value::Null, "{small}");
    assert_eq!(
        refused["userErrors"][0]["field"],
        json!(["input", "pattern"])
    );
    assert_eq!(refused["userErrors"][0]["code"], "INVALID");

    let started = post(&base, WRITER, GENERATE, input(120, "SPRING-####-????")).await;
    let job = &started["data"]["generatePromoCodes"]["bulkJob"];
    assert_eq!(job["state"], "QUEUED", "{started}");
    assert_eq!(job["total"], 120);
    let id = job["id"].as_str().expect("id").to_string();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let read = post(&base, READER, JOB, json!({ "id": id })).await;
        let job = read["data"]["bulkJob"].clone();
        if job["state"] == "DONE" && job["synced"] == 120 {
            break job;
        }
        assert!(tokio::time::Instant::now() < deadline, "not synced: {read}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["created"], 120);
    assert_eq!(done["failed"], 0);
    assert_eq!(sandbox.state().held_codes(Emulated::Whop).len(), 120);
    assert_eq!(sandbox.state().held_codes(Emulated::Flex).len(), 120);

    // The codes are ordinary codes: listed, with the shared settings.
    let listed = post(
        &base,
        READER,
        "{ promoCodes(first: 5, filter: { codePrefix: \"spring-\" }) { totalCount nodes { code metadata discount { percentOff } providers { state } } } }",
        json!({}),
    )
    .await;
    let codes = &listed["data"]["promoCodes"];
    assert_eq!(codes["totalCount"], 120, "{listed}");
    assert_eq!(
        codes["nodes"][0]["metadata"],
        json!({ "campaign": "spring" })
    );
    assert_eq!(codes["nodes"][0]["discount"]["percentOff"], 20.0);

    let again = post(&base, WRITER, CANCEL, json!({ "id": id })).await;
    assert_eq!(
        again["data"]["cancelBulkJob"]["userErrors"][0]["code"], "INVALID",
        "{again}"
    );
    let missing = post(&base, READER, JOB, json!({ "id": "nope" })).await;
    assert_eq!(missing["data"]["bulkJob"], Value::Null, "{missing}");

    // A queued job cancelled at once makes nothing after the cancel.
    let started = post(&base, WRITER, GENERATE, input(100_000, "BIG-*******")).await;
    let id = started["data"]["generatePromoCodes"]["bulkJob"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let cancelled = post(&base, WRITER, CANCEL, json!({ "id": id })).await;
    assert_eq!(
        cancelled["data"]["cancelBulkJob"]["bulkJob"]["state"], "CANCELLED",
        "{cancelled}"
    );
    let at_cancel =
        post(&base, READER, JOB, json!({ "id": id })).await["data"]["bulkJob"]["created"].clone();
    assert!(at_cancel.as_i64().is_some_and(|n| n < 100_000));
}

on_both_databases!(a_campaign_over_http);
