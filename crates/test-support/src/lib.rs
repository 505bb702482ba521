//! Test support for every crate's tests (a dev-dependency only: no shipped crate depends on
//! it): databases for tests on SQLite and on a throwaway PostgreSQL cluster that the tests
//! start themselves, services wired to a sandbox, the `promohub` binary as a process, and
//! (feature `server`) a `promohub` server in the test's process.
//!
//! PostgreSQL: `PROMOHUB_TEST_POSTGRES_URL` (a server URL whose user may create databases) is
//! used when set; otherwise the first `initdb` found (`PROMOHUB_PG_BIN`, Debian's
//! `/usr/lib/postgresql/*/bin`, or `pg_config --bindir`) makes a cluster in a temp dir on a free
//! port, run as the `postgres` user when the tests run as root. A watchdog stops it and deletes
//! the dir when the test process ends. With no PostgreSQL at all, a test is skipped with a loud
//! message, except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use promohub_sandbox::{Provider as SandboxProvider, RunningSandbox, SandboxConfig};
use sea_orm::{ConnectionTrait, Database};

use promohub_domain::model::{
    CreatePromoCodeInput, DiscountInput, DiscountType, PromoCode, Provider,
};
use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::providers::{ProviderConfig, Providers};
use promohub_domain::service::{PromoService, ServiceConfig};

mod process;
#[cfg(feature = "server")]
pub mod server;

pub use process::{KillOnDrop, free_port, promohub_command};

/// A database for one test.
pub struct TestDb {
    pub url: String,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite file in a temp dir.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    TestDb {
        url,
        backend: "sqlite",
        _dir: Some(dir),
    }
}

/// A fresh database on PostgreSQL, or None (said loudly) when there is none and CI is not set.
pub async fn postgres() -> Option<TestDb> {
    let server = match server_url() {
        Ok(url) => url,
        Err(reason) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and PostgreSQL is not available: {reason}");
            }
            eprintln!("SKIPPED on PostgreSQL (outside CI): {reason}");
            return None;
        }
    };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(server.as_str())
        .await
        .expect("connect to the test PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create a test database");
    let _ = admin.close().await;
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    Some(TestDb {
        url: format!("{base}/{name}"),
        backend: "postgres",
        _dir: None,
    })
}

fn server_url() -> Result<String, String> {
    if let Ok(url) = std::env::var("PROMOHUB_TEST_POSTGRES_URL") {
        return Ok(url);
    }
    static CLUSTER: OnceLock<Result<String, String>> = OnceLock::new();
    CLUSTER.get_or_init(start_cluster).clone()
}

