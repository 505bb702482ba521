//! The domain service against the sandbox over real HTTP, on SQLite and on PostgreSQL.

use std::collections::HashSet;

use chrono::{Duration, SubsecRound, Utc};
use promohub_domain::*;
use promohub_sandbox::{FaultKind, FaultSpec, Provider as Emulated};
use promohub_test_support::on_both_databases;
use promohub_test_support::{ACTOR, Harness, TestDb};
use serde_json::{Value, json};

on_both_databases!(
    flex_create_update_deactivate_archive,
    fynn_create_update_deactivate_archive,
    whop_create_update_deactivate_archive,
    bad_input_is_refused_field_by_field_and_nothing_is_written,
    settings_a_provider_cannot_hold_are_refused,
    fields_a_provider_cannot_change_are_immutable,
    unconfigured_providers_are_refused,
    codes_are_unique_ignoring_case,
    a_permanent_rejection_undoes_the_other_providers,
    a_transient_failure_stores_the_code_as_pending,
    an_update_a_provider_rejects_changes_nothing,
    concurrent_updates_have_one_winner,
    lists_filter_sort_and_page,
    validation_gives_the_reason,
    every_accepted_change_is_audited,
);

use promohub_test_support::percent_code as percent;

fn fixed(code: &str, cents: i64, currency: &str, providers: &[Provider]) -> CreatePromoCodeInput {
    CreatePromoCodeInput {
        code: code.to_string(),
        discount: DiscountInput {
            kind: Some(DiscountType::FixedAmount),
            amount_off: Some(cents),
            currency: Some(currency.to_string()),
            ..DiscountInput::default()
        },
        providers: providers.to_vec(),
        ..CreatePromoCodeInput::default()
    }
}

fn status(to: PromoCodeStatus) -> UpdatePromoCodeInput {
    UpdatePromoCodeInput {
        status: Some(to),
        ..UpdatePromoCodeInput::default()
    }
}

/// The bodies the sandbox received for one provider operation, oldest first.
fn sent(h: &Harness, provider: Emulated, operation: &str) -> Vec<Value> {
    h.sandbox
        .state()
        .journal_of(provider)
        .into_iter()
        .filter(|e| e.operation == operation)
        .map(|e| e.body.unwrap_or(Value::Null))
        .collect()
}

fn operations(h: &Harness, provider: Emulated) -> Vec<String> {
    h.sandbox
        .state()
        .journal_of(provider)
        .into_iter()
        .map(|e| e.operation)
        .collect()
}

fn codes(error: &ServiceError) -> Vec<(String, &'static str)> {
    error
        .user_errors()
        .iter()
        .map(|e| (e.field.join("."), e.code.as_str()))
        .collect()
}

fn synced(code: &PromoCode) -> bool {
    code.providers.iter().all(|p| p.state == SyncState::Synced)
}

// ---------------------------------------------------------------------------------------------

