//! The bulk-generation benchmark (issue 16), run by `scripts/bench-bulk.sh`:
//! (a) STORE codes stored by the job runner alone (no worker: nothing syncs), on SQLite and
//!     PostgreSQL: seconds from generatePromoCodes to DONE (target < 10 s for 100,000);
//! (b) SYNC codes made and written to Whop in the sandbox with the client limit `N/1s`
//!     (PROMOHUB_WHOP_RATE_LIMIT's form), runner and worker as the server runs them: achieved
//!     creates/s from the sandbox's journal vs N (target >= 95%), and the most calls the
//!     sandbox saw in any one second (must be <= N).
//! Settings: STORE (100000), SYNC (10000), N (100), DATABASES ("sqlite postgres").

use std::time::{Duration, Instant};

use promohub_domain::bulk::{BulkJobState, GenerateInput};
use promohub_domain::entity::bulk_job;
use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::{PromoService, Provider};
use promohub_sandbox::Provider as Emulated;
use promohub_test_support::{Harness, Options, TestDb, percent_code};
use sea_orm::EntityTrait;
use tokio::sync::watch;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn job(count: i64, pattern: &str) -> GenerateInput {
    GenerateInput {
        count,
        pattern: Some(pattern.to_string()),
        settings: percent_code("", 10.0, &[Provider::Whop]),
        ..GenerateInput::default()
    }
}

async fn until(
    service: &PromoService,
    id: &str,
    within: Duration,
    done: impl Fn(i64, i64, BulkJobState) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        let job = service.bulk_job(id).await.expect("read").expect("job");
        if done(job.created, job.synced, job.state) {
            return;
        }
        assert!(Instant::now() < deadline, "not done in {within:?}: {job:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn database(name: &str) -> Option<TestDb> {
    match name {
        "sqlite" => Some(promohub_test_support::sqlite()),
        _ => promohub_test_support::postgres().await,
    }
}

async fn store(name: &str, count: i64) {
    let Some(db) = database(name).await else {
        return;
    };
    let h = Harness::start(db).await;
    let started = Instant::now();
    let accepted = h
        .service
        .generate(job(count, "STORE-********"), "bench")
        .await
        .expect("accepted");
    let (stop, stopped) = watch::channel(false);
    let runner = h.service.clone();
    let runner = tokio::spawn(async move { runner.run_bulk_jobs(stopped).await });
    // The job's row alone (a key look-up): bulkJob's counts scan the job's codes, and polling
    // them would compete with the runner for the two cores.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let row = bulk_job::Entity::find_by_id(accepted.id.as_str())
            .one(h.service.db())
            .await
            .expect("read")
            .expect("job");
        if BulkJobState::parse(&row.state).is_some_and(BulkJobState::is_finished) {
            break;
        }
        assert!(Instant::now() < deadline, "not done: {row:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    // Stopped before the next database is measured: nothing of this one runs beside it.
    let _ = stop.send(true);
    let _ = runner.await;
    let job = h
        .service
        .bulk_job(&accepted.id)
        .await
        .expect("read")
        .expect("job");
    println!(
        "store {name}: {} codes stored in {seconds:.2} s ({:.0} codes/s), state {}",
        job.created,
        job.created as f64 / seconds,
        job.state.as_str()
    );
}

async fn sync(name: &str, count: i64, n: i64) {
    let Some(db) = database(name).await else {
        return;
    };
    let options = Options {
        whop_limit: RateLimit::parse(&format!("{n}/1s")),
        ..Options::default()
    };
    let h = Harness::start_with(db, options).await;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for worker in [true, false] {
        let (service, stopped) = (h.service.clone(), stopped.clone());
        tasks.push(tokio::spawn(async move {
            if worker {
                service.run_worker(stopped).await
            } else {
                service.run_bulk_jobs(stopped).await
            }
        }));
    }
    let started = Instant::now();
    let accepted = h
        .service
        .generate(job(count, "SYNC-********"), "bench")
        .await
        .expect("accepted");
    let within = Duration::from_secs(u64::try_from(count / n.max(1)).unwrap_or(600) * 2 + 60);
    until(&h.service, &accepted.id, within, |_, synced, _| {
        synced == count
    })
    .await;
    let total = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    let calls = h.sandbox.state().journal_of(Emulated::Whop);
    let times: Vec<_> = calls.iter().map(|e| e.at).collect();
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return;
    };
    let span = (*last - *first).num_milliseconds() as f64 / 1000.0;
    // Creates per second over the sync: calls after the first, over the time they took.
    let achieved = (calls.len() as f64 - 1.0) / span.max(0.001);
    let mut busiest = 0;
    let mut start = 0;
    for (end, t) in times.iter().enumerate() {
        while *t - times[start] >= chrono::Duration::seconds(1) {
            start += 1;
        }
        busiest = busiest.max(end - start + 1);
    }
    let rejected = calls.iter().filter(|e| e.status == Some(429)).count();
    println!(
        "sync {name}: {count} codes SYNCED; {} calls in {span:.1} s = {achieved:.1} creates/s vs N = {n}/s: {:.1}% (most in any 1 s: {busiest}; 429s: {rejected}; {total:.1} s from generatePromoCodes)",
        calls.len(),
        100.0 * achieved / n as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // The runner's "bulk job finished" line says where its time went (phases).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "promohub_domain::bulk::runner=info",
        ))
        .with_target(false)
        .init();
    let databases = std::env::var("DATABASES").unwrap_or_else(|_| "sqlite postgres".into());
    let (store_count, sync_count, n) = (env("STORE", 100_000), env("SYNC", 10_000), env("N", 100));
    for name in databases.split_whitespace() {
        if store_count > 0 {
            store(name, store_count).await;
        }
        if sync_count > 0 {
            sync(name, sync_count, n).await;
        }
    }
}
