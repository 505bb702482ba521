//! Leases over real HTTP against the sandbox, on SQLite and PostgreSQL: a holder keeps its code
//! while a provider is slower than the lease, a holder that lost its lease cannot overwrite the
//! next holder's outcome, and an undo that failed is retried until the copy is retired.

use std::time::Duration;

use chrono::Utc;
use promohub_domain::entity::{promo_code, provider_link};
use promohub_domain::*;
use promohub_sandbox::{FaultKind, FaultSpec, Provider as Emulated};
use promohub_test_support::{ACTOR, Harness, Options, TestDb, on_both_databases, percent_code};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};

on_both_databases!(
    a_change_slower_than_its_lease_keeps_the_code_and_lands,
    a_holder_that_lost_its_lease_cannot_overwrite_the_next_holders_outcome,
    an_undo_that_failed_is_retried_until_the_copy_is_retired,
    a_change_the_providers_took_but_that_cannot_be_stored_is_put_back,
);

fn fault(provider: Emulated, operation: &str, kind: FaultKind, times: u32) -> FaultSpec {
    FaultSpec {
        provider,
        operation: Some(operation.into()),
        kind,
        times: Some(times),
        apply: false,
    }
}

/// Polls `ready` every 10 ms until it holds, or panics after `deadline`.
/// The change these tests make: the code paused.
fn pause() -> UpdatePromoCodeInput {
    UpdatePromoCodeInput {
        status: Some(PromoCodeStatus::Inactive),
        ..UpdatePromoCodeInput::default()
    }
}

async fn until(what: &str, deadline: Duration, mut ready: impl AsyncFnMut() -> bool) {
    let end = tokio::time::Instant::now() + deadline;
    while !ready().await {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the sandbox is holding back the answer to a write of `operation` (a latency fault
/// applied the write and now waits).
fn answer_held_back(h: &Harness, provider: Emulated, operation: &str) -> bool {
    h.sandbox.state().journal_of(provider).iter().any(|e| {
        e.operation == operation && e.fault.as_deref().is_some_and(|f| f.contains("latency"))
    })
}

async fn lease_of(h: &Harness, id: &str) -> (Option<String>, Option<chrono::DateTime<Utc>>) {
    let row = promo_code::Entity::find_by_id(id.to_string())
        .one(h.service.db())
        .await
        .expect("read")
        .expect("row");
    (row.lock_token, row.locked_until)
}

async fn a_change_slower_than_its_lease_keeps_the_code_and_lands(db: TestDb) {
    let mut options = Options::default();
    options.config.lease = Duration::from_millis(600);
    options.config.lease_wait = Duration::from_millis(100);
    options.timeout = Duration::from_secs(10);
    let h = Harness::start_with(db, options).await;
    let code = h
        .create(percent_code("SLOW_ONE", 10.0, &[Provider::Whop]))
        .await;
    // Whop answers the update 2 s late: more than three leases.
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "update_promo_code",
        FaultKind::Latency { ms: 2_000 },
        1,
    ));
    let service = h.service.clone();
    let id = code.id.clone();
    let slow = tokio::spawn(async move { service.update(&id, pause(), ACTOR).await });
    until(
        "Whop holds the answer back",
        Duration::from_secs(5),
        async || answer_held_back(&h, Emulated::Whop, "update_promo_code"),
    )
    .await;
    let (_, first_expiry) = lease_of(&h, &code.id).await;
    let first_expiry = first_expiry.expect("leased");
    // Past the lease the update started with: only a renewal keeps the code now.
    until(
        "the first lease would have expired",
        Duration::from_secs(5),
        async || Utc::now() > first_expiry + chrono::Duration::milliseconds(200),
    )
    .await;
    let (token, expiry) = lease_of(&h, &code.id).await;
    assert!(token.is_some(), "still held");
    assert!(
        expiry.expect("leased") > Utc::now(),
        "the lease was renewed"
    );

    let other = h.another_process().await;
    let error = other
        .update(
            &code.id,
            UpdatePromoCodeInput {
                name: Some("Someone else".into()),
                ..UpdatePromoCodeInput::default()
            },
            ACTOR,
        )
        .await
        .expect_err("the code is still held");
    assert_eq!(
        error.user_errors()[0].code,
        ErrorCode::VersionConflict,
        "{error:?}"
    );

    let updated = slow.await.expect("joined").expect("the slow update lands");
    assert_eq!(updated.status, PromoCodeStatus::Inactive);
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "SLOW_ONE", "the other change never landed");
    assert_eq!(lease_of(&h, &code.id).await.0, None, "released");
}