async fn flex_create_update_deactivate_archive(db: TestDb) {
    let h = Harness::start(db).await;
    let mut input = percent("SUMMER15", 15.0, &[Provider::Flex]);
    input.name = Some("Summer".into());
    input.duration = Some(DurationInput {
        kind: DurationType::Repeating,
        periods: Some(3),
    });
    input.max_redemptions = Some(100);
    input.restrictions = Some(RestrictionsInput {
        product_ids: Some(vec!["prod_1".into()]),
        customer_id: Some("fcus_1".into()),
        ..RestrictionsInput::default()
    });
    input.metadata = Some(json!({ "team": "growth" }));
    let created = h.create(input).await;
    assert!(synced(&created), "{:?}", created.providers);
    assert_eq!(created.version, 1);
    let link = created.provider(Provider::Flex).expect("on Flex");
    let promo_id = link.external_id.clone().expect("promo code id");
    let coupon_id = link.secondary_id.clone().expect("coupon id");
    assert!(promo_id.starts_with("fpromo_") && coupon_id.starts_with("fcoup_"));

    assert_eq!(
        sent(&h, Emulated::Flex, "create_coupon"),
        [json!({ "coupon": {
            "name": "Summer", "percent_off": 15.0, "duration": "repeating",
            "duration_in_months": 3, "applies_to": { "products": ["prod_1"] },
            "metadata": { "promohub_id": created.id },
        }})]
    );
    assert_eq!(
        sent(&h, Emulated::Flex, "create_promo_code"),
        [json!({ "promo_code": {
            "coupon_id": coupon_id, "code": "SUMMER15", "max_redemptions": 100,
            "customer": "fcus_1", "metadata": { "team": "growth" },
        }})]
    );

    let updated = h
        .update(
            &created.id,
            UpdatePromoCodeInput {
                metadata: Some(json!({ "team": "retention" })),
                ..UpdatePromoCodeInput::default()
            },
        )
        .await;
    assert_eq!(updated.version, 2);
    assert_eq!(updated.metadata["team"], "retention");
    let inactive = h
        .update(&created.id, status(PromoCodeStatus::Inactive))
        .await;
    assert_eq!(inactive.status, PromoCodeStatus::Inactive);
    let archived = h.archive(&created.id).await;
    assert_eq!(archived.status, PromoCodeStatus::Archived);
    assert!(synced(&archived));
    assert_eq!(
        sent(&h, Emulated::Flex, "update_promo_code"),
        [
            json!({ "promo_code": { "active": true, "metadata": { "team": "retention" } } }),
            json!({ "promo_code": { "active": false, "metadata": { "team": "retention" } } }),
            json!({ "promo_code": { "active": false, "metadata": { "team": "retention" } } }),
        ]
    );
    let error = h
        .service
        .update(&created.id, status(PromoCodeStatus::Active), ACTOR)
        .await
        .expect_err("archived codes take no changes");
    assert_eq!(codes(&error), [(String::new(), "ARCHIVED")]);
}

async fn fynn_create_update_deactivate_archive(db: TestDb) {
    let h = Harness::start(db).await;
    let expires = Utc::now().trunc_subsecs(0) + Duration::days(30);
    let mut input = fixed("FYNN500", 500, "EUR", &[Provider::Fynn]);
    input.duration = Some(DurationInput {
        kind: DurationType::Repeating,
        periods: Some(2),
    });
    input.max_redemptions = Some(10);
    input.max_redemptions_per_customer = Some(1);
    input.expires_at = Some(expires);
    let created = h.create(input).await;
    assert!(synced(&created));
    let coupon_id = created
        .provider(Provider::Fynn)
        .and_then(|l| l.external_id.clone())
        .expect("coupon id");
    assert!(uuid::Uuid::parse_str(&coupon_id).is_ok());
    let whole = |max: i64, enabled: bool| {
        json!({
            "code": "FYNN500", "name": "FYNN500", "type": "fixed_amount", "percentage": null,
            "fixedAmount": { "amount": 500, "currency": "EUR" }, "frequency": "limited",
            "frequencyInterval": 2, "maxRedemptions": max, "maxRedemptionsPerCustomer": 1,
            "expiresAt": expires, "isEnabled": enabled,
        })
    };
    assert_eq!(sent(&h, Emulated::Fynn, "createCoupon"), [whole(10, true)]);
    // An update sends back what Fynn holds of the fields PromoHub does not manage (read by a
    // GET right before): here the plan and product lists, empty.
    let whole = |max: i64, enabled: bool| {
        let mut body = whole(max, enabled);
        for list in [
            "limitedToPlans",
            "excludedFromPlans",
            "limitedToProducts",
            "excludedFromProducts",
        ] {
            body[list] = json!([]);
        }
        body
    };

    h.update(
        &created.id,
        UpdatePromoCodeInput {
            max_redemptions: Patch::Set(20),
            ..UpdatePromoCodeInput::default()
        },
    )
    .await;
    h.update(&created.id, status(PromoCodeStatus::Inactive))
        .await;
    let archived = h.archive(&created.id).await;
    assert_eq!(archived.status, PromoCodeStatus::Archived);
    // Fynn's PUT replaces the whole coupon: every field, every time.
    assert_eq!(
        sent(&h, Emulated::Fynn, "updateCoupon"),
        [whole(20, true), whole(20, false), whole(20, false)]
    );
}

