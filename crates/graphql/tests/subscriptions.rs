//! Subscriptions end to end over real WebSockets with a graphql-transport-ws client written
//! here (tokio-tungstenite): changes made through the GraphQL API arrive in order, a filter by
//! id holds, bad tokens and protocol errors close as the protocol says, limits apply; on
//! PostgreSQL, two `promohub` processes on one database tell each other's subscribers.

use std::net::SocketAddr;
use std::time::Duration;

use futures::SinkExt;
use promohub_graphql::http::HttpConfig;
use promohub_sandbox::{Provider as Emulated, Redemption};
use promohub_test_support::server::{self, READER, TestServer, WRITER};
use promohub_test_support::{TestDb, on_both_databases};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use ws_client::{Client, WAIT};

mod history_events;
mod ws_client;

on_both_databases!(
    changes_arrive_in_order_over_a_websocket,
    a_filter_by_id_receives_only_that_codes_events,
    a_bulk_jobs_progress_arrives_until_it_is_done,
    each_change_carries_the_entry_the_history_lists,
    an_entry_larger_than_a_notify_payload_arrives_whole,
);

/// A server whose event bus is listening (on PostgreSQL: its LISTEN connection is up).
async fn start(db: TestDb, http: HttpConfig) -> TestServer {
    let server = TestServer::start_with(db, |config| config.http = http).await;
    wait_for_metric(server.addr, "promohub_events_listening", 1).await;
    server
}

async fn wait_for_metric(addr: SocketAddr, name: &str, value: u64) {
    server::wait_for_metric(addr, name, value, WAIT).await;
}

/// A GraphQL mutation over HTTP with the write token; the data.
async fn write(addr: SocketAddr, query: &str, variables: Value) -> Value {
    server::graphql_data(&format!("http://{addr}"), WRITER, query, variables).await
}

async fn create(addr: SocketAddr, code: &str) -> String {
    let data = write(
        addr,
        "mutation($code: String!) { createPromoCode(input: { code: $code, discount: { type: PERCENTAGE, percentOff: 10 }, providers: [WHOP] }) { promoCode { id } userErrors { message } } }",
        json!({ "code": code }),
    )
    .await;
    data["createPromoCode"]["promoCode"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("created: {data}"))
        .to_string()
}

async fn rename(addr: SocketAddr, id: &str, name: &str) {
    history_events::rename(addr, WRITER, id, name).await;
}

const CODE_CHANGED: &str = "subscription($id: ID) { promoCodeChanged(id: $id) { id action version promoCode { code name status } } }";

async fn changes_arrive_in_order_over_a_websocket(db: TestDb) {
    let server = start(db, HttpConfig::default()).await;
    // A read token may subscribe.
    let mut client = Client::connect(server.addr, "/graphql", READER).await;
    client.subscribe("codes", CODE_CHANGED, json!({})).await;
    client
        .subscribe(
            "whop",
            "subscription { providerSyncChanged(provider: WHOP) { promoCodeId provider state lastError } }",
            json!({}),
        )
        .await;
    wait_for_metric(server.addr, "promohub_event_subscribers", 2).await;
    let id = create(server.addr, "WS_ORDER_1").await;
    rename(server.addr, &id, "renamed").await;
    write(
        server.addr,
        "mutation($id: ID!) { archivePromoCode(id: $id) { userErrors { message } } }",
        json!({ "id": id }),
    )
    .await;
    let (mut codes, mut links) = (Vec::new(), Vec::new());
    while codes.len() < 3 || links.len() < 3 {
        let message = client.message().await;
        assert_eq!(message["type"], "next", "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        match message["id"].as_str() {
            Some("codes") => codes.push(message["payload"]["data"]["promoCodeChanged"].clone()),
            Some("whop") => links.push(message["payload"]["data"]["providerSyncChanged"].clone()),
            _ => panic!("{message}"),
        }
    }
    let told: Vec<(String, i64)> = codes
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or("").to_string(),
                c["version"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        told,
        [
            ("create".into(), 1),
            ("update".into(), 2),
            ("archive".into(), 3)
        ]
    );
    for event in &codes {
        assert_eq!(event["id"], id.as_str());
        assert_eq!(event["promoCode"]["code"], "WS_ORDER_1");
    }
    assert_eq!(codes[2]["promoCode"]["status"], "ARCHIVED");
    for link in &links {
        assert_eq!(link["promoCodeId"], id.as_str());
        assert_eq!(link["provider"], "WHOP");
        assert_eq!(link["state"], "SYNCED");
        assert_eq!(link["lastError"], Value::Null);
    }
    // complete: that subscription stops, the other goes on.
    client
        .send(json!({ "type": "complete", "id": "whop" }))
        .await;
    wait_for_metric(server.addr, "promohub_event_subscribers", 1).await;
    rename(server.addr, &create(server.addr, "WS_ORDER_2").await, "x").await;
    assert_eq!(
        client.next_data("codes").await["promoCodeChanged"]["action"],
        "create"
    );
    assert_eq!(
        client.next_data("codes").await["promoCodeChanged"]["action"],
        "update"
    );
}