async fn a_holder_that_lost_its_lease_cannot_overwrite_the_next_holders_outcome(db: TestDb) {
    let mut options = Options::fast_retries();
    options.timeout = Duration::from_secs(10);
    let h = Harness::start_with(db, options).await;
    let code = h
        .create(percent_code("FENCED", 10.0, &[Provider::Whop]))
        .await;
    // The update fails for now, so the worker retries it; the retry's answer comes late.
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "update_promo_code",
        FaultKind::Status { status: 503 },
        1,
    ));
    let paused = h.update(&code.id, pause()).await;
    assert_eq!(paused.providers[0].state, SyncState::Pending);
    h.sandbox.state().clear_journal();
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "update_promo_code",
        FaultKind::Latency { ms: 1_500 },
        1,
    ));
    let worker = h.another_process().await;
    let pass = tokio::spawn(async move { worker.run_due_writes().await });
    until(
        "the retry is on its way",
        Duration::from_secs(5),
        async || answer_held_back(&h, Emulated::Whop, "update_promo_code"),
    )
    .await;

    // Meanwhile the lease passes to another holder (as after a pause past its expiry), which
    // records an outcome of its own.
    let db = h.service.db();
    promo_code::Entity::update_many()
        .col_expr(
            promo_code::Column::LockToken,
            Expr::value("the-next-holder"),
        )
        .col_expr(
            promo_code::Column::LockedUntil,
            Expr::value(Utc::now() + chrono::Duration::hours(1)),
        )
        .filter(promo_code::Column::Id.eq(code.id.as_str()))
        .exec(db)
        .await
        .expect("take over");
    provider_link::Entity::update_many()
        .col_expr(
            provider_link::Column::LastError,
            Expr::value("the next holder's outcome"),
        )
        .filter(provider_link::Column::PromoCodeId.eq(code.id.as_str()))
        .exec(db)
        .await
        .expect("their outcome");

    pass.await.expect("joined").expect("the pass ends");
    let link = provider_link::Entity::find()
        .filter(provider_link::Column::PromoCodeId.eq(code.id.as_str()))
        .one(db)
        .await
        .expect("read")
        .expect("link");
    assert_eq!(
        link.state, "PENDING",
        "the old holder's SYNCED was not stored"
    );
    assert_eq!(
        link.last_error.as_deref(),
        Some("the next holder's outcome")
    );
    assert_eq!(
        lease_of(&h, &code.id).await.0.as_deref(),
        Some("the-next-holder")
    );
}

