//! Durable write-through against the sandbox's faults over real HTTP, on SQLite and PostgreSQL:
//! retries end SYNCED with exactly one copy on the provider, permanent failures end FAILED,
//! restarts finish what was left, two workers never send a write twice, sync imports and
//! refreshes, and the rate limiter holds a burst to the configured rate.

use std::time::Duration;

use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::*;
use promohub_sandbox::{FaultKind, FaultSpec, Provider as Emulated};
use promohub_test_support::on_both_databases;
use promohub_test_support::{ACTOR, Harness, Options, TestDb, drain};
use serde_json::{Value, json};

on_both_databases!(
    every_transient_fault_ends_synced_with_one_copy,
    a_timeout_that_landed_is_adopted_not_duplicated,
    flex_orphan_coupons_are_reused,
    permanent_failures_and_exhausted_retries_end_failed,
    retries_converge_to_the_latest_state,
    a_restart_finishes_pending_writes,
    a_create_cut_off_mid_way_is_finished_once,
    two_workers_never_send_a_write_twice,
    sync_imports_refreshes_and_reports_drift,
    the_rate_limiter_holds_a_burst_to_the_configured_rate,
);

const DRAIN: Duration = Duration::from_secs(20);

/// A 10% code on these providers.
fn percent(code: &str, providers: &[Provider]) -> CreatePromoCodeInput {
    promohub_test_support::percent_code(code, 10.0, providers)
}

fn fault(
    provider: Emulated,
    operation: &str,
    kind: FaultKind,
    times: Option<u32>,
    apply: bool,
) -> FaultSpec {
    FaultSpec {
        provider,
        operation: Some(operation.into()),
        kind,
        times,
        apply,
    }
}

/// How many copies of `code` the provider holds (any status but archived).
async fn copies(h: &Harness, provider: Provider, code: &str) -> usize {
    h.service
        .providers()
        .get(provider)
        .expect("configured")
        .list_all()
        .await
        .expect("list")
        .into_iter()
        .filter(|r| r.code == code && r.status != PromoCodeStatus::Archived)
        .count()
}

fn statuses(h: &Harness, provider: Emulated, operation: &str) -> Vec<u16> {
    h.sandbox
        .state()
        .journal_of(provider)
        .into_iter()
        .filter(|e| e.operation == operation)
        .filter_map(|e| e.status)
        .collect()
}

async fn state_of(h: &Harness, id: &str, provider: Provider) -> ProviderSync {
    h.service
        .get(id)
        .await
        .expect("get")
        .expect("exists")
        .provider(provider)
        .cloned()
        .expect("link")
}

// ---------------------------------------------------------------------------------------------

