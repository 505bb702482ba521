//! Bulk code generation end to end on SQLite and PostgreSQL: the job runner and the outbox
//! worker as the server runs them, real HTTP to the provider sandbox.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use promohub_domain::bulk::{BulkJob, BulkJobState, GenerateInput, Pattern};
use promohub_domain::entity::{audit_log, bulk_job, bulk_job_code, promo_code};
use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::{CreatePromoCodeInput, ErrorCode, PromoService, Provider, ServiceError};
use promohub_sandbox::Provider as Emulated;
use promohub_test_support::{Harness, Options, TestDb, on_both_databases, percent_code};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tokio::sync::watch;

fn job(count: i64, pattern: &str, providers: &[Provider]) -> GenerateInput {
    GenerateInput {
        count,
        pattern: Some(pattern.to_string()),
        settings: percent_code("", 15.0, providers),
        ..GenerateInput::default()
    }
}

/// The server's two background tasks on `service`, stopped when the sender is dropped.
fn run_tasks(service: &PromoService) -> watch::Sender<bool> {
    let (stop, stopped) = watch::channel(false);
    for worker in [true, false] {
        let (service, stopped) = (service.clone(), stopped.clone());
        tokio::spawn(async move {
            if worker {
                service.run_worker(stopped).await;
            } else {
                service.run_bulk_jobs(stopped).await;
            }
        });
    }
    stop
}