async fn an_undo_that_failed_is_retried_until_the_copy_is_retired(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    // Fynn refuses the code for good; Whop takes it, and then cannot delete it for a while.
    h.sandbox.state().inject(fault(
        Emulated::Fynn,
        "createCoupon",
        FaultKind::Status { status: 422 },
        1,
    ));
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "delete_promo_code",
        FaultKind::Status { status: 503 },
        2,
    ));
    let error = h
        .service
        .create(
            percent_code("LEFT_BEHIND", 10.0, &[Provider::Fynn, Provider::Whop]),
            ACTOR,
        )
        .await
        .expect_err("Fynn refuses");
    let reported = error
        .user_errors()
        .iter()
        .find(|e| e.message.contains("WHOP"))
        .unwrap_or_else(|| panic!("the failed undo is reported: {error:?}"));
    assert!(reported.message.contains("keeps trying"), "{reported:?}");
    assert_eq!(h.service.pending_cleanups().await.expect("count"), 1);
    let whop = h
        .service
        .providers()
        .get(Provider::Whop)
        .expect("configured");
    let live = |codes: Vec<promohub_domain::providers::RemoteCode>| {
        codes
            .into_iter()
            .filter(|c| c.code == "LEFT_BEHIND" && c.status == PromoCodeStatus::Active)
            .count()
    };
    assert_eq!(
        live(whop.list_all().await.expect("list")),
        1,
        "left on Whop for now"
    );

    // The worker retries (once more failing, then through).
    until("the undo is done", Duration::from_secs(10), async || {
        h.service.run_due_cleanups().await.expect("pass");
        h.service.pending_cleanups().await.expect("count") == 0
    })
    .await;
    assert_eq!(
        live(whop.list_all().await.expect("list")),
        0,
        "retired on Whop"
    );
    let deletes = h
        .sandbox
        .state()
        .journal_of(Emulated::Whop)
        .iter()
        .filter(|e| e.operation == "delete_promo_code")
        .count();
    assert_eq!(deletes, 3, "two refused, one done");
}

/// Makes the database refuse every new version of a code (a real failure on demand: a
/// trigger), or lifts that.
async fn refuse_new_versions(h: &Harness, refuse: bool) {
    let db = h.service.db();
    let statements: &[&str] = match (db.get_database_backend(), refuse) {
        (DbBackend::Postgres, true) => &[
            "CREATE FUNCTION refuse_versions() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_versions BEFORE UPDATE ON promo_codes FOR EACH ROW \
             WHEN (NEW.version > OLD.version) EXECUTE FUNCTION refuse_versions()",
        ],
        (DbBackend::Postgres, false) => &[
            "DROP TRIGGER refuse_versions ON promo_codes",
            "DROP FUNCTION refuse_versions()",
        ],
        (_, true) => &[
            "CREATE TRIGGER refuse_versions BEFORE UPDATE ON promo_codes \
             WHEN NEW.version > OLD.version BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ],
        (_, false) => &["DROP TRIGGER refuse_versions"],
    };
    for statement in statements {
        db.execute_unprepared(statement).await.expect("trigger");
    }
}

async fn a_change_the_providers_took_but_that_cannot_be_stored_is_put_back(db: TestDb) {
    let mut options = Options::fast_retries();
    options.config.lease = Duration::from_millis(800);
    let h = Harness::start_with(db, options).await;
    let code = h
        .create(percent_code("UNSTORED", 10.0, &[Provider::Whop]))
        .await;
    refuse_new_versions(&h, true).await;
    let error = h
        .service
        .update(&code.id, pause(), ACTOR)
        .await
        .expect_err("the change cannot be stored");
    assert!(matches!(error, ServiceError::Internal(_)), "{error:?}");
    let whop = h
        .service
        .providers()
        .get(Provider::Whop)
        .expect("configured");
    let status_on_whop = async || {
        whop.list_all()
            .await
            .expect("list")
            .into_iter()
            .find(|c| c.code == "UNSTORED")
            .map(|c| c.status)
    };
    assert_eq!(
        status_on_whop().await,
        Some(PromoCodeStatus::Inactive),
        "Whop took it"
    );
    assert!(
        lease_of(&h, &code.id).await.0.is_some(),
        "left to expire, not released"
    );

    refuse_new_versions(&h, false).await;
    // Once the lease expires, recovery writes the stored state to Whop again.
    until(
        "Whop holds the stored state again",
        Duration::from_secs(10),
        async || {
            h.service.recover().await.expect("recovery");
            h.service.run_due_writes().await.expect("retries");
            status_on_whop().await == Some(PromoCodeStatus::Active)
        },
    )
    .await;
    let stored = h.service.get(&code.id).await.expect("get").expect("exists");
    assert_eq!(
        (stored.version, stored.status),
        (1, PromoCodeStatus::Active)
    );
}