async fn every_transient_fault_ends_synced_with_one_copy(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    let cases = [
        (
            "WHOP_500",
            Provider::Whop,
            Emulated::Whop,
            "create_promo_code",
            FaultKind::Status { status: 500 },
            2,
        ),
        (
            "FYNN_503",
            Provider::Fynn,
            Emulated::Fynn,
            "createCoupon",
            FaultKind::Status { status: 503 },
            2,
        ),
        (
            "FLEX_503",
            Provider::Flex,
            Emulated::Flex,
            "create_promo_code",
            FaultKind::Status { status: 503 },
            1,
        ),
        (
            "WHOP_DROP",
            Provider::Whop,
            Emulated::Whop,
            "create_promo_code",
            FaultKind::Drop,
            1,
        ),
        (
            "FAIL_3X",
            Provider::Fynn,
            Emulated::Fynn,
            "createCoupon",
            FaultKind::Status { status: 500 },
            3,
        ),
    ];
    for (code, provider, emulated, operation, kind, times) in cases {
        h.sandbox
            .state()
            .inject(fault(emulated, operation, kind, Some(times), false));
        let created = h.create(percent(code, &[provider])).await;
        assert_eq!(created.providers[0].state, SyncState::Pending, "{code}");
        drain(&h.service, DRAIN).await;
        let sync = state_of(&h, &created.id, provider).await;
        assert_eq!(sync.state, SyncState::Synced, "{code}: {sync:?}");
        assert_eq!(sync.last_error, None);
        assert_eq!(
            copies(&h, provider, code).await,
            1,
            "{code}: exactly one copy"
        );
    }
    let metrics = h.service.providers().metrics().snapshot();
    assert!(
        metrics
            .attempts
            .get(&(Provider::Whop, "retry"))
            .is_some_and(|n| *n >= 1)
    );
    assert!(
        metrics
            .attempts
            .get(&(Provider::Fynn, "synced"))
            .is_some_and(|n| *n >= 2)
    );
    assert!(
        metrics
            .calls
            .keys()
            .any(|(p, op, outcome)| *p == Provider::Flex
                && *op == "create"
                && *outcome == "transient")
    );

    // A 429's Retry-After is honoured: the retry comes no sooner than it asked.
    h.sandbox.state().clear_journal();
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::RateLimit {
            retry_after_secs: 1,
        },
        Some(1),
        false,
    ));
    let created = h.create(percent("THROTTLED", &[Provider::Whop])).await;
    drain(&h.service, DRAIN).await;
    let attempts: Vec<_> = h
        .sandbox
        .state()
        .journal_of(Emulated::Whop)
        .into_iter()
        .filter(|e| e.operation == "create_promo_code")
        .collect();
    assert_eq!(
        attempts.iter().map(|e| e.status).collect::<Vec<_>>(),
        [Some(429), Some(201)]
    );
    let waited = attempts[1].at - attempts[0].at;
    assert!(
        waited >= chrono::Duration::milliseconds(950),
        "retried after {waited}"
    );
    assert_eq!(
        state_of(&h, &created.id, Provider::Whop).await.state,
        SyncState::Synced
    );
}

async fn a_timeout_that_landed_is_adopted_not_duplicated(db: TestDb) {
    let mut options = Options::fast_retries();
    options.timeout = Duration::from_millis(300);
    let h = Harness::start_with(db, options).await;
    for (code, provider, emulated, operation) in [
        ("SLOW_FYNN", Provider::Fynn, Emulated::Fynn, "createCoupon"),
        (
            "SLOW_WHOP",
            Provider::Whop,
            Emulated::Whop,
            "create_promo_code",
        ),
        (
            "SLOW_FLEX",
            Provider::Flex,
            Emulated::Flex,
            "create_promo_code",
        ),
    ] {
        h.sandbox.state().inject(fault(
            emulated,
            operation,
            FaultKind::Latency { ms: 1_000 },
            Some(1),
            true,
        ));
        let created = h.create(percent(code, &[provider])).await;
        let sync = &created.providers[0];
        assert_eq!(sync.state, SyncState::Pending);
        assert!(
            sync.last_error
                .as_deref()
                .is_some_and(|e| e.contains("timed out")),
            "{sync:?}"
        );
        drain(&h.service, DRAIN).await;
        assert_eq!(
            state_of(&h, &created.id, provider).await.state,
            SyncState::Synced
        );
        assert_eq!(
            copies(&h, provider, code).await,
            1,
            "{code}: adopted, not re-created"
        );
        assert_eq!(
            statuses(&h, emulated, operation).len(),
            1,
            "{code}: created once"
        );
    }
    // The same when the connection dropped after the write landed.
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::Drop,
        Some(1),
        true,
    ));
    let created = h.create(percent("DROPPED_AFTER", &[Provider::Whop])).await;
    drain(&h.service, DRAIN).await;
    assert_eq!(
        state_of(&h, &created.id, Provider::Whop).await.state,
        SyncState::Synced
    );
    assert_eq!(copies(&h, Provider::Whop, "DROPPED_AFTER").await, 1);
}

