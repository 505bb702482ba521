//! Two `promohub` processes on one PostgreSQL database: a change made through one reaches the
//! subscribers of both, each exactly once (NOTIFY/LISTEN); when a process's LISTEN connection
//! is killed, its subscribers are told they may have missed events and events flow again.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use promohub_sandbox::{Provider, RunningSandbox, SandboxConfig};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use ws_client::Client;

mod history_events;
mod ws_client;

const TOKEN: &str = "replica-test-write-token";

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn replica(database_url: &str, sandbox: &RunningSandbox) -> (Running, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    let child = Command::new(env!("CARGO_BIN_EXE_promohub"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PROMOHUB_LISTEN", addr.to_string())
        .env("DATABASE_URL", database_url)
        .env("PROMOHUB_API_TOKENS", format!("write:{TOKEN}"))
        .env("PROMOHUB_SYNC_INTERVAL_SECS", "0")
        .env("WHOP_API_URL", sandbox.base_url(Provider::Whop))
        .env("WHOP_API_KEY", sandbox.key(Provider::Whop))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("promohub starts");
    (Running(child), addr)
}

/// Polls `/metrics` of `addr` until `name` reads `value`.
async fn wait_for_metric(addr: SocketAddr, name: &str, value: u64) {
    let http = reqwest::Client::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = match http.get(format!("http://{addr}/metrics")).send().await {
            Ok(response) => response.text().await.ok().and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name} ")))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            }),
            Err(_) => None,
        };
        if seen == Some(value) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "{addr}: {name} never read {value} (last {seen:?})"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn write(addr: SocketAddr, query: &str, variables: Value) -> Value {
    let body: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn rename(addr: SocketAddr, id: &str, name: &str) {
    write(
        addr,
        "mutation($id: ID!, $name: String!) { updatePromoCode(id: $id, input: { name: $name }) { userErrors { message } } }",
        json!({ "id": id, "name": name }),
    )
    .await;
}

const CHANGED: &str = "subscription { promoCodeChanged { id action version } }";

async fn event(client: &mut Client) -> (String, String, i64) {
    let data = client.next_data("all").await;
    let e = &data["promoCodeChanged"];
    (
        e["id"].as_str().unwrap_or_default().to_string(),
        e["action"].as_str().unwrap_or_default().to_string(),
        e["version"].as_i64().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_process_reaches_the_subscribers_of_both_once() {
    let Some(db) = promohub_test_support::postgres().await else {
        return;
    };
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let (_a, a) = replica(&db.url, &sandbox);
    let (_b, b) = replica(&db.url, &sandbox);
    wait_for_metric(a, "promohub_events_listening", 1).await;
    wait_for_metric(b, "promohub_events_listening", 1).await;
    let mut on_a = Client::connect(a, "/graphql", TOKEN).await;
    let mut on_b = Client::connect(b, "/graphql/ws", TOKEN).await;
    on_a.subscribe("all", CHANGED, json!({})).await;
    on_b.subscribe("all", CHANGED, json!({})).await;
    wait_for_metric(a, "promohub_event_subscribers", 1).await;
    wait_for_metric(b, "promohub_event_subscribers", 1).await;

    let data = write(
        b,
        "mutation { createPromoCode(input: { code: \"REPLICA_1\", discount: { type: PERCENTAGE, percentOff: 5 }, providers: [WHOP] }) { promoCode { id } } }",
        json!({}),
    )
    .await;
    let id = data["createPromoCode"]["promoCode"]["id"]
        .as_str()
        .expect("created")
        .to_string();
    rename(b, &id, "changed on b").await;
    rename(a, &id, "changed on a").await;
    for client in [&mut on_a, &mut on_b] {
        for (action, version) in [("create", 1), ("update", 2), ("update", 3)] {
            assert_eq!(event(client).await, (id.clone(), action.into(), version));
        }
    }

    // Kill A's LISTEN connection: A's subscriber is told, then events flow again.
    let admin = sea_orm::Database::connect(db.url.as_str())
        .await
        .expect("admin connection");
    admin
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        .await
        .expect("terminate the listeners");
    let missed = on_a.message().await;
    assert_eq!(missed["type"], "next", "{missed}");
    assert_eq!(
        missed["payload"]["errors"][0]["extensions"]["code"], "EVENTS_MISSED",
        "{missed}"
    );
    wait_for_metric(a, "promohub_events_listening", 1).await;
    wait_for_metric(b, "promohub_events_listening", 1).await;
    // B's listener was killed as well: skip its notice.
    let notice = on_b.message().await;
    assert_eq!(
        notice["payload"]["errors"][0]["extensions"]["code"], "EVENTS_MISSED",
        "{notice}"
    );
    rename(b, &id, "after the reconnect").await;
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(event(client).await, (id.clone(), "update".into(), 4));
    }
}

/// A change made through B, larger than a NOTIFY payload may be (8000 bytes): the subscribers
/// of A and of B each get the entry the history lists, on either process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_entry_reaches_the_other_process_whole() {
    let Some(db) = promohub_test_support::postgres().await else {
        return;
    };
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let (_a, a) = replica(&db.url, &sandbox);
    let (_b, b) = replica(&db.url, &sandbox);
    let subscription = history_events::subscription();
    let mut clients = Vec::new();
    for addr in [a, b] {
        wait_for_metric(addr, "promohub_events_listening", 1).await;
        let mut client = Client::connect(addr, "/graphql", TOKEN).await;
        client.subscribe("all", &subscription, json!({})).await;
        wait_for_metric(addr, "promohub_event_subscribers", 1).await;
        clients.push(client);
    }
    let create = "mutation($metadata: JSON!) { createPromoCode(input: { code: \"REPLICA_LARGE\", \
        discount: { type: PERCENTAGE, percentOff: 5 }, providers: [WHOP], metadata: $metadata }) \
        { promoCode { id } } }";
    let metadata = history_events::large_metadata(16, 'a');
    let data = write(b, create, json!({ "metadata": metadata })).await;
    let id = data["createPromoCode"]["promoCode"]["id"]
        .as_str()
        .expect("created")
        .to_string();
    let update = "mutation($id: ID!, $metadata: JSON!) { updatePromoCode(id: $id, input: \
        { metadata: $metadata }) { userErrors { message } } }";
    let metadata = history_events::large_metadata(16, 'b');
    write(b, update, json!({ "id": id, "metadata": metadata })).await;
    let listed = history_events::edges(a, TOKEN, &id, 2).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed, history_events::edges(b, TOKEN, &id, 2).await);
    for client in &mut clients {
        for (action, edge) in [("create", &listed[1]), ("update", &listed[0])] {
            let event = client.next_data("all").await["promoCodeChanged"].clone();
            assert_eq!(
                (&event["id"], &event["action"]),
                (&json!(id), &json!(action))
            );
            let entry = history_events::assert_same(&event, edge);
            assert!(history_events::bytes(&entry) > 8000, "{entry}");
        }
    }
}
