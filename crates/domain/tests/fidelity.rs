//! Provider fidelity (issue 13) over real HTTP against the sandbox, whose emulators follow the
//! provider docs (shared/seeds): what happened on a provider is never undone or lost by a
//! PromoHub write, and what a provider holds is read whole.

use std::time::Duration;

use promohub_domain::*;
use promohub_sandbox::{FaultKind, FaultSpec, Provider as Emulated};
use promohub_test_support::on_both_databases;
use promohub_test_support::{ACTOR, Harness, Options, TestDb, drain};
use serde_json::{Value, json};

on_both_databases!(
    whop_limit_change_counts_redemptions_made_since_the_last_sync,
    whop_plans_documented_as_a_string_are_kept,
    whop_lists_are_read_to_the_end,
    fynn_updates_keep_what_fynn_holds,
    fynn_sync_and_import_read_the_detail,
    fynn_create_answered_200_is_a_success,
    fynn_unreadable_coupon_is_skipped_and_named,
    fynn_redeemed_coupons_are_never_reported_retired,
    failures_are_classified_by_status_first,
    retry_after_is_parsed_and_capped,
    sync_refreshes_provider_status,
    drift_can_be_resolved_both_ways,
);

const DRAIN: Duration = Duration::from_secs(20);

/// A 10% code on these providers.
fn percent(code: &str, providers: &[Provider]) -> CreatePromoCodeInput {
    promohub_test_support::percent_code(code, 10.0, providers)
}

fn fault(provider: Emulated, operation: &str, kind: FaultKind, times: Option<u32>) -> FaultSpec {
    FaultSpec {
        provider,
        operation: Some(operation.into()),
        kind,
        times,
        apply: false,
    }
}

fn whop_client(h: &Harness) -> promohub_clients::whop::Client {
    promohub_clients::ClientSettings::new(
        h.sandbox.base_url(Emulated::Whop),
        h.sandbox.key(Emulated::Whop),
    )
    .whop()
    .expect("client")
}

fn fynn_client(h: &Harness) -> promohub_clients::fynn::Client {
    promohub_clients::ClientSettings::new(
        h.sandbox.base_url(Emulated::Fynn),
        h.sandbox.key(Emulated::Fynn),
    )
    .fynn()
    .expect("client")
}

async fn whop_direct(h: &Harness, body: Value) -> promohub_clients::whop::types::PromoCode {
    let body: promohub_clients::whop::types::CreatePromoCode =
        serde_json::from_value(body).expect("body");
    whop_client(h)
        .create_promo_code(&body)
        .await
        .expect("made on Whop")
        .into_inner()
}

async fn fynn_direct(h: &Harness, body: Value) -> promohub_clients::fynn::types::Coupon {
    let body: promohub_clients::fynn::types::CouponWrite =
        serde_json::from_value(body).expect("body");
    fynn_client(h)
        .create_coupon(&body)
        .await
        .expect("made on Fynn")
        .into_inner()
}

async fn fynn_detail(h: &Harness, id: &str) -> Value {
    let coupon = fynn_client(h)
        .get_coupon(id)
        .await
        .expect("read")
        .into_inner();
    serde_json::to_value(coupon).expect("json")
}

fn external_id(code: &PromoCode, provider: Provider) -> String {
    code.provider(provider)
        .and_then(|p| p.external_id.clone())
        .expect("external id")
}

async fn reload(h: &Harness, id: &str) -> PromoCode {
    h.service.get(id).await.expect("get").expect("exists")
}