async fn whop_create_update_deactivate_archive(db: TestDb) {
    let h = Harness::start(db).await;
    let expires = Utc::now().trunc_subsecs(0) + Duration::days(10);
    let mut input = percent("WHOP20", 20.0, &[Provider::Whop]);
    input.duration = Some(DurationInput {
        kind: DurationType::Forever,
        periods: None,
    });
    input.max_redemptions = Some(50);
    input.expires_at = Some(expires);
    input.restrictions = Some(RestrictionsInput {
        plan_ids: Some(vec!["plan_1".into()]),
        new_customers_only: Some(true),
        ..RestrictionsInput::default()
    });
    input.metadata = Some(json!({ "campaign": "spring" }));
    let created = h.create(input).await;
    assert!(synced(&created));
    assert_eq!(
        sent(&h, Emulated::Whop, "create_promo_code"),
        [json!({
            "code": "WHOP20", "amount_off": 20.0, "base_currency": "usd",
            "promo_type": "percentage", "expiration_datetime": expires.timestamp(),
            "new_users_only": true, "number_of_intervals": 0, "plan_ids": ["plan_1"],
            "stock": 50, "unlimited_stock": false, "metadata": { "campaign": "spring" },
        })]
    );

    h.update(
        &created.id,
        UpdatePromoCodeInput {
            max_redemptions: Patch::Set(60),
            restrictions: Some(RestrictionsInput {
                plan_ids: Some(Vec::new()),
                ..RestrictionsInput::default()
            }),
            ..UpdatePromoCodeInput::default()
        },
    )
    .await;
    h.update(&created.id, status(PromoCodeStatus::Inactive))
        .await;
    h.archive(&created.id).await;
    // Stock goes only with the change of the limit, computed from Whop's own uses.
    let update = |status: &str| json!({ "status": status, "plan_ids": [], "metadata": { "campaign": "spring" } });
    let mut limit = update("active");
    limit["stock"] = json!(60);
    limit["unlimited_stock"] = json!(false);
    assert_eq!(
        sent(&h, Emulated::Whop, "update_promo_code"),
        [limit, update("inactive"), update("archived")]
    );
}

async fn bad_input_is_refused_field_by_field_and_nothing_is_written(db: TestDb) {
    let h = Harness::start(db).await;
    let base = || percent("GOOD_CODE", 10.0, &[Provider::Whop]);
    // Every rule has its row in the unit table (src/rules/tests/); here a few kinds, end to
    // end: refused with the field named, nothing stored, no provider called.
    let cases: Vec<(CreatePromoCodeInput, &str, &str)> = vec![
        (
            {
                let mut i = base();
                i.code = String::new();
                i
            },
            "input.code",
            "REQUIRED",
        ),
        (
            percent("GOOD_CODE", 100.5, &[Provider::Whop]),
            "input.discount.percentOff",
            "INVALID",
        ),
        (
            {
                let mut i = fixed("GOOD_CODE", 100, "USD", &[Provider::Whop]);
                i.discount.currency = None;
                i
            },
            "input.discount.currency",
            "REQUIRED",
        ),
        (
            percent("GOOD_CODE", 10.0, &[Provider::Whop, Provider::Whop]),
            "input.providers",
            "INVALID",
        ),
    ];
    for (input, field, code) in cases {
        let error = h
            .service
            .create(input.clone(), ACTOR)
            .await
            .expect_err(&format!("{field} {code} refused"));
        assert!(
            codes(&error).contains(&(field.to_string(), code)),
            "{input:?}: expected {field} {code}, got {:?}",
            codes(&error)
        );
    }
    assert!(
        h.sandbox.state().journal().is_empty(),
        "no provider was called"
    );
    let count = h
        .service
        .count(&ListFilter::default())
        .await
        .expect("count");
    assert_eq!(count, 0, "nothing was stored");
}

