//! `Idempotency-Key` end to end: real servers over real HTTP on SQLite and PostgreSQL, the
//! provider sandbox counting what reaches the providers.

use std::time::Duration;

use promohub_domain::entity::idempotency_key;
use promohub_graphql::http::{HttpConfig, Tokens};
use promohub_sandbox::{Provider as Emulated, RunningSandbox, SandboxConfig};
use promohub_test_support::TestDb;
use promohub_test_support::on_both_databases;
use promohub_test_support::server::{InProcessServer, WRITER, server_config};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const OTHER_WRITER: &str = "writer-token-0002";

const CREATE: &str = "mutation Create($input: CreatePromoCodeInput!) {
    createPromoCode(input: $input) { promoCode { id code version providers { provider state } } userErrors { field code message } } }";

fn input(code: &str) -> Value {
    json!({ "input": { "code": code, "discount": { "type": "PERCENTAGE", "percentOff": 10 },
                       "providers": ["WHOP", "FLEX"] } })
}

/// One `promohub` server in this process on `db_url`, writing to `sandbox`, with two writers.
async fn serve(db_url: &str, sandbox: &RunningSandbox, http: HttpConfig) -> InProcessServer {
    let mut config = server_config(db_url, sandbox);
    config.tokens =
        Some(Tokens::parse(&format!("write:{WRITER},write:{OTHER_WRITER}")).expect("tokens"));
    config.http = http;
    InProcessServer::start(config).await
}

/// A fresh sandbox and one server on `db` writing to it.
async fn start(db: &TestDb) -> (RunningSandbox, InProcessServer) {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let server = serve(&db.url, &sandbox, HttpConfig::default()).await;
    (sandbox, server)
}

/// An answer as the client sees it: status, `Idempotent-Replayed`, the body's exact bytes.
#[derive(Debug)]
struct Answer {
    status: u16,
    replayed: bool,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

async fn post(base: &str, token: &str, key: Option<&str>, query: &str, variables: Value) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("request");
    Answer {
        status: response.status().as_u16(),
        replayed: response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true"),
        body: response.bytes().await.expect("body").to_vec(),
    }
}

async fn count_codes(base: &str) -> i64 {
    let answer = post(
        base,
        WRITER,
        None,
        "{ promoCodes(first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    answer.json()["data"]["promoCodes"]["totalCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("{:?}", answer.json()))
}

/// Creates the providers received: one per code and provider.
fn provider_creates(sandbox: &RunningSandbox) -> (usize, usize) {
    let creates = |p| {
        sandbox
            .state()
            .journal_of(p)
            .into_iter()
            .filter(|e| e.operation == "create_promo_code")
            .count()
    };
    (creates(Emulated::Whop), creates(Emulated::Flex))
}

fn ok_payload(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    let body = answer.json();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["createPromoCode"]["userErrors"],
        json!([]),
        "{body}"
    );
    body["data"]["createPromoCode"].clone()
}

on_both_databases!(
    a_retried_create_makes_one_code_and_gets_the_first_answer,
    the_same_key_with_another_request_is_refused,
    requests_at_once_with_one_key_make_one_code_on_two_servers,
    a_key_older_than_a_day_runs_again,
    a_bad_key_is_refused_and_nothing_runs,
    a_repeat_waits_for_the_first_and_a_dead_one_is_taken_over,
);

async fn a_retried_create_makes_one_code_and_gets_the_first_answer(db: TestDb) {
    let (sandbox, server) = start(&db).await;
    let first = post(
        &server.base(),
        WRITER,
        Some("retry-1"),
        CREATE,
        input("RETRY1"),
    )
    .await;
    ok_payload(&first);
    assert!(!first.replayed);
    let second = post(
        &server.base(),
        WRITER,
        Some("retry-1"),
        CREATE,
        input("RETRY1"),
    )
    .await;
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body, "the same bytes");
    assert!(second.replayed, "Idempotent-Replayed: true");
    assert_eq!(count_codes(&server.base()).await, 1);
    assert_eq!(
        provider_creates(&sandbox),
        (1, 1),
        "one create per provider"
    );
    // Another token's key of the same name is another key: it runs (and finds the code taken).
    let other = post(
        &server.base(),
        OTHER_WRITER,
        Some("retry-1"),
        CREATE,
        input("RETRY1"),
    )
    .await;
    assert!(!other.replayed);
    assert_eq!(
        other.json()["data"]["createPromoCode"]["userErrors"][0]["code"],
        "DUPLICATE_CODE"
    );
    // A query with a key just runs, every time.
    let query = "{ promoCodes(first: 5) { totalCount } }";
    for _ in 0..2 {
        let read = post(&server.base(), WRITER, Some("retry-1"), query, json!({})).await;
        assert_eq!(read.status, 200);
        assert!(!read.replayed);
        assert_eq!(read.json()["data"]["promoCodes"]["totalCount"], 1);
    }
}

async fn the_same_key_with_another_request_is_refused(db: TestDb) {
    let (sandbox, server) = start(&db).await;
    ok_payload(&post(&server.base(), WRITER, Some("k-2"), CREATE, input("FIRST2")).await);
    let other = post(&server.base(), WRITER, Some("k-2"), CREATE, input("OTHER2")).await;
    assert_eq!(other.status, 422, "{:?}", other.json());
    assert_eq!(
        other.json()["errors"][0]["extensions"]["code"],
        "IDEMPOTENCY_KEY_REUSED"
    );
    assert_eq!(other.json().get("data"), None);
    assert_eq!(count_codes(&server.base()).await, 1, "OTHER2 was not made");
    assert_eq!(provider_creates(&sandbox), (1, 1));
}