async fn wait_for(
    service: &PromoService,
    id: &str,
    within: Duration,
    done: impl Fn(&BulkJob) -> bool,
) -> BulkJob {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let job = service.bulk_job(id).await.expect("read").expect("job");
        if done(&job) {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached in {within:?}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The codes a job made, as stored.
async fn codes_of(service: &PromoService, id: &str) -> Vec<String> {
    let ids: Vec<String> = bulk_job_code::Entity::find()
        .filter(bulk_job_code::Column::JobId.eq(id))
        .all(service.db())
        .await
        .expect("job codes")
        .into_iter()
        .map(|r| r.promo_code_id)
        .collect();
    let mut codes = Vec::new();
    for chunk in ids.chunks(1000) {
        codes.extend(
            promo_code::Entity::find()
                .filter(promo_code::Column::Id.is_in(chunk.iter().cloned()))
                .all(service.db())
                .await
                .expect("codes")
                .into_iter()
                .map(|c| c.code),
        );
    }
    codes
}

fn assert_unique(codes: &[String]) {
    let keys: HashSet<String> = codes.iter().map(|c| c.to_lowercase()).collect();
    assert_eq!(keys.len(), codes.len(), "codes repeat (ignoring case)");
}

async fn pattern_job_ends_done_and_synced_once_each(db: TestDb) {
    let h = Harness::start(db).await;
    let _tasks = run_tasks(&h.service);
    let pattern = "SPRING-####-????";
    let accepted = h
        .service
        .generate(job(2000, pattern, &[Provider::Whop]), "ops")
        .await
        .expect("accepted");
    assert_eq!(accepted.state, BulkJobState::Queued);
    assert_eq!((accepted.total, accepted.created), (2000, 0));
    let done = wait_for(&h.service, &accepted.id, Duration::from_secs(180), |j| {
        j.state == BulkJobState::Done && j.synced == 2000
    })
    .await;
    assert_eq!((done.created, done.failed), (2000, 0), "{done:?}");
    assert!(done.errors.is_empty(), "{done:?}");

    let codes = codes_of(&h.service, &accepted.id).await;
    assert_eq!(codes.len(), 2000);
    assert_unique(&codes);
    let shape = Pattern::parse(pattern).expect("pattern");
    assert!(codes.iter().all(|c| shape.matches(c)));
    let held = h.sandbox.state().held_codes(Emulated::Whop);
    assert_eq!(held.len(), 2000, "one copy of each code on Whop");
    let held: HashSet<String> = held.into_iter().map(|c| c.code).collect();
    assert!(codes.iter().all(|c| held.contains(c)));
    // A never-tried code is one create call: no look-up of the provider's whole list.
    let journal = h.sandbox.state().journal_of(Emulated::Whop);
    assert_eq!(journal.len(), 2000, "one call per code");
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Actor.eq(format!("bulk:{}", accepted.id)))
        .filter(audit_log::Column::Action.eq("create"))
        .count(h.service.db())
        .await
        .expect("audit");
    assert_eq!(audited, 2000, "an audit row per code");
}

async fn nothing_stored(service: &PromoService) {
    let jobs = bulk_job::Entity::find()
        .count(service.db())
        .await
        .expect("jobs");
    let codes = promo_code::Entity::find()
        .count(service.db())
        .await
        .expect("codes");
    assert_eq!((jobs, codes), (0, 0), "a refused job stored something");
}

fn refusal(result: Result<BulkJob, ServiceError>) -> Vec<(String, ErrorCode)> {
    match result {
        Err(ServiceError::User(errors)) => errors
            .into_iter()
            .map(|e| (e.field.join("."), e.code))
            .collect(),
        other => panic!("not refused: {other:?}"),
    }
}

async fn bad_jobs_are_refused_and_nothing_is_stored(db: TestDb) {
    let h = Harness::start(db).await;
    let whop = [Provider::Whop];
    let mut too_much = job(10, "A-#####", &whop);
    too_much.settings.discount.percent_off = Some(150.0);
    let mut flex_expiry = job(10, "A-#####", &[Provider::Flex]);
    flex_expiry.settings.expires_at = Some(Utc::now() + chrono::Duration::days(3));
    let mut both = job(10, "A-#####", &whop);
    both.prefix = Some("A".into());
    both.length = Some(6);
    let prefix_only = GenerateInput {
        pattern: None,
        prefix: Some("VIP".into()),
        ..job(10, "", &whop)
    };
    let cases = [
        (job(0, "A-#####", &whop), "input.count", ErrorCode::Invalid),
        (
            job(100_001, "A-########", &whop),
            "input.count",
            ErrorCode::Invalid,
        ),
        (
            job(10, "A B-####", &whop),
            "input.pattern",
            ErrorCode::Invalid,
        ),
        (
            job(10, "SPRING", &whop),
            "input.pattern",
            ErrorCode::Invalid,
        ),
        (
            job(10, &"#".repeat(65), &whop),
            "input.pattern",
            ErrorCode::Invalid,
        ),
        (
            job(10, "A-#####", &[]),
            "input.providers",
            ErrorCode::Required,
        ),
        (too_much, "input.discount.percentOff", ErrorCode::Invalid),
        (
            flex_expiry,
            "input.expiresAt",
            ErrorCode::UnsupportedByProvider,
        ),
        (both, "input.pattern", ErrorCode::Invalid),
        (prefix_only, "input.length", ErrorCode::Required),
    ];
    for (input, field, code) in cases {
        let errors = refusal(h.service.generate(input.clone(), "ops").await);
        assert!(
            errors.iter().any(|(f, c)| f == field && *c == code),
            "{input:?}: expected {field} {code:?}, got {errors:?}"
        );
    }
    // 8 * 8 = 64 possible codes cannot make 10 (at least 100 are needed).
    let small = h.service.generate(job(10, "AB-##", &whop), "ops").await;
    match small {
        Err(ServiceError::User(errors)) => {
            assert_eq!(errors[0].field, ["input", "pattern"]);
            assert!(
                errors[0].message.contains("64 distinct codes"),
                "{errors:?}"
            );
        }
        other => panic!("a too small pattern was accepted: {other:?}"),
    }
    let short = GenerateInput {
        pattern: None,
        prefix: Some("X".into()),
        length: Some(1),
        ..job(10, "", &whop)
    };
    assert_eq!(
        refusal(h.service.generate(short, "ops").await)[0].0,
        "input.length"
    );
    nothing_stored(&h.service).await;
}

async fn codes_that_exist_are_skipped(db: TestDb) {
    let h = Harness::start(db).await;
    // 64 possible codes; 30 taken already, some in another case: nearly half the draws collide,
    // and each code gets 20 draws (with 50 taken, 20 collisions in a row came about once in 20
    // runs).
    let shape = Pattern::parse("C-##").expect("pattern");
    let digits = promohub_domain::bulk::pattern::DIGITS.as_bytes();
    let mut taken = Vec::new();
    for a in digits {
        for b in digits {
            if taken.len() < 30 {
                let code = format!(
                    "{}-{}{}",
                    if taken.len() % 2 == 0 { 'C' } else { 'c' },
                    *a as char,
                    *b as char
                );
                h.service
                    .create(percent_code(&code, 5.0, &[Provider::Whop]), "ops")
                    .await
                    .expect("pre-created");
                taken.push(code.to_lowercase());
            }
        }
    }
    let _tasks = run_tasks(&h.service);
    let accepted = h
        .service
        .generate(job(6, shape.as_str(), &[Provider::Whop]), "ops")
        .await
        .expect("accepted");
    let done = wait_for(&h.service, &accepted.id, Duration::from_secs(60), |j| {
        j.state.is_finished() && j.synced == j.created
    })
    .await;
    assert_eq!(
        (done.state, done.created),
        (BulkJobState::Done, 6),
        "{done:?}"
    );
    let codes = codes_of(&h.service, &accepted.id).await;
    assert_eq!(codes.len(), 6);
    assert!(
        codes.iter().all(|c| !taken.contains(&c.to_lowercase())),
        "{codes:?}"
    );
    let all = promo_code::Entity::find()
        .count(h.service.db())
        .await
        .expect("count");
    assert_eq!(all, 36, "30 taken + 6 made");
}

/// One runner pass in its own task (it runs the next job to its end), never told to stop.
fn spawn_runner(service: &PromoService) -> tokio::task::JoinHandle<Result<bool, ServiceError>> {
    let service = service.clone();
    tokio::spawn(async move {
        let (_keep, stopped) = watch::channel(false);
        service.run_next_bulk_job(&stopped).await
    })
}

async fn cancel_stops_a_job(db: TestDb) {
    let h = Harness::start(db).await;
    let accepted = h
        .service
        .generate(job(100_000, "BIG-********", &[Provider::Whop]), "ops")
        .await
        .expect("accepted");
    let runner = spawn_runner(&h.service);
    wait_for(&h.service, &accepted.id, Duration::from_secs(60), |j| {
        j.created >= 1000
    })
    .await;
    let cancelled = h
        .service
        .cancel_bulk_job(&accepted.id)
        .await
        .expect("cancelled");
    assert_eq!(cancelled.state, BulkJobState::Cancelled);
    let ran = tokio::time::timeout(Duration::from_secs(30), runner)
        .await
        .expect("the runner stops")
        .expect("no panic");
    assert!(ran.expect("no error"), "the runner had the job");
    let after = h
        .service
        .bulk_job(&accepted.id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(
        after.created, cancelled.created,
        "no batch after the cancel"
    );
    assert!(after.created < 100_000);
    assert_eq!(
        codes_of(&h.service, &accepted.id).await.len() as i64,
        after.created
    );
    // A finished job cannot be cancelled again; an unknown one is not found.
    let again = refusal(h.service.cancel_bulk_job(&accepted.id).await);
    assert_eq!(again, [("id".to_string(), ErrorCode::Invalid)]);
    let unknown = refusal(h.service.cancel_bulk_job("no-such-job").await);
    assert_eq!(unknown, [("id".to_string(), ErrorCode::NotFound)]);
}

async fn a_restart_resumes_and_writes_nothing_twice(db: TestDb) {
    let mut options = Options::default();
    options.config.lease = Duration::from_secs(1);
    let h = Harness::start_with(db, options).await;
    let total = 20_000;
    let accepted = h
        .service
        .generate(job(total, "R-********", &[Provider::Whop]), "ops")
        .await
        .expect("accepted");
    let first = spawn_runner(&h.service);
    wait_for(&h.service, &accepted.id, Duration::from_secs(60), |j| {
        j.created >= 1000
    })
    .await;
    // A crash: the runner is gone mid-job, its lease still stored.
    first.abort();
    let _ = first.await;
    let cut = h
        .service
        .bulk_job(&accepted.id)
        .await
        .expect("read")
        .expect("job");
    assert!(
        cut.created < total,
        "the job finished before the crash: {cut:?}"
    );

    let next = h.another_process().await;
    let (_stop, stopped) = watch::channel(false);
    let runner = next.clone();
    tokio::spawn(async move { runner.run_bulk_jobs(stopped).await });
    let done = wait_for(&next, &accepted.id, Duration::from_secs(120), |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!(
        (done.state, done.created),
        (BulkJobState::Done, total),
        "{done:?}"
    );
    let codes = codes_of(&next, &accepted.id).await;
    assert_eq!(codes.len() as i64, total);
    assert_unique(&codes);
    let stored = promo_code::Entity::find()
        .count(next.db())
        .await
        .expect("count");
    assert_eq!(stored as i64, total, "no code outside the job's count");
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Actor.eq(format!("bulk:{}", accepted.id)))
        .count(next.db())
        .await
        .expect("audit");
    assert_eq!(audited as i64, total, "one audit row per code");
}

async fn codes_reach_a_rate_limited_provider(db: TestDb) {
    let options = Options {
        whop_limit: RateLimit::parse("100/1s"),
        ..Options::default()
    };
    let h = Harness::start_with(db, options).await;
    let _tasks = run_tasks(&h.service);
    let accepted = h
        .service
        .generate(job(300, "L-######", &[Provider::Whop]), "ops")
        .await
        .expect("accepted");
    let done = wait_for(&h.service, &accepted.id, Duration::from_secs(60), |j| {
        j.synced == 300
    })
    .await;
    assert_eq!(done.failed, 0);
    let times: Vec<_> = promohub_test_support::arrivals(&h.sandbox, Emulated::Whop);
    assert_eq!(times.len(), 300);
    let most = promohub_test_support::busiest(&times, Duration::from_secs(1));
    assert!(most <= 100, "{most} calls within a second");
}

/// A bulk code's rows are the rows a single create of the same settings writes, and its audit
/// row is a create's (fields set from null) with the job beside it; named or not.
async fn bulk_rows_are_those_of_a_single_create(db: TestDb) {
    let h = Harness::start(db).await;
    let mut settings = percent_code("", 12.5, &[Provider::Whop]);
    settings.max_redemptions = Some(40);
    settings.expires_at = Some(
        Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            + chrono::Duration::days(30),
    );
    settings.metadata = Some(serde_json::json!({"campaign": "spring", "quote": "a \"b\" ü"}));
    let _tasks = run_tasks(&h.service);
    for name in [None, Some("Spring campaign".to_string())] {
        let settings = CreatePromoCodeInput {
            name: name.clone(),
            ..settings.clone()
        };
        let single = h
            .service
            .create(
                CreatePromoCodeInput {
                    code: format!("ONE-{}", name.is_some()),
                    ..settings.clone()
                },
                "ops",
            )
            .await
            .expect("single create");
        let input = GenerateInput {
            settings,
            ..job(3, "ROW-####-??", &[Provider::Whop])
        };
        let accepted = h.service.generate(input, "ops").await.expect("accepted");
        wait_for(&h.service, &accepted.id, Duration::from_secs(60), |j| {
            j.state == BulkJobState::Done && j.synced == 3
        })
        .await;
        let row = |id: String| {
            let db = h.service.db().clone();
            async move {
                promo_code::Entity::find_by_id(id)
                    .one(&db)
                    .await
                    .expect("row")
                    .expect("stored")
            }
        };
        let one = row(single.id.clone()).await;
        let ids: Vec<String> = bulk_job_code::Entity::find()
            .filter(bulk_job_code::Column::JobId.eq(accepted.id.as_str()))
            .all(h.service.db())
            .await
            .expect("job codes")
            .into_iter()
            .map(|r| r.promo_code_id)
            .collect();
        assert_eq!(ids.len(), 3);
        for id in ids {
            let bulk = row(id.clone()).await;
            let shared = |m: &promo_code::Model| promo_code::Model {
                id: String::new(),
                code: String::new(),
                code_key: String::new(),
                name: String::new(),
                lock_token: None,
                locked_until: None,
                created_at: Utc::now()
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc(),
                updated_at: Utc::now()
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc(),
                ..m.clone()
            };
            assert_eq!(shared(&bulk), shared(&one));
            assert_eq!(bulk.code_key, bulk.code.to_lowercase());
            assert_eq!(bulk.name, name.clone().unwrap_or_else(|| bulk.code.clone()));
            let code = h.service.get(&id).await.expect("read").expect("code");
            let audit = audit_log::Entity::find()
                .filter(audit_log::Column::PromoCodeId.eq(id.as_str()))
                .all(h.service.db())
                .await
                .expect("audit");
            assert_eq!(audit.len(), 1, "one audit row per bulk code");
            assert_eq!(
                (
                    audit[0].actor.clone(),
                    audit[0].action.as_str(),
                    audit[0].version
                ),
                (format!("bulk:{}", accepted.id), "create", Some(1))
            );
            let mut expected = promohub_domain::history::created(&code);
            expected["bulkJob"] = serde_json::json!(accepted.id);
            let changes: serde_json::Value = serde_json::from_str(&audit[0].changes).expect("JSON");
            assert_eq!(changes, expected);
            let history = h.service.history(&id, 10, None).await.expect("history");
            assert_eq!(history.items.len(), 1);
            assert_eq!(history.items[0].1.actor, format!("bulk:{}", accepted.id));
        }
    }
}

on_both_databases!(
    pattern_job_ends_done_and_synced_once_each,
    bad_jobs_are_refused_and_nothing_is_stored,
    codes_that_exist_are_skipped,
    cancel_stops_a_job,
    a_restart_resumes_and_writes_nothing_twice,
    codes_reach_a_rate_limited_provider,
    bulk_rows_are_those_of_a_single_create,
);
