//! The real `promohub` executable, configured only through the environment as runtime.md says:
//! migrations on start (SQLite and PostgreSQL), the API answering, SIGTERM ending it with 0.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use promohub_domain::testing::TestDb;
use promohub_sandbox::{Provider, RunningSandbox, SandboxConfig};
use serde_json::{Value, json};

const TOKEN: &str = "binary-test-write-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run_binary(db: TestDb) {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_promohub"));
    command
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PROMOHUB_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &db.url)
        .env("PROMOHUB_API_TOKENS", format!("write:{TOKEN}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (provider, prefix) in [
        (Provider::Flex, "FLEX"),
        (Provider::Fynn, "FYNN"),
        (Provider::Whop, "WHOP"),
    ] {
        command
            .env(format!("{prefix}_API_URL"), sandbox.base_url(provider))
            .env(format!("{prefix}_API_KEY"), sandbox.key(provider));
    }
    let mut child = Running(command.spawn().expect("promohub starts"));
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(
            child.0.try_wait().expect("status").is_none(),
            "promohub exited early"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "promohub never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body: Value = http
        .post(format!("{base}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": "mutation { createPromoCode(input: { code: \"BINARY1\", discount: { type: PERCENTAGE, percentOff: 5 }, providers: [WHOP] }) { promoCode { providers { state } } userErrors { code } } }" }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body["data"]["createPromoCode"]["promoCode"]["providers"][0]["state"], "SYNCED",
        "{body}"
    );

    let pid = child.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("status") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "promohub did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_on_sqlite_from_the_environment_and_stops_on_sigterm() {
    run_binary(promohub_domain::testing::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_on_postgres_from_the_environment_and_stops_on_sigterm() {
    if let Some(db) = promohub_domain::testing::postgres().await {
        run_binary(db).await;
    }
}