fn pg_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PROMOHUB_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    // Highest version last (directory names are major versions).
    debian.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(bin) = debian.pop() {
        return Some(bin);
    }
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    dir.join("initdb").exists().then_some(dir)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args...`, as the postgres user when we are root (PostgreSQL refuses to run as root).
fn as_pg_user(root: bool, program: &Path, args: &[&str]) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn start_cluster() -> Result<String, String> {
    let bin = pg_bin_dir().ok_or(
        "no PostgreSQL server binaries (initdb) found; install the \
                                  postgresql package or set PROMOHUB_TEST_POSTGRES_URL",
    )?;
    let root = running_as_root();
    let dir = tempfile::Builder::new()
        .prefix("promohub-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let data = dir.join("data");
    if root {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(&dir);
                c
            },
            "chown the cluster dir to postgres",
        )?;
    }
    let data_arg = data.to_string_lossy().to_string();
    run(
        as_pg_user(
            root,
            &bin.join("initdb"),
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        ),
        "initdb",
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("free port: {e}"))?
        .port();
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    let log = dir.join("postgres.log").to_string_lossy().to_string();
    run(
        as_pg_user(
            root,
            &bin.join("pg_ctl"),
            &["-D", &data_arg, "-o", &options, "-l", &log, "-w", "start"],
        ),
        "pg_ctl start",
    )?;
    // Stops the cluster and deletes its dir once this test process is gone.
    let pg_ctl = bin.join("pg_ctl");
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {stop} -D '{data}' -m immediate stop; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = if root {
            format!("runuser -u postgres -- '{}'", pg_ctl.display())
        } else {
            format!("'{}'", pg_ctl.display())
        },
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// The configured providers, all pointing at `sandbox`.
pub fn sandbox_providers(sandbox: &RunningSandbox, timeout: Duration) -> Providers {
    sandbox_providers_limited(sandbox, timeout, None)
}

/// The same, with a client-side rate limit on Whop.
pub fn sandbox_providers_limited(
    sandbox: &RunningSandbox,
    timeout: Duration,
    whop_limit: Option<RateLimit>,
) -> Providers {
    let mut providers = Providers::new();
    for (provider, emulated) in [
        (Provider::Flex, SandboxProvider::Flex),
        (Provider::Fynn, SandboxProvider::Fynn),
        (Provider::Whop, SandboxProvider::Whop),
    ] {
        let config = ProviderConfig {
            timeout,
            rate_limit: whop_limit.filter(|_| provider == Provider::Whop),
            ..ProviderConfig::new(sandbox.base_url(emulated), sandbox.key(emulated))
        };
        providers = providers
            .with(provider, &config)
            .expect("sandbox clients build");
    }
    providers
}

/// How a test harness is set up.
#[derive(Clone, Debug)]
pub struct Options {
    pub config: ServiceConfig,
    /// Timeout of one provider call.
    pub timeout: Duration,
    pub whop_limit: Option<RateLimit>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            config: ServiceConfig {
                sync_interval: None,
                ..ServiceConfig::default()
            },
            timeout: Duration::from_secs(2),
            whop_limit: None,
        }
    }
}

impl Options {
    /// The defaults, with calls to Whop limited to `limit` on the client side.
    pub fn whop_limited(limit: RateLimit) -> Self {
        Self {
            whop_limit: Some(limit),
            ..Self::default()
        }
    }

    /// Retries in milliseconds instead of seconds, so tests of retries are quick.
    pub fn fast_retries() -> Self {
        let mut options = Self::default();
        options.config.retry_base = Duration::from_millis(20);
        options.config.retry_cap = Duration::from_millis(200);
        options.config.max_attempts = 5;
        options.config.poll_interval = Duration::from_millis(10);
        options
    }
}

/// The actor of the changes a test makes through the service.
pub const ACTOR: &str = "token:test";

/// A service on `db` writing through to a fresh sandbox.
pub struct Harness {
    pub service: PromoService,
    pub sandbox: RunningSandbox,
    pub db: TestDb,
    pub options: Options,
}

impl Harness {
    pub async fn start(db: TestDb) -> Self {
        Self::start_with(db, Options::default()).await
    }

    pub async fn start_with(db: TestDb, options: Options) -> Self {
        let sandbox = RunningSandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        let mut harness = Self {
            service: PromoService::new(
                promohub_domain::store::connect(&db.url)
                    .await
                    .expect("database opens and migrates"),
                Providers::new(),
                options.config.clone(),
            ),
            sandbox,
            db,
            options,
        };
        harness.service = harness.another_process().await;
        harness
    }

    /// Creates `input` as [`ACTOR`]; the stored code. A refusal fails the test.
    pub async fn create(&self, input: CreatePromoCodeInput) -> PromoCode {
        let code = input.code.clone();
        match self.service.create(input, ACTOR).await {
            Ok(created) => created,
            Err(e) => panic!("{code} was not created: {e:?}"),
        }
    }

    /// A second service on the same database and sandbox: another process, or this one after
    /// a restart.
    pub async fn another_process(&self) -> PromoService {
        PromoService::new(
            promohub_domain::store::connect(&self.db.url)
                .await
                .expect("database opens and migrates"),
            sandbox_providers_limited(&self.sandbox, self.options.timeout, self.options.whop_limit),
            self.options.config.clone(),
        )
    }
}

/// When each request to `provider` reached `sandbox`, in order of arrival (its journal).
pub fn arrivals(
    sandbox: &RunningSandbox,
    provider: SandboxProvider,
) -> Vec<chrono::DateTime<chrono::Utc>> {
    sandbox
        .state()
        .journal_of(provider)
        .into_iter()
        .map(|e| e.at)
        .collect()
}

/// The most arrivals within any window of `period`: what a provider's sliding-window limit
/// counts.
pub fn busiest(times: &[chrono::DateTime<chrono::Utc>], period: Duration) -> usize {
    let window = chrono::Duration::from_std(period).expect("period");
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t - *start < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Runs `service`'s worker passes until no write is pending, or panics at the deadline.
pub async fn drain(service: &PromoService, deadline: Duration) {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        service.recover().await.expect("recovery pass");
        service.run_due_writes().await.expect("retry pass");
        if service.pending_writes().await.expect("count") == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "writes still pending after {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs each listed `async fn(TestDb)` as two tests, `sqlite::name` and `postgres::name`. The
/// PostgreSQL one is skipped loudly outside CI when there is no PostgreSQL, and fails under CI.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(db) = $crate::postgres().await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

/// A create input for a percentage code on these providers, everything else left out.
pub fn percent_code(code: &str, percent_off: f64, providers: &[Provider]) -> CreatePromoCodeInput {
    CreatePromoCodeInput {
        code: code.to_string(),
        discount: DiscountInput {
            kind: Some(DiscountType::Percentage),
            percent_off: Some(percent_off),
            ..DiscountInput::default()
        },
        providers: providers.to_vec(),
        ..CreatePromoCodeInput::default()
    }
}