async fn settings_a_provider_cannot_hold_are_refused(db: TestDb) {
    let h = Harness::start(db).await;
    // Every provider and field has its row in the unit table (src/rules/tests/); here a few,
    // end to end: refused naming the provider, nothing sent.
    let cases: Vec<(CreatePromoCodeInput, &str, &str)> = vec![
        (
            fixed("EURO_FLEX", 100, "EUR", &[Provider::Flex]),
            "input.discount.currency",
            "FLEX",
        ),
        (
            percent("FRACTION", 12.5, &[Provider::Fynn]),
            "input.discount.percentOff",
            "FYNN",
        ),
        // One provider of several is enough to refuse.
        (
            {
                let mut i = percent("MIXED", 10.0, &[Provider::Whop, Provider::Flex]);
                i.expires_at = Some(Utc::now() + Duration::days(1));
                i
            },
            "input.expiresAt",
            "FLEX",
        ),
    ];
    for (input, field, provider) in cases {
        let error = h
            .service
            .create(input.clone(), ACTOR)
            .await
            .expect_err("refused");
        let found = error.user_errors().iter().any(|e| {
            e.field.join(".") == field
                && e.code == ErrorCode::UnsupportedByProvider
                && e.message.contains(provider)
        });
        assert!(
            found,
            "{input:?}: expected {provider} {field}, got {error:?}"
        );
    }
    assert!(h.sandbox.state().journal().is_empty(), "nothing was sent");
}

async fn fields_a_provider_cannot_change_are_immutable(db: TestDb) {
    let h = Harness::start(db).await;
    let mut input = percent("LOCKED", 10.0, &[Provider::Flex, Provider::Whop]);
    input.max_redemptions = Some(5);
    let created = h.create(input).await;
    h.sandbox.state().clear_journal();
    let error = h
        .service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                max_redemptions: Patch::Set(9),
                ..UpdatePromoCodeInput::default()
            },
            ACTOR,
        )
        .await
        .expect_err("Flex cannot change a limit");
    assert_eq!(
        codes(&error),
        [("input.maxRedemptions".to_string(), "IMMUTABLE")]
    );
    let error = h
        .service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                name: Some("Renamed".into()),
                ..UpdatePromoCodeInput::default()
            },
            ACTOR,
        )
        .await
        .expect_err("Flex holds the name on its coupon, which cannot change");
    assert_eq!(codes(&error), [("input.name".to_string(), "IMMUTABLE")]);
    let error = h
        .service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                expires_at: Patch::Set(Utc::now() + Duration::days(3)),
                ..UpdatePromoCodeInput::default()
            },
            ACTOR,
        )
        .await
        .expect_err("Flex has no expiry at all");
    assert!(codes(&error).contains(&("input.expiresAt".to_string(), "UNSUPPORTED_BY_PROVIDER")));
    let error = h
        .service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                status: Some(PromoCodeStatus::Archived),
                ..UpdatePromoCodeInput::default()
            },
            ACTOR,
        )
        .await
        .expect_err("archiving has its own operation");
    assert_eq!(codes(&error), [("input.status".to_string(), "INVALID")]);
    assert!(h.sandbox.state().journal().is_empty(), "nothing was sent");
    let unchanged = h
        .service
        .get(&created.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(unchanged.version, 1);
    assert_eq!(unchanged.max_redemptions, Some(5));
}

async fn unconfigured_providers_are_refused(db: TestDb) {
    let h = Harness::start(db).await;
    let connection = promohub_domain::store::connect(&h.db.url)
        .await
        .expect("db");
    let only_whop = PromoService::new(
        connection,
        promohub_domain::providers::Providers::new()
            .with(
                Provider::Whop,
                &promohub_domain::providers::ProviderConfig::new(
                    h.sandbox.base_url(Emulated::Whop),
                    h.sandbox.key(Emulated::Whop),
                ),
            )
            .expect("configured"),
        ServiceConfig::default(),
    );
    let error = only_whop
        .create(
            percent("NOWHERE", 10.0, &[Provider::Whop, Provider::Fynn]),
            ACTOR,
        )
        .await
        .expect_err("Fynn is not configured");
    assert_eq!(
        codes(&error),
        [("input.providers".to_string(), "NOT_CONFIGURED")]
    );
    assert!(error.user_errors()[0].message.contains("FYNN"));
    assert!(h.sandbox.state().journal().is_empty());
}

