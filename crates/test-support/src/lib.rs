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

use std::time::Duration;

use promohub_sandbox::{Provider as SandboxProvider, RunningSandbox, SandboxConfig};

use promohub_domain::model::{
    CreatePromoCodeInput, DiscountInput, DiscountType, PromoCode, Provider, UpdatePromoCodeInput,
};
use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::providers::{ProviderConfig, Providers};
use promohub_domain::service::{PromoService, ServiceConfig};

mod databases;
mod process;
#[cfg(feature = "server")]
pub mod server;

pub use databases::{TestDb, postgres, sqlite};
pub use process::{KillOnDrop, free_port, promohub_command};

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

    /// Updates code `id` with `input` as [`ACTOR`]; the stored code. A refusal fails the test.
    pub async fn update(&self, id: &str, input: UpdatePromoCodeInput) -> PromoCode {
        match self.service.update(id, input, ACTOR).await {
            Ok(updated) => updated,
            Err(e) => panic!("{id} was not updated: {e:?}"),
        }
    }

    /// Archives code `id` as [`ACTOR`]; the stored code. A refusal fails the test.
    pub async fn archive(&self, id: &str) -> PromoCode {
        match self.service.archive(id, ACTOR).await {
            Ok(archived) => archived,
            Err(e) => panic!("{id} was not archived: {e:?}"),
        }
    }

    /// A redemption of `code` at `provider`, as a customer's checkout makes it there; whether
    /// the provider took it.
    pub fn redeem(&self, provider: SandboxProvider, code: &str) -> bool {
        self.sandbox
            .state()
            .redeem(
                provider,
                &promohub_sandbox::Redemption {
                    code: Some(code.into()),
                    ..promohub_sandbox::Redemption::default()
                },
            )
            .is_ok()
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
