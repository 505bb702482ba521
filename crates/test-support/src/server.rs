//! A `promohub` server in the test's process: an ephemeral port, a test database, the provider
//! sandboxes as providers, and the requests the tests of the HTTP surface make to it.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use promohub_domain::Provider;
use promohub_domain::providers::ProviderConfig;
use promohub_domain::service::ServiceConfig;
use promohub_graphql::Config;
use promohub_graphql::http::{HttpConfig, Tokens};
use promohub_sandbox::{Provider as SandboxProvider, RunningSandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::{KillOnDrop, TestDb};

/// The write token of [`server_config`].
pub const WRITER: &str = "writer-token-0001";
/// The read token of [`server_config`].
pub const READER: &str = "reader-token-0001";
/// How the server names [`WRITER`] as an actor (the first configured token).
pub const WRITER_ACTOR: &str = "write-token-1";

/// How long a server may take to answer `/readyz`: a loaded CI machine migrates slowly.
const START_WITHIN: Duration = Duration::from_secs(30);
/// How long one request of a test, or a graceful stop, may take before the test fails: no
/// test waits without end on a server that stalled.
const REQUEST_WITHIN: Duration = Duration::from_secs(30);

/// An HTTP client whose every request has a deadline.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_WITHIN)
        .build()
        .expect("an HTTP client builds")
}

/// A server's configuration for tests: the three providers at `sandbox`, [`WRITER`] and
/// [`READER`], retries in milliseconds, no periodic pull (a test pulls when it means to).
pub fn server_config(database_url: &str, sandbox: &RunningSandbox) -> Config {
    let providers = [
        (Provider::Flex, SandboxProvider::Flex),
        (Provider::Fynn, SandboxProvider::Fynn),
        (Provider::Whop, SandboxProvider::Whop),
    ]
    .into_iter()
    .map(|(p, e)| (p, ProviderConfig::new(sandbox.base_url(e), sandbox.key(e))))
    .collect();
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: database_url.to_string(),
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
    }
}

/// `promohub_graphql::serve` on an ephemeral port, ready once `start` returns; told to stop
/// when dropped.
pub struct InProcessServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcessServer {
    /// Serves `config` (its `listen` is ignored) and waits until `/readyz` answers 200.
    pub async fn start(config: Config) -> Self {
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
            stop: Some(stop),
            task: Some(task),
        };
        wait_until_ready(&server.base(), START_WITHIN, || {
            server.task.as_ref().is_some_and(|t| t.is_finished())
        })
        .await;
        server
    }

    /// `http://` and the address.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops it gracefully; what `serve` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => tokio::time::timeout(REQUEST_WITHIN, task)
                .await
                .unwrap_or_else(|_| panic!("the server did not stop within {REQUEST_WITHIN:?}"))
                .expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A server with its own sandbox and database, and a client to talk to it.
pub struct TestServer {
    pub server: InProcessServer,
    pub addr: SocketAddr,
    pub sandbox: RunningSandbox,
    pub http: reqwest::Client,
    pub db: TestDb,
}

impl TestServer {
    /// [`server_config`] on `db` and a fresh sandbox.
    pub async fn start(db: TestDb) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// The same, with `adjust` changing the configuration first.
    pub async fn start_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        let sandbox = RunningSandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox");
        let mut config = server_config(&db.url, &sandbox);
        adjust(&mut config);
        Self::serve(config, sandbox, db).await
    }

    /// Serves a configuration the test made itself.
    pub async fn serve(config: Config, sandbox: RunningSandbox, db: TestDb) -> Self {
        let server = InProcessServer::start(config).await;
        Self {
            addr: server.addr,
            server,
            sandbox,
            http: http_client(),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// GETs `path`; None when the request fails.
    pub async fn get(&self, path: &str) -> Option<reqwest::Response> {
        self.http.get(self.url(path)).send().await.ok()
    }

    /// POSTs a GraphQL request, with or without a token; the status and the JSON body.
    pub async fn gql<'a>(
        &self,
        token: impl Into<Option<&'a str>>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token.into() {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
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

    /// [`Self::ok`] with the write token.
    pub async fn write(&self, query: &str, variables: Value) -> Value {
        self.ok(WRITER, query, variables).await
    }

    /// Creates a code through the API; its id.
    pub async fn create(&self, input: Value) -> String {
        let data = self
            .write(
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

    /// Stops the server gracefully; what `serve` returned.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}

/// POSTs a GraphQL request to the server at `base` with `token`; the JSON body.
pub async fn graphql_body(base: &str, token: &str, query: &str, variables: Value) -> Value {
    http_client()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// The same; its `data`, which must come without errors.
pub async fn graphql_data(base: &str, token: &str, query: &str, variables: Value) -> Value {
    let body = graphql_body(base, token, query, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// Polls `base`/readyz until it answers 200; panics when `exited()` says the server is gone
/// or after `within`.
pub async fn wait_until_ready(base: &str, within: Duration, mut exited: impl FnMut() -> bool) {
    let http = http_client();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(!exited(), "the server at {base} exited before it was ready");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server at {base} was not ready within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `/metrics` of `addr` until the sample `name` reads `value` (e.g. a subscription is
/// registered, LISTEN is up); panics after `within` with the last reading.
pub async fn wait_for_metric(addr: SocketAddr, name: &str, value: u64, within: Duration) {
    let http = http_client();
    let prefix = format!("{name} ");
    let end = tokio::time::Instant::now() + within;
    loop {
        let seen = match http.get(format!("http://{addr}/metrics")).send().await {
            Ok(response) => response.text().await.ok().and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&prefix))
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Points the `promohub` process `command` at `sandbox` for each of `providers`
/// (`WHOP_API_URL`, `WHOP_API_KEY`, ...).
pub fn use_sandbox<'c>(
    command: &'c mut Command,
    sandbox: &RunningSandbox,
    providers: &[SandboxProvider],
) -> &'c mut Command {
    for &provider in providers {
        let prefix = provider.name().to_ascii_uppercase();
        command
            .env(format!("{prefix}_API_URL"), sandbox.base_url(provider))
            .env(format!("{prefix}_API_KEY"), sandbox.key(provider));
    }
    command
}

/// Spawns the `promohub` process `command`, which listens at `base`, and waits until it is
/// ready; it is killed when the handle is dropped.
pub async fn spawn_ready(command: &mut Command, base: &str) -> KillOnDrop {
    let mut child = KillOnDrop(command.spawn().expect("promohub starts"));
    wait_until_ready(base, START_WITHIN, || child.exited()).await;
    child
}