async fn flex_orphan_coupons_are_reused(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    // The coupon is made, its answer lost; then the promo code fails once more.
    h.sandbox.state().inject(fault(
        Emulated::Flex,
        "create_coupon",
        FaultKind::Drop,
        Some(1),
        true,
    ));
    let created = h.create(percent("ORPHAN", &[Provider::Flex])).await;
    assert_eq!(created.providers[0].state, SyncState::Pending);
    drain(&h.service, DRAIN).await;
    let sync = state_of(&h, &created.id, Provider::Flex).await;
    assert_eq!(sync.state, SyncState::Synced);
    let coupons: Vec<_> = h
        .sandbox
        .state()
        .journal_of(Emulated::Flex)
        .into_iter()
        .filter(|e| e.operation == "create_coupon")
        .collect();
    assert_eq!(
        coupons.len(),
        1,
        "the orphan coupon was reused, not made again"
    );
    assert_eq!(copies(&h, Provider::Flex, "ORPHAN").await, 1);
}

async fn permanent_failures_and_exhausted_retries_end_failed(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    // Passing trouble first, then a refusal that will not pass.
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::Status { status: 503 },
        Some(1),
        false,
    ));
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::Status { status: 422 },
        Some(1),
        false,
    ));
    let refused = h.create(percent("REFUSED_LATER", &[Provider::Whop])).await;
    drain(&h.service, DRAIN).await;
    let sync = state_of(&h, &refused.id, Provider::Whop).await;
    assert_eq!(sync.state, SyncState::Failed);
    assert_eq!(sync.last_error.as_deref(), Some("Injected fault"));

    // A provider that never recovers: FAILED after max attempts, then retrySync brings it back.
    h.sandbox.state().inject(fault(
        Emulated::Fynn,
        "createCoupon",
        FaultKind::Status { status: 503 },
        None,
        false,
    ));
    let stuck = h.create(percent("NEVER", &[Provider::Fynn])).await;
    drain(&h.service, DRAIN).await;
    let sync = state_of(&h, &stuck.id, Provider::Fynn).await;
    assert_eq!(sync.state, SyncState::Failed);
    assert_eq!(sync.attempts, 5);
    assert!(
        sync.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("gave up after 5 attempts"))
    );
    let failed = h
        .service
        .count(&ListFilter {
            sync_state: Some(SyncState::Failed),
            ..ListFilter::default()
        })
        .await
        .expect("count");
    assert_eq!(failed, 2);

    h.sandbox.state().clear_faults();
    let requeued = h.service.retry_sync(&stuck.id).await.expect("retry");
    assert_eq!(requeued.providers[0].state, SyncState::Pending);
    assert_eq!(requeued.providers[0].attempts, 0);
    drain(&h.service, DRAIN).await;
    assert_eq!(
        state_of(&h, &stuck.id, Provider::Fynn).await.state,
        SyncState::Synced
    );
    assert_eq!(copies(&h, Provider::Fynn, "NEVER").await, 1);
}

async fn retries_converge_to_the_latest_state(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    let created = h.create(percent("MOVING", &[Provider::Whop])).await;
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "update_promo_code",
        FaultKind::Status { status: 503 },
        None,
        false,
    ));
    for step in ["first", "second", "third"] {
        let updated = h
            .update(
                &created.id,
                UpdatePromoCodeInput {
                    metadata: Some(json!({ "step": step })),
                    ..UpdatePromoCodeInput::default()
                },
            )
            .await;
        assert_eq!(updated.providers[0].state, SyncState::Pending);
    }
    h.sandbox.state().clear_faults();
    h.sandbox.state().clear_journal();
    drain(&h.service, DRAIN).await;
    let sent: Vec<Value> = h
        .sandbox
        .state()
        .journal_of(Emulated::Whop)
        .into_iter()
        .filter(|e| e.operation == "update_promo_code")
        .filter_map(|e| e.body)
        .collect();
    assert_eq!(sent.len(), 1, "one write, of the latest state: {sent:?}");
    assert_eq!(sent[0]["metadata"], json!({ "step": "third" }));
    let sync = state_of(&h, &created.id, Provider::Whop).await;
    assert_eq!(sync.state, SyncState::Synced);
}