async fn codes_are_unique_ignoring_case(db: TestDb) {
    let h = Harness::start(db).await;
    h.create(percent("Spring-Sale", 10.0, &[Provider::Whop]))
        .await;
    let calls = h.sandbox.state().journal().len();
    let error = h
        .service
        .create(percent("SPRING-sale", 20.0, &[Provider::Fynn]), ACTOR)
        .await
        .expect_err("duplicate");
    assert_eq!(
        codes(&error),
        [("input.code".to_string(), "DUPLICATE_CODE")]
    );
    assert_eq!(
        h.sandbox.state().journal().len(),
        calls,
        "no provider was called"
    );
    let found = h
        .service
        .get_by_code("spring-SALE")
        .await
        .expect("lookup")
        .expect("found ignoring case");
    assert_eq!(found.code, "Spring-Sale", "stored as given");
}

async fn a_permanent_rejection_undoes_the_other_providers(db: TestDb) {
    let h = Harness::start(db).await;
    h.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("create_promo_code".into()),
        kind: FaultKind::Status { status: 422 },
        times: Some(1),
        apply: false,
    });
    let error = h
        .service
        .create(
            percent(
                "ALL_OR_NOTHING",
                10.0,
                &[Provider::Flex, Provider::Fynn, Provider::Whop],
            ),
            ACTOR,
        )
        .await
        .expect_err("Whop refuses");
    let errors = error.user_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, ErrorCode::ProviderRejected);
    assert!(errors[0].message.contains("WHOP") && errors[0].message.contains("Injected fault"));

    // Nothing active anywhere: Flex's code deactivated, Fynn's coupon deleted, nothing here.
    assert_eq!(
        operations(&h, Emulated::Flex),
        ["create_coupon", "create_promo_code", "update_promo_code"]
    );
    assert_eq!(
        sent(&h, Emulated::Flex, "update_promo_code"),
        [json!({ "promo_code": { "active": false } })]
    );
    assert_eq!(
        operations(&h, Emulated::Fynn),
        ["createCoupon", "getCoupon", "deleteCoupon"]
    );
    assert!(
        h.service
            .get_by_code("ALL_OR_NOTHING")
            .await
            .expect("lookup")
            .is_none()
    );
    assert_eq!(
        h.service
            .count(&ListFilter::default())
            .await
            .expect("count"),
        0
    );
    // The code is free: once Whop accepts, it can be created.
    let created = h
        .create(percent("ALL_OR_NOTHING", 10.0, &[Provider::Whop]))
        .await;
    assert!(synced(&created));
}

async fn a_transient_failure_stores_the_code_as_pending(db: TestDb) {
    let h = Harness::start(db).await;
    h.sandbox.state().inject(FaultSpec {
        provider: Emulated::Fynn,
        operation: Some("createCoupon".into()),
        kind: FaultKind::Status { status: 503 },
        times: Some(1),
        apply: false,
    });
    let created = h
        .create(percent("LATER", 10.0, &[Provider::Fynn, Provider::Whop]))
        .await;
    let fynn = created.provider(Provider::Fynn).expect("fynn link");
    assert_eq!(fynn.state, SyncState::Pending);
    assert_eq!(fynn.attempts, 1);
    assert!(
        fynn.last_error
            .as_deref()
            .is_some_and(|e| e.contains("Injected"))
    );
    assert_eq!(fynn.external_id, None);
    assert_eq!(
        created.provider(Provider::Whop).map(|p| p.state),
        Some(SyncState::Synced)
    );
    let pending = h
        .service
        .count(&ListFilter {
            sync_state: Some(SyncState::Pending),
            ..ListFilter::default()
        })
        .await
        .expect("count");
    assert_eq!(pending, 1);
}

