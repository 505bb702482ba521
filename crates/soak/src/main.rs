//! The soak run (scripts/soak.sh; docs/soak.md): a throwaway PostgreSQL, the provider sandbox
//! in this process with 30% of provider writes failing before or after they land, two
//! `promohub serve` replicas on that database, each killed with SIGKILL twice while creates
//! and updates go through both; then the faults stop and the run waits for every provider link
//! to be SYNCED, and checks the providers for lost and duplicated writes.

mod check;
mod replica;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use promohub_sandbox::{Chaos, RunningSandbox, SandboxConfig};
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::replica::Replica;

const TOKEN: &str = "soak-writer-token-01";

/// What the run is asked to do, from SOAK_* variables (docs/soak.md lists them).
pub struct Settings {
    pub operations: usize,
    pub concurrency: usize,
    pub fault_rate: f64,
    pub lease_secs: u64,
    pub kills_per_replica: usize,
    pub converge_deadline: Duration,
    pub binary: String,
    pub log_dir: String,
}

fn var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a number, not {text:?}")),
        _ => Ok(default),
    }
}

impl Settings {
    fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            operations: var("SOAK_OPERATIONS", 1000)?,
            concurrency: var("SOAK_CONCURRENCY", 16usize)?.max(1),
            fault_rate: var("SOAK_FAULT_RATE", 0.3)?,
            lease_secs: var("SOAK_LEASE_SECS", 10)?,
            kills_per_replica: var("SOAK_KILLS", 2)?,
            converge_deadline: Duration::from_secs(var("SOAK_DEADLINE_SECS", 180)?),
            binary: std::env::var("SOAK_PROMOHUB")
                .context("SOAK_PROMOHUB must name the promohub binary (scripts/soak.sh sets it)")?,
            log_dir: std::env::var("SOAK_LOG_DIR").unwrap_or_else(|_| "target/soak".into()),
        })
    }
}

