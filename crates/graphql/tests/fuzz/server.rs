//! The real `promohub` binary in demo mode (`promohub demo`: in-process provider sandboxes) on a fresh SQLite
//! file in a temp dir, on a port the server picks. Its address comes from the line it prints
//! (`promohub listening on http://...`, as scripts/lib/serve.sh reads it); in demo mode without
//! configured tokens, the write token comes from its banner.

use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::time::Duration;

/// Which tokens the server has.
pub enum Tokens {
    /// None configured: demo mode prints a development write token, read from stdout.
    Demo,
    /// `PROMOHUB_API_TOKENS` with one write and one read token, so a read-only caller can be
    /// fuzzed too (still demo mode: no provider is configured).
    WriteAndRead,
}

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub write_token: String,
    /// Only with [`Tokens::WriteAndRead`].
    pub read_token: Option<String>,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Server {
    pub async fn start(tokens: Tokens) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let stdout = dir.path().join("server.out");
        let stderr = dir.path().join("server.err");
        // No periodic pull from the sandboxes (the command's default): the fuzzer's requests
        // are the only load.
        let mut command =
            promohub_test_support::promohub_command(env!("CARGO_BIN_EXE_promohub"), dir.path());
        command
            .arg("demo")
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let mut configured = None;
        if let Tokens::WriteAndRead = tokens {
            let (write, read) = (
                format!("fuzz-write-{}", random_hex()),
                format!("fuzz-read-{}", random_hex()),
            );
            command.env("PROMOHUB_API_TOKENS", format!("write:{write},read:{read}"));
            configured = Some((write, read));
        }
        let child = command.spawn().expect("promohub starts");
        let mut server = Server {
            child,
            base: String::new(),
            write_token: String::new(),
            read_token: None,
            stderr,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
            let base = printed
                .lines()
                .find_map(|l| l.strip_prefix("promohub listening on "))
                .map(str::trim);
            let demo_token = printed
                .lines()
                .find_map(|l| l.trim().strip_prefix("development token (write): "))
                .map(str::trim);
            if let Some(base) = base {
                let token = match (&configured, demo_token) {
                    (Some((write, _)), _) => Some(write.clone()),
                    (None, Some(token)) => Some(token.to_string()),
                    (None, None) => None,
                };
                if let Some(token) = token
                    && let Ok(r) = http.get(format!("{base}/healthz")).send().await
                    && r.status() == 200
                {
                    server.base = base.to_string();
                    server.write_token = token;
                    server.read_token = configured.map(|(_, read)| read);
                    return server;
                }
            }
            if let Some(status) = server.exited() {
                panic!(
                    "promohub exited while starting ({status}):\n{printed}\n{}",
                    server.stderr_tail()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "promohub did not start within 60 s:\n{printed}\n{}",
                server.stderr_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The exit status once the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("process status")
    }

    /// The last lines the server wrote to stderr (a panic message or "stack overflow").
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("server stderr (last 20 lines):\n{tail}")
    }

    /// A GraphQL request with the write token, answered as JSON.
    pub async fn graphql(
        &self,
        http: &reqwest::Client,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        http.post(format!("{}/graphql", self.base))
            .bearer_auth(&self.write_token)
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON answer")
    }
}