fn bodies(h: &Harness, provider: Emulated, operation: &str) -> Vec<Value> {
    h.sandbox
        .state()
        .journal_of(provider)
        .into_iter()
        .filter(|e| e.operation == operation)
        .filter_map(|e| e.body)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Whop

async fn whop_limit_change_counts_redemptions_made_since_the_last_sync(db: TestDb) {
    let h = Harness::start(db).await;
    let created = h
        .create(CreatePromoCodeInput {
            max_redemptions: Some(10),
            ..percent("TENUSES", &[Provider::Whop])
        })
        .await;
    // 4 redemptions on Whop that PromoHub has not synced.
    for _ in 0..4 {
        assert!(h.redeem(Emulated::Whop, "TENUSES"));
    }
    // A metadata-only change sends no stock at all.
    h.sandbox.state().clear_journal();
    let mut metadata = serde_json::Map::new();
    metadata.insert("campaign".into(), json!("spring"));
    h.update(
        &created.id,
        UpdatePromoCodeInput {
            metadata: Some(Value::Object(metadata)),
            ..UpdatePromoCodeInput::default()
        },
    )
    .await;
    let updates = bodies(&h, Emulated::Whop, "update_promo_code");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(
        updates[0].get("stock").is_none() && updates[0].get("unlimited_stock").is_none(),
        "a metadata-only update must not touch stock: {updates:?}"
    );

    h.update(
        &created.id,
        UpdatePromoCodeInput {
            max_redemptions: Patch::Set(8),
            ..UpdatePromoCodeInput::default()
        },
    )
    .await;
    let mut more = 0;
    while more < 20 && h.redeem(Emulated::Whop, "TENUSES") {
        more += 1;
    }
    assert_eq!(
        more, 4,
        "Whop must accept 8 in total, 4 of them already used"
    );
}

async fn whop_plans_documented_as_a_string_are_kept(db: TestDb) {
    let h = Harness::start(db).await;
    whop_direct(
        &h,
        json!({
            "code": "PLANNED", "amount_off": 10, "base_currency": "usd",
            "promo_type": "percentage", "plan_ids": ["plan_a", "plan_b"],
        }),
    )
    .await;
    let report = h
        .service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert_eq!(report.imported, 1, "{report:?}");
    let imported = h
        .service
        .get_by_code("PLANNED")
        .await
        .expect("get")
        .expect("imported");
    assert_eq!(imported.restrictions.plan_ids, ["plan_a", "plan_b"]);
    // Written back in the documented form (`plan_ids`, string[]), and no drift after.
    h.update(
        &imported.id,
        UpdatePromoCodeInput {
            restrictions: Some(RestrictionsInput {
                plan_ids: Some(vec!["plan_c".into()]),
                ..RestrictionsInput::default()
            }),
            ..UpdatePromoCodeInput::default()
        },
    )
    .await;
    let updates = bodies(&h, Emulated::Whop, "update_promo_code");
    assert_eq!(updates.last().expect("sent")["plan_ids"], json!(["plan_c"]));
    let report = h
        .service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert!(report.drifted.is_empty(), "{report:?}");
    assert_eq!(
        reload(&h, &imported.id).await.restrictions.plan_ids,
        ["plan_c"]
    );
}

async fn whop_lists_are_read_to_the_end(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    for n in 0..260 {
        whop_direct(
            &h,
            json!({ "code": format!("BULK{n:03}"), "amount_off": 5, "base_currency": "usd",
                    "promo_type": "percentage" }),
        )
        .await;
    }
    let report = h
        .service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert_eq!(report.imported, 260, "{:?}", report.errors);

    // A create that landed although the connection dropped sits on page 6: adopted.
    h.sandbox.state().inject(FaultSpec {
        apply: true,
        ..fault(
            Emulated::Whop,
            "create_promo_code",
            FaultKind::Drop,
            Some(1),
        )
    });
    let created = h.create(percent("LANDED", &[Provider::Whop])).await;
    assert_eq!(created.providers[0].state, SyncState::Pending);
    drain(&h.service, DRAIN).await;
    let after = reload(&h, &created.id).await;
    assert_eq!(
        after.providers[0].state,
        SyncState::Synced,
        "{:?}",
        after.providers[0].last_error
    );
}

// ---------------------------------------------------------------------------------------------
// Fynn

async fn fynn_updates_keep_what_fynn_holds(db: TestDb) {
    let h = Harness::start(db).await;
    let created = h.create(percent("KEEPIT", &[Provider::Fynn])).await;
    let id = external_id(&created, Provider::Fynn);
    // Set in Fynn's dashboard: a plan restriction, and a field PromoHub has never heard of.
    let mut held = fynn_detail(&h, &id).await;
    held["limitedToPlans"] = json!(["plan_gold"]);
    held["excludedFromProducts"] = json!(["prod_x"]);
    held["dashboardNote"] = json!("set by hand");
    for nullable in [
        "percentage",
        "fixedAmount",
        "frequencyInterval",
        "maxRedemptions",
        "maxRedemptionsPerCustomer",
        "expiresAt",
    ] {
        held.as_object_mut()
            .expect("object")
            .entry(nullable)
            .or_insert(Value::Null);
    }
    let write: promohub_clients::fynn::types::CouponWrite =
        serde_json::from_value(held).expect("write body");
    fynn_client(&h)
        .update_coupon(&id, &write)
        .await
        .expect("changed on Fynn");

    h.update(
        &created.id,
        UpdatePromoCodeInput {
            name: Some("Renamed".into()),
            max_redemptions: Patch::Set(50),
            ..UpdatePromoCodeInput::default()
        },
    )
    .await;
    let after = fynn_detail(&h, &id).await;
    assert_eq!(after["name"], json!("Renamed"));
    assert_eq!(after["maxRedemptions"], json!(50));
    assert_eq!(after["limitedToPlans"], json!(["plan_gold"]), "{after}");
    assert_eq!(after["excludedFromProducts"], json!(["prod_x"]), "{after}");
    assert_eq!(after["dashboardNote"], json!("set by hand"), "{after}");
}

async fn fynn_sync_and_import_read_the_detail(db: TestDb) {
    let h = Harness::start(db).await;
    h.create(CreatePromoCodeInput {
        max_redemptions_per_customer: Some(2),
        ..percent("PERCUSTOMER", &[Provider::Fynn])
    })
    .await;
    fynn_direct(
        &h,
        json!({ "code": "FROMFYNN", "name": "From Fynn", "type": "percentage", "percentage": 15,
                "fixedAmount": null, "frequency": "once", "frequencyInterval": null,
                "maxRedemptions": 9, "maxRedemptionsPerCustomer": 3, "expiresAt": null }),
    )
    .await;
    let report = h
        .service
        .sync_from_providers(Some(Provider::Fynn))
        .await
        .expect("sync");
    assert!(report.drifted.is_empty(), "nothing changed: {report:?}");
    assert_eq!(report.imported, 1, "{report:?}");
    let imported = h
        .service
        .get_by_code("FROMFYNN")
        .await
        .expect("get")
        .expect("imported");
    assert_eq!(imported.max_redemptions, Some(9));
    assert_eq!(imported.max_redemptions_per_customer, Some(3));
}

async fn fynn_create_answered_200_is_a_success(db: TestDb) {
    let h = Harness::start(db).await;
    h.sandbox.state().inject(fault(
        Emulated::Fynn,
        "createCoupon",
        FaultKind::SuccessStatus { status: 200 },
        Some(1),
    ));
    let created = h.create(percent("OK200", &[Provider::Fynn])).await;
    assert_eq!(created.providers[0].state, SyncState::Synced);
    let statuses: Vec<_> = h
        .sandbox
        .state()
        .journal_of(Emulated::Fynn)
        .into_iter()
        .filter(|e| e.operation == "createCoupon")
        .filter_map(|e| e.status)
        .collect();
    assert_eq!(statuses, [200], "one create, no second coupon");
}

async fn fynn_unreadable_coupon_is_skipped_and_named(db: TestDb) {
    let h = Harness::start(db).await;
    fynn_direct(
        &h,
        json!({ "code": "GOODONE", "name": "Good", "type": "percentage", "percentage": 5,
                "fixedAmount": null, "frequency": "lifetime", "frequencyInterval": null,
                "maxRedemptions": null, "maxRedemptionsPerCustomer": null, "expiresAt": null }),
    )
    .await;
    h.sandbox
        .state()
        .insert_raw_fynn_coupon(json!({
            "id": "odd-coupon-1", "code": "ODDONE", "name": "Odd", "type": "buy_x_get_y",
            "frequency": "once", "isEnabled": true, "reedemptions": false,
        }))
        .expect("stored");
    h.sandbox
        .state()
        .insert_raw_fynn_coupon(json!({
            "id": "odd-coupon-2", "code": "ODDAMOUNT", "name": "Odd amount", "type": "fixed_amount",
            "fixedAmount": { "amount": "5.00 EUR" }, "frequency": "once",
        }))
        .expect("stored");
    fynn_direct(
        &h,
        json!({ "code": "GOODTWO", "name": "Good too", "type": "percentage", "percentage": 7,
                "fixedAmount": null, "frequency": "lifetime", "frequencyInterval": null,
                "maxRedemptions": null, "maxRedemptionsPerCustomer": null, "expiresAt": null }),
    )
    .await;
    let report = h
        .service
        .sync_from_providers(Some(Provider::Fynn))
        .await
        .expect("sync");
    assert_eq!(report.imported, 2, "{report:?}");
    assert!(
        report.errors.iter().any(|e| e.contains("odd-coupon-1")),
        "{report:?}"
    );
    assert!(
        report.errors.iter().any(|e| e.contains("odd-coupon-2")),
        "{report:?}"
    );
}

async fn fynn_redeemed_coupons_are_never_reported_retired(db: TestDb) {
    let h = Harness::start(db).await;
    // Archive: a redeemed Fynn coupon cannot be changed, so archiving says so, changes nothing.
    let code = h.create(percent("REDEEMED", &[Provider::Fynn])).await;
    assert!(h.redeem(Emulated::Fynn, "REDEEMED"));
    let err = h
        .service
        .archive(&code.id, ACTOR)
        .await
        .expect_err("Fynn cannot retire a redeemed coupon");
    assert!(
        err.user_errors()
            .iter()
            .any(|e| e.code == ErrorCode::ImmutableOnProvider),
        "{err:?}"
    );
    assert_eq!(reload(&h, &code.id).await.status, PromoCodeStatus::Active);

    // Undo of a create another provider rejected, after the Fynn coupon was redeemed.
    h.sandbox.state().inject(fault(
        Emulated::Fynn,
        "createCoupon",
        FaultKind::Latency { ms: 600 },
        Some(1),
    ));
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::Status { status: 422 },
        Some(1),
    ));
    let service = h.service.clone();
    let create = tokio::spawn(async move {
        service
            .create(percent("UNDOME", &[Provider::Fynn, Provider::Whop]), ACTOR)
            .await
    });
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    while !h.redeem(Emulated::Fynn, "UNDOME") {
        assert!(tokio::time::Instant::now() < until, "coupon never appeared");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let err = create.await.expect("task").expect_err("Whop rejected it");
    let errors = err.user_errors();
    assert!(
        errors.iter().any(|e| e.code == ErrorCode::ProviderRejected),
        "{errors:?}"
    );
    let undo = errors
        .iter()
        .find(|e| e.code == ErrorCode::ImmutableOnProvider)
        .unwrap_or_else(|| panic!("the failed undo is reported: {errors:?}"));
    assert!(undo.message.contains("FYNN"), "{undo:?}");
}