async fn an_update_a_provider_rejects_changes_nothing(db: TestDb) {
    let h = Harness::start(db).await;
    let created = h
        .create(percent("REDEEMED", 10.0, &[Provider::Whop, Provider::Fynn]))
        .await;
    assert!(h.redeem(Emulated::Fynn, "REDEEMED"), "redeemed on Fynn");
    h.sandbox.state().clear_journal();
    let error = h
        .service
        .update(&created.id, status(PromoCodeStatus::Inactive), ACTOR)
        .await
        .expect_err("Fynn refuses changes to a redeemed coupon");
    let errors = error.user_errors();
    assert_eq!(errors[0].code, ErrorCode::ImmutableOnProvider);
    assert!(errors[0].message.contains("FYNN") && errors[0].message.contains("redeemed"));
    let after = h
        .service
        .get(&created.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (after.status, after.version),
        (PromoCodeStatus::Active, 1),
        "nothing changed here"
    );
    // Whop took the change before Fynn refused; it was put back.
    let whop = sent(&h, Emulated::Whop, "update_promo_code");
    assert_eq!(
        whop.iter().map(|b| b["status"].clone()).collect::<Vec<_>>(),
        [json!("inactive"), json!("active")]
    );
    // The lease was released: the next change is not a VERSION_CONFLICT (Fynn still refuses).
    let renamed = h
        .service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                expected_version: Some(1),
                name: Some("Same for Fynn".into()),
                ..UpdatePromoCodeInput::default()
            },
            ACTOR,
        )
        .await;
    assert!(
        codes(&renamed.expect_err("Fynn holds the name too"))
            .iter()
            .all(|(_, c)| *c == "IMMUTABLE_ON_PROVIDER")
    );
}

async fn concurrent_updates_have_one_winner(db: TestDb) {
    let h = Harness::start(db).await;
    let created = h.create(percent("RACE", 10.0, &[Provider::Whop])).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let service = h.service.clone();
            let id = created.id.clone();
            tokio::spawn(async move {
                service
                    .update(
                        &id,
                        UpdatePromoCodeInput {
                            expected_version: Some(1),
                            metadata: Some(json!({ "writer": i })),
                            ..UpdatePromoCodeInput::default()
                        },
                        ACTOR,
                    )
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(code) => {
                winners += 1;
                assert_eq!(code.version, 2);
            }
            Err(error) => assert_eq!(
                codes(&error),
                [("input.expectedVersion".to_string(), "VERSION_CONFLICT")]
            ),
        }
    }
    assert_eq!(winners, 1);
    let stored = h
        .service
        .get(&created.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(stored.version, 2);
    assert_eq!(
        sent(&h, Emulated::Whop, "update_promo_code").len(),
        1,
        "only the winner wrote to Whop"
    );
    let stale = h
        .service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                expected_version: Some(1),
                name: Some("late".into()),
                ..UpdatePromoCodeInput::default()
            },
            ACTOR,
        )
        .await
        .expect_err("stale version");
    assert_eq!(
        codes(&stale),
        [("input.expectedVersion".to_string(), "VERSION_CONFLICT")]
    );
}

