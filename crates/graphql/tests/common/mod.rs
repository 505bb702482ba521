//! A `promohub` server on an ephemeral port over a test database, with the three provider
//! sandboxes configured, for the tests of history and export (tests/api.rs has its own, with
//! more knobs).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use promohub_domain::providers::ProviderConfig;
use promohub_domain::{Provider, ServiceConfig};
use promohub_graphql::Config;
use promohub_graphql::http::{HttpConfig, Tokens};
use promohub_sandbox::{Provider as Emulated, RunningSandbox, SandboxConfig};
use promohub_test_support::TestDb;
use serde_json::{Value, json};

pub const WRITER: &str = "writer-token-0001";
pub const READER: &str = "reader-token-0001";
/// How the server names the writer in history (the first configured token).
pub const WRITER_ACTOR: &str = "write-token-1";

pub struct TestServer {
    pub addr: SocketAddr,
    pub sandbox: RunningSandbox,
    pub http: reqwest::Client,
    pub db_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _db: TestDb,
}

impl TestServer {
    pub async fn start(db: TestDb) -> Self {
        let sandbox = RunningSandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox");
        let providers = [
            (Provider::Flex, Emulated::Flex),
            (Provider::Fynn, Emulated::Fynn),
            (Provider::Whop, Emulated::Whop),
        ]
        .into_iter()
        .map(|(p, e)| (p, ProviderConfig::new(sandbox.base_url(e), sandbox.key(e))))
        .collect();
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            database_url: db.url.clone(),
            tokens: Some(Tokens::parse(&format!("write:{WRITER},read:{READER}")).expect("tokens")),
            demo: false,
            providers,
            service: ServiceConfig {
                retry_base: Duration::from_millis(20),
                poll_interval: Duration::from_millis(20),
                sync_interval: None,
                ..ServiceConfig::default()
            },
            cors_origins: Vec::new(),
            http: HttpConfig::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(promohub_graphql::serve(config, listener, async {
            let _ = stopped.await;
        }));
        let server = Self {
            addr,
            sandbox,
            http: reqwest::Client::new(),
            db_url: db.url.clone(),
            stop: Some(stop),
            task: Some(task),
            _db: db,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let up = server.http.get(server.url("/healthz")).send().await;
            if up.is_ok_and(|r| r.status().as_u16() == 200) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs a GraphQL request; the status and the JSON body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A request that must succeed without errors; its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(token, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    /// Creates a code through the API; its id.
    pub async fn create(&self, input: Value) -> String {
        let data = self
            .ok(
                WRITER,
                "mutation($input: CreatePromoCodeInput!) { createPromoCode(input: $input) {
                   promoCode { id } userErrors { field code message } } }",
                json!({ "input": input }),
            )
            .await;
        let payload = &data["createPromoCode"];
        assert_eq!(payload["userErrors"], json!([]), "{payload}");
        payload["promoCode"]["id"]
            .as_str()
            .expect("an id")
            .to_string()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
    }
}