// ---------------------------------------------------------------------------------------------
// All providers

async fn failures_are_classified_by_status_first(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    h.sandbox.state().inject(fault(
        Emulated::Whop,
        "create_promo_code",
        FaultKind::Html {
            status: 403,
            body: "<html><body>Forbidden by the firewall</body></html>".into(),
        },
        Some(1),
    ));
    let err = h
        .service
        .create(percent("HTML403", &[Provider::Whop]), ACTOR)
        .await
        .expect_err("a 403 is permanent whatever its body");
    assert_eq!(err.user_errors()[0].code, ErrorCode::ProviderRejected);
    assert!(err.user_errors()[0].message.contains("403"), "{err:?}");

    h.sandbox.state().inject(fault(
        Emulated::Fynn,
        "createCoupon",
        FaultKind::Html {
            status: 502,
            body: "<html>Bad gateway</html>".into(),
        },
        Some(1),
    ));
    let created = h.create(percent("HTML502", &[Provider::Fynn])).await;
    assert_eq!(created.providers[0].state, SyncState::Pending);
    drain(&h.service, DRAIN).await;
    assert_eq!(
        reload(&h, &created.id).await.providers[0].state,
        SyncState::Synced
    );
}

async fn next_attempt_at(h: &Harness, id: &str) -> chrono::DateTime<chrono::Utc> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::provider_link::Entity::find()
        .filter(entity::provider_link::Column::PromoCodeId.eq(id))
        .one(h.service.db())
        .await
        .expect("read")
        .expect("link")
        .next_attempt_at
        .expect("scheduled")
}