async fn requests_at_once_with_one_key_make_one_code_on_two_servers(db: TestDb) {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let a = serve(&db.url, &sandbox, HttpConfig::default()).await;
    let b = serve(&db.url, &sandbox, HttpConfig::default()).await;
    // Six at once, three on each server: one runs, five wait for its answer.
    let requests = (0..6).map(|i| {
        let base = if i % 2 == 0 { a.base() } else { b.base() };
        async move { post(&base, WRITER, Some("at-once-3"), CREATE, input("ATONCE3")).await }
    });
    let answers = futures::future::join_all(requests).await;
    let first = &answers[0];
    ok_payload(first);
    for answer in &answers {
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, first.body, "every answer is the one answer");
    }
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "one ran");
    assert_eq!(count_codes(&a.base()).await, 1);
    assert_eq!(provider_creates(&sandbox), (1, 1));
}

async fn a_key_older_than_a_day_runs_again(db: TestDb) {
    let (_sandbox, server) = start(&db).await;
    ok_payload(&post(&server.base(), WRITER, Some("old-4"), CREATE, input("OLD4")).await);
    let db_conn = promohub_domain::store::connect(&db.url).await.expect("db");
    let day_ago = chrono::Utc::now() - chrono::Duration::hours(25);
    let moved = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::CreatedAt, Expr::value(day_ago))
        .filter(idempotency_key::Column::IdempotencyKey.eq("old-4"))
        .exec(&db_conn)
        .await
        .expect("age the key");
    assert_eq!(moved.rows_affected, 1);
    let again = post(&server.base(), WRITER, Some("old-4"), CREATE, input("OLD4")).await;
    assert!(!again.replayed, "ran again: {:?}", again.json());
    assert_eq!(
        again.json()["data"]["createPromoCode"]["userErrors"][0]["code"],
        "DUPLICATE_CODE",
        "it ran, and the code exists"
    );
    // The fresh answer is the one kept now.
    let third = post(&server.base(), WRITER, Some("old-4"), CREATE, input("OLD4")).await;
    assert!(third.replayed);
    assert_eq!(third.body, again.body);
    let rows = idempotency_key::Entity::find()
        .all(&db_conn)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "the old row was pruned");
}

async fn a_bad_key_is_refused_and_nothing_runs(db: TestDb) {
    let (sandbox, server) = start(&db).await;
    let long = "k".repeat(256);
    for key in ["has space", long.as_str(), "tab\there"] {
        let answer = post(&server.base(), WRITER, Some(key), CREATE, input("BAD5")).await;
        assert_eq!(answer.status, 400, "{key:?}: {:?}", answer.json());
        assert_eq!(
            answer.json()["errors"][0]["extensions"]["code"],
            "INVALID_IDEMPOTENCY_KEY"
        );
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/graphql", server.base()))
        .bearer_auth(WRITER)
        .header("Idempotency-Key", "")
        .json(&json!({ "query": CREATE, "variables": input("BAD5") }))
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status().as_u16(), 400);
    assert_eq!(count_codes(&server.base()).await, 0);
    assert_eq!(provider_creates(&sandbox), (0, 0));
    ok_payload(
        &post(
            &server.base(),
            WRITER,
            Some(&"k".repeat(255)),
            CREATE,
            input("BAD5"),
        )
        .await,
    );
}

async fn a_repeat_waits_for_the_first_and_a_dead_one_is_taken_over(db: TestDb) {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let http = HttpConfig {
        request_timeout: Duration::from_millis(600),
        ..HttpConfig::default()
    };
    let server = serve(&db.url, &sandbox, http).await;
    // A request that claimed the key and then died: its row stays in progress.
    let db_conn = promohub_domain::store::connect(&db.url).await.expect("db");
    let variables = input("DEAD6");
    let hash = promohub_graphql::http::idempotency::request_hash(CREATE, None, Some(&variables));
    let scope = promohub_domain::idempotency::token_scope(WRITER);
    let claimed =
        promohub_domain::idempotency::claim(&db_conn, &scope, "dead-6", &hash, chrono::Utc::now())
            .await
            .expect("claim");
    assert!(claimed.is_some());
    let waited = post(
        &server.base(),
        WRITER,
        Some("dead-6"),
        CREATE,
        variables.clone(),
    )
    .await;
    assert_eq!(waited.status, 409, "{:?}", waited.json());
    assert_eq!(
        waited.json()["errors"][0]["extensions"]["code"],
        "IDEMPOTENCY_KEY_IN_PROGRESS"
    );
    assert_eq!(count_codes(&server.base()).await, 0, "nothing ran");
    // Past the request timeout and the margin, the key is taken over and the request runs.
    let long_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::ClaimedAt, Expr::value(long_ago))
        .filter(idempotency_key::Column::IdempotencyKey.eq("dead-6"))
        .exec(&db_conn)
        .await
        .expect("age the claim");
    let taken = post(
        &server.base(),
        WRITER,
        Some("dead-6"),
        CREATE,
        variables.clone(),
    )
    .await;
    ok_payload(&taken);
    assert!(!taken.replayed);
    let replay = post(&server.base(), WRITER, Some("dead-6"), CREATE, variables).await;
    assert!(replay.replayed);
    assert_eq!(replay.body, taken.body);
    assert_eq!(provider_creates(&sandbox), (1, 1));
}