/// What the clients saw.
#[derive(Default)]
pub struct Tally {
    pub creates_sent: AtomicUsize,
    pub updates_sent: AtomicUsize,
    pub creates_ok: AtomicUsize,
    pub updates_ok: AtomicUsize,
    pub rejected: AtomicUsize,
    pub unanswered: AtomicUsize,
    pub replayed: AtomicUsize,
    pub done: AtomicUsize,
    /// (id, code) of every create answered OK.
    pub accepted: std::sync::Mutex<Vec<(String, String)>>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let Some(db) = promohub_test_support::postgres().await else {
        bail!(
            "no PostgreSQL to soak on (see promohub_test_support: install postgresql or set PROMOHUB_TEST_POSTGRES_URL)"
        );
    };
    let sandbox = RunningSandbox::start(SandboxConfig::default()).await?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_uppercase();
    let log_dir = format!("{}/{run}", settings.log_dir);
    std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {log_dir}"))?;
    println!(
        "soak {run}: {} operations, {} at once, {:.0}% of provider writes failing, lease {} s (PROMOHUB_LEASE_SECS), {} SIGKILLs per replica; logs in {log_dir}",
        settings.operations,
        settings.concurrency,
        settings.fault_rate * 100.0,
        settings.lease_secs,
        settings.kills_per_replica
    );
    let mut replicas = Vec::new();
    for name in ["a", "b"] {
        let mut replica = Replica::new(name, &settings, &db.url, &sandbox, TOKEN, &log_dir)?;
        replica.start()?;
        replicas.push(replica);
    }
    for replica in &replicas {
        replica.wait_ready(Duration::from_secs(60)).await?;
    }
    let bases: Vec<String> = replicas.iter().map(Replica::base).collect();
    sandbox.state().set_chaos(Some(Chaos {
        rate: settings.fault_rate,
        applied_share: 0.5,
    }));
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let killer = tokio::spawn(kill_at_random(
        replicas,
        settings.operations,
        settings.kills_per_replica,
        tally.clone(),
    ));
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..settings.concurrency)
        .map(|_| {
            let (tally, next, bases, run) =
                (tally.clone(), next.clone(), bases.clone(), run.clone());
            let total = settings.operations;
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= total {
                        break;
                    }
                    operate(&http, &bases, &run, i, &tally).await;
                    tally.done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let replicas = killer.await??;
    let load = started.elapsed();
    sandbox.state().set_chaos(None);
    let faults_off = Instant::now();
    println!(
        "load done in {:.1} s; faults off, waiting for every link to be SYNCED",
        load.as_secs_f64()
    );
    let converged = check::wait_converged(&bases[0], TOKEN, settings.converge_deadline).await?;
    let converge_time = converged.then(|| faults_off.elapsed());
    let report = check::report(&bases[0], TOKEN, &sandbox, &tally).await?;
    drop(replicas);
    let passed = report.print(&tally, converge_time, settings.lease_secs);
    if passed {
        Ok(())
    } else {
        bail!("the soak run missed its target (logs: {log_dir})")
    }
}

/// One operation: a create (a fresh code on 1 to 3 providers), or, once there are codes, an
/// update of one (its status), sent with an Idempotency-Key and retried until answered.
async fn operate(http: &reqwest::Client, bases: &[String], run: &str, i: usize, tally: &Tally) {
    let target = {
        let accepted = tally.accepted.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = rand::rng();
        (accepted.len() >= 5 && rng.random_bool(0.4))
            .then(|| accepted[rng.random_range(0..accepted.len())].0.clone())
    };
    let (query, variables) = match &target {
        Some(id) => {
            tally.updates_sent.fetch_add(1, Ordering::SeqCst);
            let status = if rand::rng().random_bool(0.5) {
                "ACTIVE"
            } else {
                "INACTIVE"
            };
            (
                "mutation($id: ID!, $input: UpdatePromoCodeInput!) { updatePromoCode(id: $id, input: $input) { promoCode { id code } userErrors { code } } }",
                json!({ "id": id, "input": { "status": status } }),
            )
        }
        None => {
            tally.creates_sent.fetch_add(1, Ordering::SeqCst);
            let mut providers = vec!["FLEX", "FYNN", "WHOP"];
            let mut rng = rand::rng();
            providers.shuffle(&mut rng);
            providers.truncate(rng.random_range(1..=3));
            (
                "mutation($input: CreatePromoCodeInput!) { createPromoCode(input: $input) { promoCode { id code } userErrors { code } } }",
                json!({ "input": { "code": format!("SOAK{run}-{i}"),
                    "discount": { "type": "PERCENTAGE", "percentOff": rng.random_range(5..50) },
                    "providers": providers } }),
            )
        }
    };
    let body = json!({ "query": query, "variables": variables });
    let key = uuid::Uuid::new_v4().to_string();
    let Some((payload, replayed)) = send(http, bases, i, &body, &key).await else {
        tally.unanswered.fetch_add(1, Ordering::SeqCst);
        return;
    };
    if replayed {
        tally.replayed.fetch_add(1, Ordering::SeqCst);
    }
    let field = if target.is_some() {
        "updatePromoCode"
    } else {
        "createPromoCode"
    };
    let result = &payload["data"][field];
    if result["userErrors"].as_array().is_some_and(Vec::is_empty) {
        if target.is_some() {
            tally.updates_ok.fetch_add(1, Ordering::SeqCst);
        } else {
            tally.creates_ok.fetch_add(1, Ordering::SeqCst);
            if let (Some(id), Some(code)) = (
                result["promoCode"]["id"].as_str(),
                result["promoCode"]["code"].as_str(),
            ) {
                let mut accepted = tally.accepted.lock().unwrap_or_else(|e| e.into_inner());
                accepted.push((id.to_string(), code.to_string()));
            }
        }
    } else {
        tally.rejected.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sends `body` with `key` to the replicas in turn until one answers (a replica may be down,
/// or the key still held by a request a kill cut off); None after 20 s.
async fn send(
    http: &reqwest::Client,
    bases: &[String],
    first: usize,
    body: &Value,
    key: &str,
) -> Option<(Value, bool)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut attempt = first;
    while Instant::now() < deadline {
        let base = &bases[attempt % bases.len()];
        attempt += 1;
        let sent = http
            .post(format!("{base}/graphql"))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", key)
            .timeout(Duration::from_secs(15))
            .json(body)
            .send()
            .await;
        if let Ok(response) = sent
            && response.status().as_u16() == 200
        {
            let replayed = response.headers().get("idempotent-replayed").is_some();
            if let Ok(payload) = response.json::<Value>().await {
                let timed_out = payload["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT";
                if !timed_out {
                    return Some((payload, replayed));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// Kills each replica `kills` times with SIGKILL at random points of the load (by operations
/// done), restarting it after a random pause. Returns the replicas, still running.
async fn kill_at_random(
    mut replicas: Vec<Replica>,
    operations: usize,
    kills: usize,
    tally: Arc<Tally>,
) -> anyhow::Result<Vec<Replica>> {
    let mut plan: Vec<(usize, usize)> = {
        let mut rng = rand::rng();
        (0..replicas.len())
            .flat_map(|r| std::iter::repeat_n(r, kills))
            .map(|r| (rng.random_range(operations / 10..=operations * 9 / 10), r))
            .collect()
    };
    plan.sort_unstable();
    for (at, which) in plan {
        while tally.done.load(Ordering::SeqCst) < at {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        replicas[which].kill()?;
        println!(
            "  SIGKILL replica {} after {at} operations",
            replicas[which].name
        );
        let pause = rand::rng().random_range(200..1500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        replicas[which].start()?;
        replicas[which].wait_ready(Duration::from_secs(60)).await?;
    }
    Ok(replicas)
}