async fn a_filter_by_id_receives_only_that_codes_events(db: TestDb) {
    let server = start(db, HttpConfig::default()).await;
    let mine = create(server.addr, "WS_MINE").await;
    let other = create(server.addr, "WS_OTHER").await;
    let mut client = Client::connect(server.addr, "/graphql/ws", WRITER).await;
    client
        .subscribe("mine", CODE_CHANGED, json!({ "id": mine }))
        .await;
    wait_for_metric(server.addr, "promohub_event_subscribers", 1).await;
    rename(server.addr, &other, "other 1").await;
    rename(server.addr, &mine, "mine 1").await;
    rename(server.addr, &other, "other 2").await;
    rename(server.addr, &mine, "mine 2").await;
    for (version, name) in [(2, "mine 1"), (3, "mine 2")] {
        let event = client.next_data("mine").await["promoCodeChanged"].clone();
        assert_eq!(event["id"], mine.as_str(), "{event}");
        assert_eq!(event["version"], version, "{event}");
        if version == 3 {
            assert_eq!(event["promoCode"]["name"], name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_protocol_errors_close_the_socket() {
    let server = start(promohub_test_support::sqlite(), HttpConfig::default()).await;
    let addr = server.addr;
    let mut bad = Client::open(addr, "/graphql").await;
    bad.send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer not-a-token-at-all" } }))
        .await;
    assert_eq!(bad.closed().await.0, 4403);
    let mut missing = Client::open(addr, "/graphql").await;
    missing.send(json!({ "type": "connection_init" })).await;
    assert_eq!(missing.closed().await.0, 4403);
    let mut early = Client::open(addr, "/graphql").await;
    early.subscribe("1", CODE_CHANGED, json!({})).await;
    assert_eq!(early.closed().await.0, 4401);
    let mut twice = Client::connect(addr, "/graphql", READER).await;
    twice.send(json!({ "type": "connection_init" })).await;
    assert_eq!(twice.closed().await.0, 4429);
    let mut garbage = Client::connect(addr, "/graphql", READER).await;
    garbage
        .0
        .send(Message::Text("{not json".into()))
        .await
        .expect("send");
    assert_eq!(garbage.closed().await.0, 4400);
    let mut same_id = Client::connect(addr, "/graphql", READER).await;
    same_id.subscribe("1", CODE_CHANGED, json!({})).await;
    same_id.subscribe("1", CODE_CHANGED, json!({})).await;
    assert_eq!(same_id.closed().await.0, 4409);
    // Without the subprotocol: refused before the upgrade.
    let refused = reqwest::Client::new()
        .get(format!("http://{addr}/graphql"))
        .header("Connection", "upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 400);
    // GET /graphql without an upgrade still answers queries.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/graphql?query=%7B__typename%7D"))
        .bearer_auth(READER)
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_held_to_the_request_limits_and_a_cap_per_connection() {
    let mut http = HttpConfig::default();
    http.ws.max_subscriptions = 2;
    http.ws.init_timeout = Duration::from_millis(300);
    http.limits.max_depth = 3;
    let server = start(promohub_test_support::sqlite(), http).await;
    let mut client = Client::connect(server.addr, "/graphql", READER).await;
    client
        .subscribe(
            "deep",
            "subscription { promoCodeChanged { promoCode { providers { provider } } } }",
            json!({}),
        )
        .await;
    let refused = client.message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "deep");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED"
    );
    assert_eq!(
        refused["payload"][0]["extensions"]["setting"],
        "PROMOHUB_MAX_QUERY_DEPTH"
    );
    client.subscribe("query", "{ __typename }", json!({})).await;
    let refused = client.message().await;
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "OPERATION_NOT_SUPPORTED",
        "{refused}"
    );
    for id in ["a", "b"] {
        client
            .subscribe(id, "subscription { promoCodeChanged { id } }", json!({}))
            .await;
    }
    client
        .subscribe("c", "subscription { promoCodeChanged { id } }", json!({}))
        .await;
    let refused = client.message().await;
    assert_eq!(refused["id"], "c", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["setting"],
        "PROMOHUB_MAX_SUBSCRIPTIONS_PER_CONNECTION"
    );
    // The two accepted ones still work.
    wait_for_metric(server.addr, "promohub_event_subscribers", 2).await;
    create(server.addr, "WS_CAPPED").await;
    let mut seen = vec![
        client.message().await["id"].clone(),
        client.message().await["id"].clone(),
    ];
    seen.sort_by_key(|v| v.to_string());
    assert_eq!(seen, [json!("a"), json!("b")]);
    // A socket that never sends connection_init is closed.
    let mut silent = Client::open(server.addr, "/graphql").await;
    assert_eq!(silent.closed().await.0, 4408);
}

async fn a_bulk_jobs_progress_arrives_until_it_is_done(db: TestDb) {
    let server = start(db, HttpConfig::default()).await;
    let mut client = Client::connect(server.addr, "/graphql", READER).await;
    let answer = write(
        server.addr,
        "mutation($input: GeneratePromoCodesInput!) { generatePromoCodes(input: $input) { \
         bulkJob { id total } userErrors { field message } } }",
        json!({ "input": {
            "count": 2500, "pattern": "WSBULK-######",
            "discount": { "type": "PERCENTAGE", "percentOff": 10 }, "providers": ["WHOP"],
        } }),
    )
    .await;
    let job = &answer["generatePromoCodes"]["bulkJob"];
    let id = job["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a job: {answer}"));
    client
        .subscribe(
            "job",
            "subscription($id: ID!) { bulkJobProgress(id: $id) { id state total created } }",
            json!({ "id": id }),
        )
        .await;
    // Batches of 1,000 as they are stored (the first may come before the subscription does),
    // then DONE with every code made; never backwards.
    let mut created = Vec::new();
    loop {
        let progress = client.next_data("job").await["bulkJobProgress"].clone();
        assert_eq!(progress["id"], id);
        assert_eq!(progress["total"], 2500);
        created.push(progress["created"].as_i64().unwrap_or(-1));
        if progress["state"] == "DONE" {
            break;
        }
    }
    assert_eq!(created.last(), Some(&2500), "{created:?}");
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
}

/// The next `promoCodeChanged` of subscription `sub`, with its action asserted.
async fn change(client: &mut Client, sub: &str, action: &str) -> Value {
    let event = client.next_data(sub).await["promoCodeChanged"].clone();
    assert_eq!(event["action"], action, "{event}");
    event
}

async fn sync_whop(addr: SocketAddr) -> Value {
    let query = "mutation { syncFromProviders(provider: WHOP) { imported updated errors } }";
    write(addr, query, json!({})).await["syncFromProviders"].clone()
}

/// Every kind of audited change a promoCodeChanged tells (import, a change a sync saw,
/// archive, create, update, drift adopted and pushed) carries the entry the history lists.
async fn each_change_carries_the_entry_the_history_lists(db: TestDb) {
    let server = start(db, HttpConfig::default()).await;
    let (addr, whop) = (server.addr, &server.sandbox);
    let mut client = Client::connect(addr, "/graphql", READER).await;
    let subscription = history_events::subscription();
    client.subscribe("all", &subscription, json!({})).await;
    wait_for_metric(addr, "promohub_event_subscribers", 1).await;
    let http = reqwest::Client::new();
    let on_whop = |path: String, body: Value| {
        let request = http
            .post(format!(
                "{}/v2/promo_codes{path}",
                whop.base_url(Emulated::Whop)
            ))
            .bearer_auth(whop.key(Emulated::Whop))
            .json(&body);
        async move {
            let status = request.send().await.expect("Whop answers").status();
            assert_eq!(status.as_u16(), 201, "changed on Whop");
        }
    };

    // Made on Whop, imported, redeemed there, archived here.
    let made = json!({ "code": "WS_MADE_ON_WHOP", "amount_off": 5, "base_currency": "usd",
        "promo_type": "flat_amount", "stock": 3, "unlimited_stock": false,
        "number_of_intervals": 0, "plan_ids": [] });
    on_whop(String::new(), made).await;
    assert_eq!(sync_whop(addr).await["imported"], 1);
    let event = change(&mut client, "all", "import").await;
    let entry = history_events::assert_newest(addr, READER, &event).await;
    assert_eq!(
        (&entry["actor"], &entry["details"]["provider"]),
        (&json!("sync"), &json!("WHOP"))
    );
    let imported = event["id"].as_str().expect("id").to_string();
    let redemption = Redemption {
        code: Some("WS_MADE_ON_WHOP".into()),
        ..Redemption::default()
    };
    whop.state()
        .redeem(Emulated::Whop, &redemption)
        .expect("redeemed");
    assert_eq!(sync_whop(addr).await["updated"], 1);
    let event = change(&mut client, "all", "provider_change").await;
    let entry = history_events::assert_newest(addr, READER, &event).await;
    assert_eq!(entry["changes"][0]["field"], "providers.WHOP.timesRedeemed");
    let archive = "mutation($id: ID!) { archivePromoCode(id: $id) { userErrors { message } } }";
    write(addr, archive, json!({ "id": imported })).await;
    let event = change(&mut client, "all", "archive").await;
    history_events::assert_newest(addr, READER, &event).await;

    // Made here, renamed, turned off on Whop (seen by a sync), adopted, then pushed back.
    let id = create(addr, "WS_HISTORY").await;
    let event = change(&mut client, "all", "create").await;
    assert_eq!(event["id"], id.as_str());
    history_events::assert_newest(addr, READER, &event).await;
    rename(addr, &id, "renamed").await;
    let event = change(&mut client, "all", "update").await;
    history_events::assert_newest(addr, READER, &event).await;
    let external = "query($id: ID!) { promoCode(id: $id) { providers { externalId } } }";
    let data = write(addr, external, json!({ "id": id })).await;
    let external = data["promoCode"]["providers"][0]["externalId"]
        .as_str()
        .unwrap_or_else(|| panic!("on Whop: {data}"))
        .to_string();
    on_whop(format!("/{external}"), json!({ "status": "inactive" })).await;
    sync_whop(addr).await;
    let event = change(&mut client, "all", "provider_change").await;
    let entry = history_events::assert_newest(addr, READER, &event).await;
    assert_eq!(
        entry["changes"][0]["after"], "DISABLED_ON_PROVIDER",
        "{entry}"
    );
    let resolve = "mutation($id: ID!, $strategy: DriftStrategy!) {
      resolveDrift(id: $id, provider: WHOP, strategy: $strategy) { userErrors { message } } }";
    write(
        addr,
        resolve,
        json!({ "id": id, "strategy": "ADOPT_THEIRS" }),
    )
    .await;
    let event = change(&mut client, "all", "adopt_provider_state").await;
    history_events::assert_newest(addr, READER, &event).await;
    on_whop(format!("/{external}"), json!({ "status": "active" })).await;
    write(addr, resolve, json!({ "id": id, "strategy": "PUSH_OURS" })).await;
    let event = change(&mut client, "all", "push_to_provider").await;
    history_events::assert_newest(addr, READER, &event).await;
}

/// An entry far larger than a NOTIFY payload may be (8000 bytes) arrives whole: the event
/// names it, the subscriber's server reads it.
async fn an_entry_larger_than_a_notify_payload_arrives_whole(db: TestDb) {
    let server = start(db, HttpConfig::default()).await;
    let addr = server.addr;
    let create = "mutation($metadata: JSON!) { createPromoCode(input: { code: \"WS_LARGE\", \
        discount: { type: PERCENTAGE, percentOff: 10 }, providers: [WHOP], metadata: $metadata }) \
        { promoCode { id } userErrors { field message } } }";
    let mut client = Client::connect(addr, "/graphql", READER).await;
    client
        .subscribe("all", &history_events::subscription(), json!({}))
        .await;
    wait_for_metric(addr, "promohub_event_subscribers", 1).await;
    let metadata = history_events::large_metadata(16, 'a');
    let data = write(addr, create, json!({ "metadata": metadata })).await;
    let id = data["createPromoCode"]["promoCode"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("created: {data}"))
        .to_string();
    let event = change(&mut client, "all", "create").await;
    let entry = history_events::assert_newest(addr, READER, &event).await;
    assert!(
        history_events::bytes(&entry) > 8000,
        "{}",
        history_events::bytes(&entry)
    );
    let update = "mutation($id: ID!, $metadata: JSON!) { updatePromoCode(id: $id, input: \
        { metadata: $metadata }) { userErrors { field message } } }";
    // Two changes before either event is read: each event has its own entry, not the newest.
    for fill in ['b', 'c'] {
        let metadata = history_events::large_metadata(16, fill);
        write(addr, update, json!({ "id": id, "metadata": metadata })).await;
    }
    let (first, second) = (
        change(&mut client, "all", "update").await,
        change(&mut client, "all", "update").await,
    );
    let listed = history_events::edges(addr, READER, &id, 2).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let entry = history_events::assert_same(&second, &listed[0]);
    assert!(
        history_events::bytes(&entry) > 15000,
        "{}",
        history_events::bytes(&entry)
    );
    history_events::assert_same(&first, &listed[1]);
}