async fn retry_after_is_parsed_and_capped(db: TestDb) {
    let h = Harness::start(db).await;
    for (code, header, at_least, at_most) in [
        ("HUGE", "1000000000000000".to_string(), 3_500, 3_601),
        (
            "DATED",
            (chrono::Utc::now() + chrono::Duration::seconds(120))
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
            100,
            125,
        ),
        ("GARBAGE", "soon, promise".to_string(), 0, 61),
    ] {
        h.sandbox.state().inject(fault(
            Emulated::Whop,
            "create_promo_code",
            FaultKind::RateLimitHeader {
                retry_after: header.clone(),
            },
            Some(1),
        ));
        let before = chrono::Utc::now();
        let created = h.create(percent(code, &[Provider::Whop])).await;
        assert_eq!(created.providers[0].state, SyncState::Pending);
        let wait = (next_attempt_at(&h, &created.id).await - before).num_seconds();
        assert!(
            (at_least..=at_most).contains(&wait),
            "Retry-After {header:?} -> next attempt in {wait}s"
        );
    }
}

async fn sync_refreshes_provider_status(db: TestDb) {
    let h = Harness::start(db).await;
    let code = h
        .create(percent("SWITCHED", &[Provider::Whop, Provider::Fynn]))
        .await;
    let whop_id = external_id(&code, Provider::Whop);
    let off: promohub_clients::whop::types::UpdatePromoCode =
        serde_json::from_value(json!({ "status": "inactive" })).expect("body");
    whop_client(&h)
        .update_promo_code(&whop_id, &off)
        .await
        .expect("deactivated on Whop");
    let fynn_id = external_id(&code, Provider::Fynn);
    fynn_client(&h)
        .delete_coupon(&fynn_id)
        .await
        .expect("deleted on Fynn");

    h.service.sync_from_providers(None).await.expect("sync");
    let after = reload(&h, &code.id).await;
    let whop = after.provider(Provider::Whop).expect("link");
    assert_eq!(whop.state, SyncState::DisabledOnProvider);
    assert!(
        whop.last_error
            .as_deref()
            .is_some_and(|m| m.contains("INACTIVE")),
        "{whop:?}"
    );
    let fynn = after.provider(Provider::Fynn).expect("link");
    assert_eq!(fynn.state, SyncState::DeletedOnProvider);
    assert!(fynn.last_error.is_some(), "{fynn:?}");

    let valid = |provider| {
        let service = h.service.clone();
        async move {
            service
                .validate("SWITCHED", provider, None, None)
                .await
                .expect("validate")
                .invalid
        }
    };
    assert_eq!(
        valid(Some(Provider::Whop)).await,
        Some(InvalidReason::DisabledOnProvider)
    );
    assert_eq!(
        valid(Some(Provider::Fynn)).await,
        Some(InvalidReason::DeletedOnProvider)
    );
    // Reactivated on Whop: the next sync says so.
    let on: promohub_clients::whop::types::UpdatePromoCode =
        serde_json::from_value(json!({ "status": "active" })).expect("body");
    whop_client(&h)
        .update_promo_code(&whop_id, &on)
        .await
        .expect("reactivated");
    h.service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert_eq!(valid(Some(Provider::Whop)).await, None);
    // An update is not blocked by the provider that lost the code: it stays DELETED there.
    let renamed = h
        .update(
            &code.id,
            UpdatePromoCodeInput {
                name: Some("Still here".into()),
                ..UpdatePromoCodeInput::default()
            },
        )
        .await;
    assert_eq!(
        renamed.provider(Provider::Fynn).expect("link").state,
        SyncState::DeletedOnProvider
    );
}

