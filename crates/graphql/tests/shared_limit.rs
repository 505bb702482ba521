//! Two `promohub serve` processes on one PostgreSQL database share one rate limit per
//! provider: bursting 300 creates together at Whop, no window of the limit's period sees more
//! than the limit arrive at the sandbox, and the burst runs at >= 90% of it.

use std::process::Stdio;
use std::time::Duration;

use promohub_sandbox::{Provider, RunningSandbox, SandboxConfig};
use promohub_test_support::server;
use promohub_test_support::{KillOnDrop, free_port, promohub_command};
use serde_json::{Value, json};

const TOKEN: &str = "shared-limit-write-token";
/// 150 calls per 5 s: 300 creates take about 10 s. The period sets the margin a call has to
/// reach the provider after its slot (a twentieth of it: 250 ms, as on a busy test machine a
/// process may not run for a while), the rate how long the test takes.
const LIMIT: &str = "150/5s";
const REQUESTS: usize = 150;
const PERIOD: Duration = Duration::from_secs(5);
const PER_PROCESS: usize = 150;

/// A `promohub serve` on `database_url`, with Whop at the sandbox and limited to [`LIMIT`];
/// its base URL once it is ready.
async fn serve(database_url: &str, sandbox: &RunningSandbox) -> (KillOnDrop, String) {
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = promohub_command(env!("CARGO_BIN_EXE_promohub"), dir.path());
    server::use_sandbox(&mut command, sandbox, &[Provider::Whop])
        .arg("serve")
        .env("PROMOHUB_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database_url)
        .env("PROMOHUB_API_TOKENS", format!("write:{TOKEN}"))
        .env("PROMOHUB_WHOP_RATE_LIMIT", LIMIT)
        // No periodic pull (promohub_command's default): only the burst reaches Whop.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let base = format!("http://127.0.0.1:{port}");
    (server::spawn_ready(&mut command, &base).await, base)
}

async fn create(http: reqwest::Client, base: String, code: String) -> Value {
    let query = format!(
        "mutation {{ createPromoCode(input: {{ code: \"{code}\", discount: {{ type: PERCENTAGE, percentOff: 5 }}, providers: [WHOP] }}) {{ promoCode {{ id }} userErrors {{ code }} }} }}"
    );
    http.post(format!("{base}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_bursting_300_creates_share_one_limit() {
    let Some(db) = promohub_test_support::postgres().await else {
        return;
    };
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let (_a, base_a) = serve(&db.url, &sandbox).await;
    let (_b, base_b) = serve(&db.url, &sandbox).await;
    sandbox.state().clear_journal();

    let http = reqwest::Client::new();
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..PER_PROCESS {
        for (name, base) in [("A", &base_a), ("B", &base_b)] {
            burst.spawn(create(
                http.clone(),
                base.clone(),
                format!("BURST{name}{i}"),
            ));
        }
    }
    while let Some(answer) = burst.join_next().await {
        let answer = answer.expect("no panic");
        assert!(
            answer["data"]["createPromoCode"]["userErrors"]
                .as_array()
                .is_some_and(Vec::is_empty),
            "{answer}"
        );
    }
    // A create that waited past its request may finish in the worker: wait for all 300.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let journal = loop {
        let journal = sandbox.state().journal_of(Provider::Whop);
        let created = journal
            .iter()
            .filter(|e| e.operation == "create_promo_code")
            .count();
        if created >= 2 * PER_PROCESS {
            break journal;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{created} creates reached Whop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        journal.iter().all(|e| e.status != Some(429)),
        "the sandbox was never asked too fast"
    );
    let times: Vec<_> = journal.iter().map(|e| e.at).collect();
    let most = promohub_test_support::busiest(&times, PERIOD);
    let rate_from = |first: usize| {
        let span = (*times.last().expect("calls") - times[first])
            .to_std()
            .expect("ordered");
        (times.len() - 1 - first) as f64 / span.as_secs_f64()
    };
    let limit_rate = REQUESTS as f64 / PERIOD.as_secs_f64();
    let overall = rate_from(0);
    // The limiter's throughput once it has a backlog: the first second is the burst's ramp,
    // while its 300 requests are still on their way to the limiter (HTTP, then the database).
    let ramp = chrono::Duration::seconds(1);
    let backlogged = times
        .iter()
        .position(|t| *t - times[0] >= ramp)
        .expect("a burst longer than its ramp");
    let rate = rate_from(backlogged);
    eprintln!(
        "{} Whop calls from two processes: at most {most} in {PERIOD:?} (limit {REQUESTS}); \
         {rate:.2} a second after the first second ({:.1}% of the limit), {overall:.2} a \
         second over the whole burst ({:.1}%)",
        times.len(),
        100.0 * rate / limit_rate,
        100.0 * overall / limit_rate,
    );
    assert!(
        most <= REQUESTS,
        "{most} calls arrived within {PERIOD:?}, over {LIMIT}"
    );
    assert!(
        rate >= 0.9 * limit_rate,
        "{rate:.2} calls a second, under 90% of {LIMIT}"
    );
}
