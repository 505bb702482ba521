//! Two `promohub` processes on one PostgreSQL database: a change made through one reaches the
//! subscribers of both, each exactly once (NOTIFY/LISTEN); when a process's LISTEN connection
//! is killed, its subscribers are told they may have missed events and events flow again.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use promohub_sandbox::{Provider, RunningSandbox, SandboxConfig};
use promohub_test_support::server;
use promohub_test_support::{KillOnDrop, TestDb, free_port, promohub_command};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use ws_client::Client;

mod history_events;
mod ws_client;

const TOKEN: &str = "replica-test-write-token";

/// A `promohub serve` on `database_url` writing to Whop at `sandbox`. Not yet ready: a test
/// waits for its LISTEN connection.
fn replica(database_url: &str, sandbox: &RunningSandbox) -> (KillOnDrop, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = promohub_command(env!("CARGO_BIN_EXE_promohub"), dir.path());
    server::use_sandbox(&mut command, sandbox, &[Provider::Whop])
        .arg("serve")
        .env("PROMOHUB_LISTEN", addr.to_string())
        .env("DATABASE_URL", database_url)
        .env("PROMOHUB_API_TOKENS", format!("write:{TOKEN}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (KillOnDrop(command.spawn().expect("promohub starts")), addr)
}

/// Two replicas on one database writing to a fresh sandbox, each with its LISTEN connection up.
async fn two_replicas(
    db: &TestDb,
) -> (
    RunningSandbox,
    (KillOnDrop, SocketAddr),
    (KillOnDrop, SocketAddr),
) {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let a = replica(&db.url, &sandbox);
    let b = replica(&db.url, &sandbox);
    for (_, addr) in [&a, &b] {
        wait_for_metric(*addr, "promohub_events_listening", 1).await;
    }
    (sandbox, a, b)
}

/// Polls `/metrics` of `addr` until `name` reads `value`.
async fn wait_for_metric(addr: SocketAddr, name: &str, value: u64) {
    server::wait_for_metric(addr, name, value, Duration::from_secs(30)).await;
}

async fn write(addr: SocketAddr, query: &str, variables: Value) -> Value {
    server::graphql_data(&format!("http://{addr}"), TOKEN, query, variables).await
}

async fn rename(addr: SocketAddr, id: &str, name: &str) {
    history_events::rename(addr, TOKEN, id, name).await;
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
    let (_sandbox, (_a, a), (_b, b)) = two_replicas(&db).await;
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
    let (_sandbox, (_a, a), (_b, b)) = two_replicas(&db).await;
    let subscription = history_events::subscription();
    let mut clients = Vec::new();
    for addr in [a, b] {
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