async fn lists_filter_sort_and_page(db: TestDb) {
    let h = Harness::start(db).await;
    let soon = Utc::now() + Duration::days(2);
    let later = Utc::now() + Duration::days(20);
    for (code, provider, expires) in [
        ("alpha_1", Provider::Whop, Some(later)),
        ("ALPHA-2", Provider::Whop, None),
        ("alphax3", Provider::Fynn, Some(soon)),
        ("beta-1", Provider::Fynn, None),
        ("gamma-1", Provider::Whop, Some(soon)),
        ("delta-1", Provider::Fynn, None),
        ("epsilon-1", Provider::Whop, None),
    ] {
        let mut input = percent(code, 10.0, &[provider]);
        input.expires_at = expires;
        h.create(input).await;
    }
    let archived = h
        .service
        .get_by_code("delta-1")
        .await
        .expect("get")
        .expect("exists");
    h.archive(&archived.id).await;

    let list = |query: ListQuery| {
        let service = h.service.clone();
        async move {
            let page = service.list(query).await.expect("list");
            let codes: Vec<String> = page.items.iter().map(|(_, c)| c.code.clone()).collect();
            (page, codes)
        }
    };
    // Pages of 3 by code, following cursors: every code once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, codes) = list(ListQuery {
            first: Some(3),
            after: after.clone(),
            sort: SortField::Code,
            ..ListQuery::default()
        })
        .await;
        assert_eq!(
            h.service
                .count(&ListFilter::default())
                .await
                .expect("count"),
            7
        );
        seen.extend(codes);
        if !page.has_next_page {
            break;
        }
        after = page.items.last().map(|(cursor, _)| cursor.clone());
    }
    assert_eq!(
        seen,
        [
            "ALPHA-2",
            "alpha_1",
            "alphax3",
            "beta-1",
            "delta-1",
            "epsilon-1",
            "gamma-1"
        ]
    );
    let (_, descending) = list(ListQuery {
        sort: SortField::Code,
        descending: true,
        first: Some(2),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(descending, ["gamma-1", "epsilon-1"]);

    // Prefix filters treat _ (a LIKE wildcard) as a plain character.
    let (_, prefixed) = list(ListQuery {
        filter: ListFilter {
            code_prefix: Some("alpha_".into()),
            ..ListFilter::default()
        },
        ..ListQuery::default()
    })
    .await;
    assert_eq!(prefixed, ["alpha_1"]);
    let (_, prefixed) = list(ListQuery {
        filter: ListFilter {
            code_prefix: Some("ALPHA".into()),
            ..ListFilter::default()
        },
        sort: SortField::Code,
        ..ListQuery::default()
    })
    .await;
    assert_eq!(prefixed, ["ALPHA-2", "alpha_1", "alphax3"]);

    let on_fynn_filter = ListFilter {
        provider: Some(Provider::Fynn),
        status: Some(vec![PromoCodeStatus::Active]),
        ..ListFilter::default()
    };
    let (_, on_fynn) = list(ListQuery {
        filter: on_fynn_filter.clone(),
        sort: SortField::Code,
        ..ListQuery::default()
    })
    .await;
    assert_eq!(on_fynn, ["alphax3", "beta-1"]);
    assert_eq!(h.service.count(&on_fynn_filter).await.expect("count"), 2);

    // Expiry sorts put codes without one last, in both directions, and page across them.
    let mut by_expiry = Vec::new();
    let mut after = None;
    loop {
        let (page, codes) = list(ListQuery {
            first: Some(2),
            after: after.clone(),
            sort: SortField::ExpiresAt,
            ..ListQuery::default()
        })
        .await;
        by_expiry.extend(codes);
        if !page.has_next_page {
            break;
        }
        after = page.items.last().map(|(c, _)| c.clone());
    }
    assert_eq!(by_expiry.len(), 7);
    assert_eq!(by_expiry[2], "alpha_1");
    assert_eq!(
        HashSet::<&str>::from_iter(by_expiry[..2].iter().map(String::as_str)),
        HashSet::from(["alphax3", "gamma-1"])
    );
    let (_, expiring) = list(ListQuery {
        filter: ListFilter {
            expires_before: Some(Utc::now() + Duration::days(5)),
            ..ListFilter::default()
        },
        sort: SortField::Code,
        ..ListQuery::default()
    })
    .await;
    assert_eq!(expiring, ["alphax3", "gamma-1"]);

    let wrong = h
        .service
        .list(ListQuery {
            after: Some("nonsense".into()),
            ..ListQuery::default()
        })
        .await
        .expect_err("bad cursor");
    assert_eq!(codes(&wrong), [("after".to_string(), "INVALID")]);
    let too_many = h
        .service
        .list(ListQuery {
            first: Some(201),
            ..ListQuery::default()
        })
        .await
        .expect_err("too many");
    assert_eq!(codes(&too_many), [("first".to_string(), "INVALID")]);
}

async fn validation_gives_the_reason(db: TestDb) {
    let h = Harness::start(db).await;
    let mut input = percent("CHECK-ME", 10.0, &[Provider::Whop]);
    input.restrictions = Some(RestrictionsInput {
        plan_ids: Some(vec!["plan_a".into()]),
        ..RestrictionsInput::default()
    });
    let created = h.create(input).await;
    let reason = |v: Validation| v.invalid.map(InvalidReason::as_str);
    let check = |code: &'static str, provider, plan: Option<&'static str>| {
        let service = h.service.clone();
        async move {
            service
                .validate(code, provider, plan, None)
                .await
                .expect("validate")
        }
    };
    assert_eq!(reason(check("check-me", None, Some("plan_a")).await), None);
    assert_eq!(reason(check("nope", None, None).await), Some("NOT_FOUND"));
    assert_eq!(
        reason(check("CHECK-ME", Some(Provider::Flex), None).await),
        Some("NOT_ON_PROVIDER")
    );
    assert_eq!(
        reason(check("CHECK-ME", None, Some("plan_b")).await),
        Some("PLAN_NOT_ELIGIBLE")
    );
    // Only the named customer may redeem a customer-restricted code.
    let mut only_one = percent("ONE-CUSTOMER", 10.0, &[Provider::Flex]);
    only_one.restrictions = Some(RestrictionsInput {
        customer_id: Some("fcus_alice".into()),
        ..RestrictionsInput::default()
    });
    h.create(only_one).await;
    let for_customer = |customer: Option<&'static str>| {
        let service = h.service.clone();
        async move {
            service
                .validate("ONE-CUSTOMER", None, None, customer)
                .await
                .expect("validate")
        }
    };
    assert_eq!(reason(for_customer(Some("fcus_alice")).await), None);
    assert_eq!(
        reason(for_customer(Some("fcus_bob")).await),
        Some("CUSTOMER_NOT_ELIGIBLE")
    );
    // Used up, as the provider reports on the next sync.
    let mut twice = percent("TWICE-ONLY", 10.0, &[Provider::Whop]);
    twice.max_redemptions = Some(2);
    h.create(twice).await;
    assert_eq!(reason(check("TWICE-ONLY", None, None).await), None);
    for _ in 0..2 {
        assert!(h.redeem(Emulated::Whop, "TWICE-ONLY"), "redeemed");
    }
    h.service
        .sync_from_providers(Some(Provider::Whop))
        .await
        .expect("sync");
    assert_eq!(
        reason(check("TWICE-ONLY", None, None).await),
        Some("EXHAUSTED")
    );
    h.update(&created.id, status(PromoCodeStatus::Inactive))
        .await;
    assert_eq!(
        reason(check("CHECK-ME", None, None).await),
        Some("INACTIVE")
    );
    h.archive(&created.id).await;
    assert_eq!(
        reason(check("CHECK-ME", None, None).await),
        Some("ARCHIVED")
    );
}