async fn drift_can_be_resolved_both_ways(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    let code = h
        .create(CreatePromoCodeInput {
            max_redemptions: Some(10),
            ..percent("DRIFTY", &[Provider::Whop])
        })
        .await;
    let whop_id = external_id(&code, Provider::Whop);
    let change = |body: Value| {
        let whop = whop_client(&h);
        let id = whop_id.clone();
        async move {
            let body: promohub_clients::whop::types::UpdatePromoCode =
                serde_json::from_value(body).expect("body");
            whop.update_promo_code(&id, &body).await.expect("changed");
        }
    };
    change(json!({ "status": "inactive", "stock": 3 })).await;

    // PUSH_OURS: PromoHub's state goes back to Whop through the outbox.
    let pushed = h
        .service
        .resolve_drift(&code.id, Provider::Whop, DriftStrategy::PushOurs, ACTOR)
        .await
        .expect("queued");
    assert_eq!(
        pushed.provider(Provider::Whop).unwrap().state,
        SyncState::Pending
    );
    drain(&h.service, DRAIN).await;
    let report = h
        .service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert!(report.drifted.is_empty(), "{report:?}");
    let promo = whop_client(&h)
        .retrieve_promo_code(&whop_id)
        .await
        .expect("read")
        .into_inner();
    assert_eq!(
        promo.status,
        Some(promohub_clients::whop::types::Status::Active)
    );
    assert_eq!(promo.stock, Some(10));

    // ADOPT_THEIRS: Whop's values come here, version bumped, audited.
    change(json!({ "status": "inactive", "stock": 5, "plan_ids": ["plan_z"] })).await;
    let adopted = h
        .service
        .resolve_drift(&code.id, Provider::Whop, DriftStrategy::AdoptTheirs, ACTOR)
        .await
        .expect("adopted");
    assert_eq!(adopted.status, PromoCodeStatus::Inactive);
    assert_eq!(adopted.max_redemptions, Some(5));
    assert_eq!(adopted.restrictions.plan_ids, ["plan_z"]);
    assert!(adopted.version > pushed.version, "version bumped");
    assert_eq!(
        adopted.provider(Provider::Whop).unwrap().state,
        SyncState::Synced
    );
    let report = h
        .service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert!(report.drifted.is_empty(), "{report:?}");
    let audit = h.service.audit_log(&code.id).await.expect("audit");
    assert!(
        audit.iter().any(|a| a.action == "adopt_provider_state"),
        "{audit:?}"
    );
}
