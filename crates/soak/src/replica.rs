//! One `promohub serve` process of the soak run, on a fixed port so it can be restarted there.

use std::fs::OpenOptions;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use promohub_sandbox::{Provider, RunningSandbox};

use crate::Settings;

pub struct Replica {
    pub name: &'static str,
    port: u16,
    binary: String,
    env: Vec<(String, String)>,
    log: String,
    child: Option<Child>,
}

impl Replica {
    pub fn new(
        name: &'static str,
        settings: &Settings,
        database_url: &str,
        sandbox: &RunningSandbox,
        token: &str,
        log_dir: &str,
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let mut env = vec![
            ("PROMOHUB_LISTEN".into(), format!("127.0.0.1:{port}")),
            ("DATABASE_URL".into(), database_url.to_string()),
            ("PROMOHUB_API_TOKENS".into(), format!("write:{token}")),
            (
                "PROMOHUB_LEASE_SECS".into(),
                settings.lease_secs.to_string(),
            ),
            ("PROMOHUB_SYNC_RETRY_BASE_MS".into(), "200".into()),
            ("PROMOHUB_SYNC_MAX_ATTEMPTS".into(), "40".into()),
            ("PROMOHUB_SYNC_INTERVAL_SECS".into(), "0".into()),
            ("PROMOHUB_PROVIDER_TIMEOUT_MS".into(), "3000".into()),
            ("PROMOHUB_REQUEST_TIMEOUT_MS".into(), "10000".into()),
            ("PROMOHUB_WHOP_RATE_LIMIT".into(), "none".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        for (provider, prefix) in [
            (Provider::Flex, "FLEX"),
            (Provider::Fynn, "FYNN"),
            (Provider::Whop, "WHOP"),
        ] {
            env.push((format!("{prefix}_API_URL"), sandbox.base_url(provider)));
            env.push((
                format!("{prefix}_API_KEY"),
                sandbox.key(provider).to_string(),
            ));
        }
        Ok(Self {
            name,
            port,
            binary: settings.binary.clone(),
            env,
            log: format!("{log_dir}/replica-{name}.log"),
            child: None,
        })
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log))?;
        let child = Command::new(&self.binary)
            .arg("serve")
            .env_clear()
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.binary))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown, no cleanup.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("SIGKILL")?;
            child.wait().context("reaping a killed replica")?;
        }
        Ok(())
    }

    pub async fn wait_ready(&self, within: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + within;
        loop {
            let ready = http
                .get(format!("{}/readyz", self.base()))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "replica {} not ready within {within:?} (see {})",
                    self.name,
                    self.log
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