async fn every_accepted_change_is_audited(db: TestDb) {
    use promohub_domain::entity::audit_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let h = Harness::start(db).await;
    let created = h
        .service
        .create(percent("AUDITED", 10.0, &[Provider::Whop]), "write:alice")
        .await
        .expect("created");
    h.service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                max_redemptions: Patch::Set(3),
                ..UpdatePromoCodeInput::default()
            },
            "write:bob",
        )
        .await
        .expect("updated");
    // A refused change is not audited.
    let _ = h
        .service
        .update(
            &created.id,
            UpdatePromoCodeInput {
                max_redemptions_per_customer: Patch::Set(1),
                ..UpdatePromoCodeInput::default()
            },
            "write:mallory",
        )
        .await
        .expect_err("Whop has no per-customer limit");
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::PromoCodeId.eq(created.id.as_str()))
        .order_by_asc(audit_log::Column::Id)
        .all(h.service.db())
        .await
        .expect("audit rows");
    let summary: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.actor.as_str(), r.action.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("write:alice", "create"), ("write:bob", "update")]
    );
    let changes: Value = serde_json::from_str(&rows[1].changes).expect("json");
    assert_eq!(
        changes,
        json!({ "maxRedemptions": { "from": null, "to": 3 } })
    );
}

#[tokio::test]
async fn migrations_run_twice_without_harm() {
    let db = promohub_test_support::sqlite();
    promohub_domain::store::connect(&db.url)
        .await
        .expect("first start");
    promohub_domain::store::connect(&db.url)
        .await
        .expect("second start");
    if let Some(pg) = promohub_test_support::postgres().await {
        promohub_domain::store::connect(&pg.url)
            .await
            .expect("first start");
        promohub_domain::store::connect(&pg.url)
            .await
            .expect("second start");
    }
}