async fn a_restart_finishes_pending_writes(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    h.sandbox.state().inject(FaultSpec {
        provider: Emulated::Fynn,
        operation: None,
        kind: FaultKind::Status { status: 503 },
        times: None,
        apply: false,
    });
    let mut ids = Vec::new();
    for i in 0..4 {
        let created = h
            .create(percent(&format!("RESTART{i}"), &[Provider::Fynn]))
            .await;
        ids.push(created.id);
    }
    assert_eq!(h.service.pending_writes().await.expect("count"), 4);
    // The process goes away with the writes pending; a new one starts on the same database.
    let restarted = h.another_process().await;
    h.sandbox.state().clear_faults();
    drain(&restarted, DRAIN).await;
    for (i, id) in ids.iter().enumerate() {
        let code = restarted.get(id).await.expect("get").expect("kept");
        assert_eq!(code.providers[0].state, SyncState::Synced);
        assert_eq!(copies(&h, Provider::Fynn, &format!("RESTART{i}")).await, 1);
    }
}

async fn a_create_cut_off_mid_way_is_finished_once(db: TestDb) {
    let mut options = Options::fast_retries();
    options.config.lease = Duration::from_millis(300);
    let h = Harness::start_with(db, options).await;
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::Latency { ms: 600 },
        Some(1),
        true,
    ));
    // The request dies while Whop is still writing: as if the process were killed there.
    let request = {
        let service = h.service.clone();
        tokio::spawn(async move {
            service
                .create(percent("CUT_OFF", &[Provider::Whop]), ACTOR)
                .await
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !h
        .sandbox
        .state()
        .journal_of(Emulated::Whop)
        .iter()
        .any(|e| e.operation == "create_promo_code")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the create never reached Whop"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    request.abort();
    assert!(
        request.await.is_err_and(|e| e.is_cancelled()),
        "cut off before it finished"
    );
    assert!(
        h.service
            .get_by_code("CUT_OFF")
            .await
            .expect("get")
            .is_none(),
        "not visible while unfinished"
    );
    // Whop finishes its write; the reservation's lease runs out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while statuses(&h, Emulated::Whop, "create_promo_code").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Whop never finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let restarted = h.another_process().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let code = loop {
        restarted.recover().await.expect("recovery");
        if let Some(code) = restarted.get_by_code("CUT_OFF").await.expect("get") {
            break code;
        }
        assert!(tokio::time::Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(code.providers[0].state, SyncState::Synced);
    assert_eq!(
        copies(&h, Provider::Whop, "CUT_OFF").await,
        1,
        "adopted, not duplicated"
    );
    assert_eq!(statuses(&h, Emulated::Whop, "create_promo_code").len(), 1);
}

async fn two_workers_never_send_a_write_twice(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::Status { status: 503 },
        Some(20),
        false,
    ));
    for i in 0..20 {
        h.create(percent(&format!("BOTH{i:02}"), &[Provider::Whop]))
            .await;
    }
    assert_eq!(h.service.pending_writes().await.expect("count"), 20);
    let first = h.another_process().await;
    let second = h.another_process().await;
    let (a, b) = tokio::join!(drain(&first, DRAIN), drain(&second, DRAIN));
    let ((), ()) = (a, b);
    let created: Vec<u16> = statuses(&h, Emulated::Whop, "create_promo_code")
        .into_iter()
        .filter(|s| *s == 201)
        .collect();
    assert_eq!(created.len(), 20, "each create sent once");
    for i in 0..20 {
        assert_eq!(copies(&h, Provider::Whop, &format!("BOTH{i:02}")).await, 1);
    }
}

async fn sync_imports_refreshes_and_reports_drift(db: TestDb) {
    let h = Harness::start(db).await;
    let ours = h.create(percent("OURS", &[Provider::Whop])).await;
    // A code made on Whop's dashboard, not through PromoHub.
    let whop = promohub_clients::ClientSettings::new(
        h.sandbox.base_url(Emulated::Whop),
        h.sandbox.key(Emulated::Whop),
    )
    .whop()
    .expect("client");
    let theirs: promohub_clients::whop::types::CreatePromoCode = serde_json::from_value(json!({
        "code": "MADE_ON_WHOP", "amount_off": 12.5, "base_currency": "eur",
        "promo_type": "flat_amount", "stock": 3, "unlimited_stock": false,
        "number_of_intervals": 2, "plan_ids": ["plan_x"],
    }))
    .expect("body");
    whop.create_promo_code(&theirs).await.expect("made on Whop");
    for _ in 0..2 {
        assert!(h.redeem(Emulated::Whop, "OURS"), "redeemed");
    }

    let report = h.service.sync_from_providers(None).await.expect("sync");
    assert_eq!(report.imported, 1, "{report:?}");
    assert_eq!(report.updated, 1, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(report.drifted.is_empty(), "{report:?}");
    let refreshed = h.service.get(&ours.id).await.expect("get").expect("exists");
    assert_eq!(refreshed.times_redeemed, 2);
    assert_eq!(refreshed.version, 1, "a refresh is not a change");
    let imported = h
        .service
        .get_by_code("made_on_whop")
        .await
        .expect("get")
        .expect("imported");
    assert_eq!(
        imported.discount,
        Discount::FixedAmount {
            amount_off: 1250,
            currency: "EUR".into()
        }
    );
    assert_eq!(
        imported.duration,
        promohub_domain::Duration::Repeating { periods: 2 }
    );
    assert_eq!(imported.max_redemptions, Some(3));
    assert_eq!(imported.restrictions.plan_ids, ["plan_x"]);
    assert_eq!(imported.providers[0].state, SyncState::Synced);

    // Someone deactivates our code on Whop directly: reported, not copied.
    let whop_id = refreshed.providers[0].external_id.clone().expect("id");
    let off: promohub_clients::whop::types::UpdatePromoCode =
        serde_json::from_value(json!({ "status": "inactive" })).expect("body");
    whop.update_promo_code(&whop_id, &off)
        .await
        .expect("changed on Whop");
    let report = h
        .service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert_eq!(report.imported, 0);
    assert_eq!(
        report.drifted,
        ["WHOP:OURS: status is INACTIVE there, ACTIVE here"]
    );
    let after = h.service.get(&ours.id).await.expect("get").expect("exists");
    assert_eq!(
        after.status,
        PromoCodeStatus::Active,
        "our accepted state stands"
    );

    // Flex holds nothing yet: nothing to report.
    let flex = h
        .service
        .sync_from_providers(Some(Provider::Flex))
        .await
        .expect("sync");
    assert_eq!(flex, SyncReport::default());
}

async fn the_rate_limiter_holds_a_burst_to_the_configured_rate(db: TestDb) {
    let limit = RateLimit {
        requests: 100,
        per: Duration::from_secs(1),
    };
    let h = Harness::start_with(db, Options::whop_limited(limit)).await;
    let created = h.create(percent("BURST", &[Provider::Whop])).await;
    h.sandbox.state().clear_journal();
    let adapter = h.service.providers().get(Provider::Whop).expect("whop");
    let link = &created.providers[0];
    let started = tokio::time::Instant::now();
    // Each Whop push reads the code first, then writes: 150 pushes are 300 calls.
    let results = futures::future::join_all((0..150).map(|_| adapter.push(link, &created))).await;
    let elapsed = started.elapsed();
    assert!(
        results.iter().all(Result::is_ok),
        "no write ran into a 429 or error"
    );
    let times: Vec<_> = promohub_test_support::arrivals(&h.sandbox, Emulated::Whop);
    assert_eq!(times.len(), 300);
    // 300 at 100 a second: three windows, so at least two seconds.
    assert!(elapsed >= Duration::from_millis(1_950), "took {elapsed:?}");
    let busiest = promohub_test_support::busiest(&times, Duration::from_secs(1));
    // A call holds its place from its permit until a window after it ends, and it arrives in
    // between: so no window sees more arrivals than the limit.
    assert!(
        busiest <= 100,
        "{busiest} requests arrived within one second"
    );
}
