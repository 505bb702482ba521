//! The sandbox over real HTTP: every operation of the specs is served and documented, the
//! generated clients work against it (error paths included), and faults, redemptions and the
//! journal behave as the README says.

use std::time::Duration;

use promohub_clients::{ClientSettings, Error, flex, fynn, whop};
use promohub_sandbox::{
    FaultKind, FaultSpec, Provider, Redemption, RunningSandbox, SandboxConfig, spec_operations,
};
use serde_json::{Value, json};

async fn sandbox() -> RunningSandbox {
    RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts")
}

fn settings(sandbox: &RunningSandbox, provider: Provider) -> ClientSettings {
    ClientSettings::new(sandbox.base_url(provider), sandbox.key(provider))
        .with_timeout(Duration::from_secs(5))
}

fn flex_client(sandbox: &RunningSandbox) -> flex::Client {
    settings(sandbox, Provider::Flex).flex().expect("client")
}

fn fynn_client(sandbox: &RunningSandbox) -> fynn::Client {
    settings(sandbox, Provider::Fynn).fynn().expect("client")
}

fn whop_client(sandbox: &RunningSandbox) -> whop::Client {
    settings(sandbox, Provider::Whop).whop().expect("client")
}

/// The status and JSON body of an error the provider answered (error bodies are read raw).
async fn rejected<T: std::fmt::Debug>(
    result: Result<T, Error<promohub_clients::flex::ByteStream>>,
) -> (u16, Value) {
    use futures::StreamExt;
    match result {
        Err(Error::ErrorResponse(response)) => {
            let status = response.status().as_u16();
            let mut stream = response.into_inner().into_inner();
            let mut body = Vec::new();
            while let Some(chunk) = stream.next().await {
                body.extend_from_slice(&chunk.expect("body"));
            }
            (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        Err(other) => panic!("expected an error response, got {other:?}"),
        Ok(other) => panic!("expected an error response, got {other:?}"),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("valid test input")
}

// ---------------------------------------------------------------------------------------------
// Spec and emulator cannot drift apart

#[tokio::test]
async fn every_spec_operation_is_served_and_documented() {
    let sandbox = sandbox().await;
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{}/_sandbox/openapi.json", sandbox.url()))
        .send()
        .await
        .expect("openapi.json")
        .json()
        .await
        .expect("json");
    let mut checked = 0;
    for provider in Provider::ALL {
        let operations = spec_operations(provider).expect("spec parses");
        assert!(operations.len() >= 4, "{provider:?}: {operations:?}");
        for (method, path, id) in operations {
            let documented = &doc["paths"][format!("{}{path}", provider.mount())]
                [method.as_str().to_lowercase()];
            assert!(
                documented.is_object(),
                "{provider:?} {method} {path} ({id}) is missing from the sandbox's OpenAPI"
            );
            let url = format!(
                "{}{}",
                sandbox.base_url(provider),
                path.replace("{id}", "x")
            );
            let response = http
                .request(method.clone(), url)
                .bearer_auth(sandbox.key(provider))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert!(
                status != 405 && body.get("sandbox_error").is_none(),
                "{provider:?} {method} {path} ({id}) is not served: {status} {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "checked {checked} operations");
}

#[tokio::test]
async fn unknown_routes_and_bad_keys_are_refused_in_each_providers_shape() {
    let sandbox = sandbox().await;
    let http = reqwest::Client::new();
    let missing = http
        .get(format!("{}/flex/v1/nothing", sandbox.url()))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);

    let wrong = ClientSettings::new(sandbox.base_url(Provider::Flex), "wrong-key")
        .flex()
        .expect("client");
    let (status, body) = rejected(wrong.list_coupons(None).await).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"].is_string());

    let wrong = ClientSettings::new(sandbox.base_url(Provider::Fynn), "wrong-key")
        .fynn()
        .expect("client");
    let (status, body) = rejected(wrong.get_coupons(None, None).await).await;
    assert_eq!((status, body["status"].as_i64()), (401, Some(401)));

    let wrong = ClientSettings::new(sandbox.base_url(Provider::Whop), "")
        .whop()
        .expect("client");
    let (status, body) = rejected(wrong.list_promo_codes(None, None, None).await).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["status"].as_str(),
        Some("401"),
        "Whop's error model"
    );
}

#[tokio::test]
async fn configured_keys_replace_the_defaults() {
    let mut config = SandboxConfig::default();
    config.keys.insert(Provider::Whop, "sk_custom".into());
    let sandbox = RunningSandbox::start(config).await.expect("starts");
    assert_eq!(sandbox.key(Provider::Whop), "sk_custom");
    let default_key = ClientSettings::new(sandbox.base_url(Provider::Whop), "sk_sandbox_whop")
        .whop()
        .expect("client");
    let (status, _) = rejected(default_key.list_promo_codes(None, None, None).await).await;
    assert_eq!(status, 401);
    assert!(
        whop_client(&sandbox)
            .list_promo_codes(None, None, None)
            .await
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------------
// Flex

fn flex_coupon(body: Value) -> flex::types::CreateCouponRequest {
    from_json(json!({ "coupon": body }))
}

fn flex_code(coupon_id: &str, code: &str) -> flex::types::CreatePromoCodeRequest {
    from_json(
        json!({ "promo_code": { "coupon_id": coupon_id, "code": code, "max_redemptions": 2,
                                      "metadata": { "team": "growth" } } }),
    )
}

#[tokio::test]
async fn flex_coupons_and_promo_codes_follow_the_documented_rules() {
    let sandbox = sandbox().await;
    let client = flex_client(&sandbox);

    let coupon = client
        .create_coupon(&flex_coupon(
            json!({ "name": "Ten off", "duration": "once", "percent_off": 10.0 }),
        ))
        .await
        .expect("coupon created")
        .into_inner()
        .coupon;
    assert!(coupon.coupon_id.starts_with("fcoup_"));
    assert_eq!(coupon.percent_off, Some(10.0));
    assert!(coupon.valid && coupon.test_mode);

    for (body, why) in [
        (
            json!({ "name": "x", "duration": "once", "percent_off": 10.0, "amount_off": 100 }),
            "both amounts",
        ),
        (json!({ "name": "x", "duration": "once" }), "neither amount"),
        (
            json!({ "name": "x", "duration": "repeating", "amount_off": 100 }),
            "repeating without months",
        ),
        (
            json!({ "name": "x", "duration": "once", "percent_off": 100.5 }),
            "percent over 100",
        ),
    ] {
        let (status, error) = rejected(client.create_coupon(&flex_coupon(body)).await).await;
        assert_eq!(status, 400, "{why}");
        assert!(error["error"]["message"].is_string(), "{why}");
    }
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/coupons", sandbox.base_url(Provider::Flex)))
        .bearer_auth(sandbox.key(Provider::Flex))
        .json(&json!({ "coupon": { "name": "x", "duration": "sometimes", "amount_off": 1 } }))
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), 400, "an unknown enum value is refused");

    let fetched = client
        .get_coupon(&coupon.coupon_id)
        .await
        .expect("get coupon")
        .into_inner();
    assert_eq!(fetched.coupon.name, "Ten off");
    let (status, _) = rejected(client.get_coupon("fcoup_missing").await).await;
    assert_eq!(status, 404);
    let named = client.list_coupons(Some("Ten off")).await.expect("list");
    assert_eq!(named.into_inner().coupons.len(), 1);
    assert!(
        client
            .list_coupons(Some("Other"))
            .await
            .expect("list")
            .into_inner()
            .coupons
            .is_empty()
    );

    let code = client
        .create_promo_code(&flex_code(&coupon.coupon_id, "SUMMER24"))
        .await
        .expect("promo code created")
        .into_inner()
        .promo_code;
    let id = code.promo_code_id.clone().expect("id");
    assert!(id.starts_with("fpromo_") && id.len() == "fpromo_".len() + 26);
    assert_eq!(code.active, Some(true));
    assert_eq!(code.times_redeemed, Some(0));
    assert_eq!(
        code.coupon.map(|c| c.coupon_id),
        Some(coupon.coupon_id.clone())
    );

    let (status, _) = rejected(
        client
            .create_promo_code(&flex_code("fcoup_nope", "OTHER"))
            .await,
    )
    .await;
    assert_eq!(status, 400, "a promo code needs an existing coupon");
    let (status, error) = rejected(
        client
            .create_promo_code(&flex_code(&coupon.coupon_id, "summer24"))
            .await,
    )
    .await;
    assert_eq!(
        status, 400,
        "codes are unique ignoring case among active codes"
    );
    assert!(format!("{error:?}").contains("already exists"));

    let update: flex::types::UpdatePromoCodeRequest =
        from_json(json!({ "promo_code": { "active": false, "metadata": {} } }));
    let updated = client
        .update_promo_code(&id, &update)
        .await
        .expect("update")
        .into_inner()
        .promo_code;
    assert_eq!(updated.active, Some(false));
    assert_eq!(
        updated.metadata.and_then(|m| m.0).map(|m| m.len()),
        Some(0),
        "an empty metadata object clears it"
    );
    let inactive = client.list_promo_codes(Some(false)).await.expect("list");
    assert_eq!(inactive.into_inner().promo_codes.len(), 1);
    assert!(
        client
            .list_promo_codes(Some(true))
            .await
            .expect("list")
            .into_inner()
            .promo_codes
            .is_empty()
    );
    // With the old code inactive, its code is free again.
    client
        .create_promo_code(&flex_code(&coupon.coupon_id, "SUMMER24"))
        .await
        .expect("code reusable once the other is inactive");

    let got = client
        .get_promo_code(&id)
        .await
        .expect("get")
        .into_inner()
        .promo_code;
    assert_eq!(got.code.as_deref(), Some("SUMMER24"));
    let (status, _) = rejected(client.get_promo_code("fpromo_missing").await).await;
    assert_eq!(status, 404);

    let immutable = reqwest::Client::new()
        .post(format!(
            "{}/v1/promo_codes/{id}",
            sandbox.base_url(Provider::Flex)
        ))
        .bearer_auth(sandbox.key(Provider::Flex))
        .json(&json!({ "promo_code": { "max_redemptions": 5 } }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        immutable.status(),
        400,
        "only active and metadata can change"
    );
}

#[tokio::test]
async fn flex_redemptions_count_and_respect_limits() {
    let sandbox = sandbox().await;
    let client = flex_client(&sandbox);
    let coupon = client
        .create_coupon(&flex_coupon(
            json!({ "name": "Five", "duration": "forever", "amount_off": 500 }),
        ))
        .await
        .expect("coupon")
        .into_inner()
        .coupon;
    client
        .create_promo_code(&flex_code(&coupon.coupon_id, "TWICE"))
        .await
        .expect("code");
    let by_code = Redemption {
        code: Some("twice".into()),
        ..Redemption::default()
    };
    let state = sandbox.state();
    let first = state.redeem(Provider::Flex, &by_code).expect("first");
    assert_eq!(first["times_redeemed"], 1);
    assert_eq!(first["coupon"]["times_redeemed"], 1);
    state.redeem(Provider::Flex, &by_code).expect("second");
    let third = state.redeem(Provider::Flex, &by_code);
    assert!(
        matches!(third, Err(promohub_sandbox::RedeemError::Refused(_))),
        "{third:?}"
    );
    let listed = client
        .list_promo_codes(None)
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.promo_codes[0].times_redeemed, Some(2));
}

// ---------------------------------------------------------------------------------------------
// Fynn

fn fynn_coupon(code: &str, extra: Value) -> fynn::types::CouponWrite {
    let mut body = json!({
        "code": code, "name": format!("Coupon {code}"), "type": "percentage", "percentage": 15,
        "fixedAmount": null, "frequency": "once", "frequencyInterval": null,
        "maxRedemptions": 10, "maxRedemptionsPerCustomer": null, "expiresAt": null,
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    from_json(body)
}

#[tokio::test]
async fn fynn_coupons_follow_the_documented_rules() {
    let sandbox = sandbox().await;
    let client = fynn_client(&sandbox);

    let created = client
        .create_coupon(&fynn_coupon("SPRING", json!({})))
        .await
        .expect("created");
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    let id = created.id.clone().expect("id");
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "Fynn ids are UUIDs: {id}"
    );
    assert_eq!(created.reedemptions, Some(false));
    assert_eq!(created.is_enabled, Some(true));

    let fixed = client
        .create_coupon(&fynn_coupon(
            "FIXED",
            json!({ "type": "fixed_amount", "percentage": null,
                    "fixedAmount": { "amount": 500, "currency": "EUR" },
                    "frequency": "limited", "frequencyInterval": 3 }),
        ))
        .await
        .expect("fixed amount coupon")
        .into_inner();
    assert_eq!(fixed.fixed_amount.map(|f| f.amount), Some(500));

    for (extra, field) in [
        (json!({ "percentage": null }), "percentage"),
        (json!({ "percentage": 101 }), "percentage"),
        (
            json!({ "fixedAmount": { "amount": 1, "currency": "EUR" } }),
            "fixedAmount",
        ),
        (json!({ "frequency": "limited" }), "frequencyInterval"),
        (json!({ "maxRedemptions": 0 }), "maxRedemptions"),
    ] {
        let (status, problem) = rejected(
            client
                .create_coupon(&fynn_coupon("BAD", extra.clone()))
                .await,
        )
        .await;
        assert_eq!(status, 422, "{extra}");
        assert_eq!(
            problem["violations"][0]["propertyPath"].as_str(),
            Some(field),
            "{extra}"
        );
    }
    let (status, problem) = rejected(
        client
            .create_coupon(&fynn_coupon("spring", json!({})))
            .await,
    )
    .await;
    assert_eq!(status, 422, "duplicate code");
    assert_eq!(
        problem["violations"][0]["propertyPath"].as_str(),
        Some("code")
    );

    // Absent nullable fields default to null, as the docs say.
    let minimal = reqwest::Client::new()
        .post(format!("{}/coupons", sandbox.base_url(Provider::Fynn)))
        .bearer_auth(sandbox.key(Provider::Fynn))
        .json(
            &json!({ "code": "MIN", "name": "Min", "type": "percentage", "percentage": 5,
                       "frequency": "lifetime" }),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(minimal.status(), 201);
    let malformed = reqwest::Client::new()
        .post(format!("{}/coupons", sandbox.base_url(Provider::Fynn)))
        .bearer_auth(sandbox.key(Provider::Fynn))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), 400);

    // PUT replaces the whole coupon: what is not sent is reset.
    let replaced = client
        .update_coupon(
            &id,
            &fynn_coupon(
                "SPRING",
                json!({ "name": "Spring sale", "maxRedemptions": null }),
            ),
        )
        .await
        .expect("replaced")
        .into_inner();
    assert_eq!(replaced.name, "Spring sale");
    assert_eq!(replaced.max_redemptions, None);
    let got = client.get_coupon(&id).await.expect("get").into_inner();
    assert_eq!(got.name, "Spring sale");
    let (status, _) = rejected(client.get_coupon("nope").await).await;
    assert_eq!(status, 404);
    let (status, _) = rejected(
        client
            .update_coupon("nope", &fynn_coupon("X", json!({})))
            .await,
    )
    .await;
    assert_eq!(status, 404);

    // Once redeemed, neither changed nor deleted.
    sandbox
        .state()
        .redeem(
            Provider::Fynn,
            &Redemption {
                id: Some(id.clone()),
                ..Redemption::default()
            },
        )
        .expect("redeemed");
    assert_eq!(
        client
            .get_coupon(&id)
            .await
            .expect("get")
            .into_inner()
            .reedemptions,
        Some(true)
    );
    let (status, _) = rejected(
        client
            .update_coupon(&id, &fynn_coupon("SPRING", json!({})))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = rejected(client.delete_coupon(&id).await).await;
    assert_eq!(status, 400);

    let fixed_id = fixed.id.expect("id");
    assert_eq!(
        client
            .delete_coupon(&fixed_id)
            .await
            .expect("deleted")
            .status()
            .as_u16(),
        204
    );
    let (status, _) = rejected(client.get_coupon(&fixed_id).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn fynn_lists_page_with_page_and_limit() {
    let sandbox = sandbox().await;
    let client = fynn_client(&sandbox);
    for i in 0..5 {
        client
            .create_coupon(&fynn_coupon(&format!("PAGE{i}"), json!({})))
            .await
            .expect("created");
    }
    let limit = std::num::NonZeroU64::new(2);
    let second = client
        .get_coupons(limit, std::num::NonZeroU64::new(2))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(
        second
            .data
            .iter()
            .map(|c| c["code"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["PAGE2", "PAGE3"]
    );
    let pagination = second.meta.and_then(|m| m.pagination).expect("pagination");
    assert_eq!(pagination.total_items, Some(5));
    assert_eq!(pagination.last_page, Some(3));
    assert_eq!(pagination.current_page, Some(2));
    // The list view shows fewer fields than the detail, as documented.
    assert!(second.data[0].get("maxRedemptionsPerCustomer").is_none());
    let (status, _) = rejected(
        client
            .get_coupons(std::num::NonZeroU64::new(100), None)
            .await,
    )
    .await;
    assert_eq!(status, 400, "limit must stay below 100");
}

// ---------------------------------------------------------------------------------------------
// Whop

fn whop_code(code: &str, extra: Value) -> whop::types::CreatePromoCode {
    let mut body = json!({ "code": code, "amount_off": 20.0, "base_currency": "usd",
                           "promo_type": "percentage", "stock": 2, "unlimited_stock": false });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    from_json(body)
}

#[tokio::test]
async fn whop_promo_codes_follow_the_documented_rules() {
    let sandbox = sandbox().await;
    let client = whop_client(&sandbox);

    let created = client
        .create_promo_code(&whop_code("WHOP20", json!({ "plan_ids": ["plan_a"] })))
        .await
        .expect("created");
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    let id = created.id.clone().expect("id");
    assert!(id.starts_with("promo_") && id.len() == "promo_".len() + 13);
    assert_eq!(created.status, Some(whop::types::Status::Active));
    assert_eq!(created.stock, Some(2));
    let age = chrono::Utc::now().timestamp() - created.created_at.expect("created_at");
    assert!((0..60).contains(&age), "created_at is unix seconds");

    for (extra, why) in [
        (json!({ "amount_off": 120.0 }), "percent over 100"),
        (json!({ "amount_off": 0.0 }), "zero amount"),
        (
            json!({ "expiration_datetime": 1_000_000 }),
            "expiry in the past",
        ),
    ] {
        let (status, error) =
            rejected(client.create_promo_code(&whop_code("BAD", extra)).await).await;
        assert_eq!(status, 400, "{why}");
        assert!(error["error"]["message"].is_string(), "{why}");
    }
    let (status, _) = rejected(
        client
            .create_promo_code(&whop_code("whop20", json!({})))
            .await,
    )
    .await;
    assert_eq!(status, 400, "duplicate code");

    let retrieved = client
        .retrieve_promo_code(&id)
        .await
        .expect("retrieve")
        .into_inner();
    assert_eq!(retrieved.code.as_deref(), Some("WHOP20"));
    let (status, _) = rejected(client.retrieve_promo_code("promo_missing").await).await;
    assert_eq!(status, 404);

    let update: whop::types::UpdatePromoCode =
        from_json(json!({ "status": "inactive", "plan_ids": [], "stock": 5 }));
    let updated = client
        .update_promo_code(&id, &update)
        .await
        .expect("update");
    assert_eq!(updated.status().as_u16(), 201, "Whop answers 201 on update");
    let updated = updated.into_inner();
    assert_eq!(updated.status, Some(whop::types::Status::Inactive));
    assert_eq!(updated.stock, Some(5));
    assert!(
        updated.plan_ids.is_empty(),
        "an empty plan list is sent and kept"
    );

    let immutable = reqwest::Client::new()
        .post(format!(
            "{}/v2/promo_codes/{id}",
            sandbox.base_url(Provider::Whop)
        ))
        .bearer_auth(sandbox.key(Provider::Whop))
        .json(&json!({ "amount_off": 50 }))
        .send()
        .await
        .expect("request");
    assert_eq!(immutable.status(), 400, "amount_off cannot change");
    let (status, _) = rejected(client.update_promo_code("promo_missing", &update).await).await;
    assert_eq!(status, 404);

    let unused = client
        .create_promo_code(&whop_code("UNUSED", json!({})))
        .await
        .expect("created")
        .into_inner()
        .id
        .expect("id");
    assert_eq!(
        client
            .delete_promo_code(&unused)
            .await
            .expect("deleted")
            .status()
            .as_u16(),
        204
    );
    let (status, _) = rejected(client.delete_promo_code(&unused).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn whop_stock_and_statuses_govern_redemptions() {
    let sandbox = sandbox().await;
    let client = whop_client(&sandbox);
    let id = client
        .create_promo_code(&whop_code("STOCK", json!({})))
        .await
        .expect("created")
        .into_inner()
        .id
        .expect("id");
    let by_id = Redemption {
        id: Some(id.clone()),
        ..Redemption::default()
    };
    let state = sandbox.state();
    let after = state.redeem(Provider::Whop, &by_id).expect("redeemed");
    assert_eq!(
        (after["uses"].clone(), after["stock"].clone()),
        (json!(1), json!(1))
    );
    state.redeem(Provider::Whop, &by_id).expect("redeemed");
    assert!(
        state.redeem(Provider::Whop, &by_id).is_err(),
        "out of stock"
    );

    let (status, _) = rejected(client.delete_promo_code(&id).await).await;
    assert_eq!(status, 400, "a used code cannot be deleted");
    let archive: whop::types::UpdatePromoCode = from_json(json!({ "status": "archived" }));
    client
        .update_promo_code(&id, &archive)
        .await
        .expect("archived instead");
    let archived = client
        .list_promo_codes(None, None, Some(whop::types::Status::Archived))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(archived.data.len(), 1);
}

#[tokio::test]
async fn whop_lists_page_with_page_and_per() {
    let sandbox = sandbox().await;
    let client = whop_client(&sandbox);
    for i in 0..3 {
        client
            .create_promo_code(&whop_code(&format!("P{i}"), json!({})))
            .await
            .expect("created");
    }
    let page = client
        .list_promo_codes(Some(2), Some(2), None)
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].code.as_deref(), Some("P2"));
    let pagination = page.pagination.expect("pagination");
    assert_eq!(
        (
            pagination.current_page,
            pagination.total_page,
            pagination.total_count
        ),
        (Some(2), Some(2), Some(3))
    );
}

// ---------------------------------------------------------------------------------------------
// Faults, journal, control API

#[tokio::test]
async fn a_fault_fails_n_times_then_the_operation_succeeds() {
    let sandbox = sandbox().await;
    let client = whop_client(&sandbox);
    sandbox.state().inject(FaultSpec {
        provider: Provider::Whop,
        operation: Some("create_promo_code".into()),
        kind: FaultKind::Status { status: 503 },
        times: Some(2),
        apply: false,
    });
    for _ in 0..2 {
        let (status, _) = rejected(
            client
                .create_promo_code(&whop_code("FLAKY", json!({})))
                .await,
        )
        .await;
        assert_eq!(status, 503);
    }
    client
        .create_promo_code(&whop_code("FLAKY", json!({})))
        .await
        .expect("third try succeeds");
    let journal = sandbox.state().journal_of(Provider::Whop);
    let statuses: Vec<_> = journal.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(201)]);
    assert_eq!(journal[0].fault.as_deref(), Some("status 503"));
    assert_eq!(journal[0].operation, "create_promo_code");
    assert_eq!(
        journal[0].headers.get("authorization").map(String::as_str),
        Some("<redacted>"),
        "the key never reaches the journal"
    );
}

#[tokio::test]
async fn rate_limits_carry_retry_after_and_the_providers_body() {
    let sandbox = sandbox().await;
    sandbox.state().inject(FaultSpec {
        provider: Provider::Whop,
        operation: None,
        kind: FaultKind::RateLimit {
            retry_after_secs: 7,
        },
        times: Some(1),
        apply: false,
    });
    match whop_client(&sandbox)
        .list_promo_codes(None, None, None)
        .await
    {
        Err(Error::ErrorResponse(response)) => {
            assert_eq!(response.status().as_u16(), 429);
            assert_eq!(
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("7")
            );
            let (_, body) = rejected::<()>(Err(Error::ErrorResponse(response))).await;
            assert_eq!(body["message"], "You are being rate limited");
        }
        other => panic!("expected a 429, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_answer_times_out_but_the_write_lands() {
    let sandbox = sandbox().await;
    sandbox.state().inject(FaultSpec {
        provider: Provider::Fynn,
        operation: Some("createCoupon".into()),
        kind: FaultKind::Latency { ms: 3_000 },
        times: Some(1),
        apply: true,
    });
    let impatient = settings(&sandbox, Provider::Fynn)
        .with_timeout(Duration::from_millis(300))
        .fynn()
        .expect("client");
    let result = impatient
        .create_coupon(&fynn_coupon("SLOW", json!({})))
        .await;
    assert!(
        matches!(&result, Err(Error::CommunicationError(e)) if e.is_timeout()),
        "{result:?}"
    );
    let listed = fynn_client(&sandbox)
        .get_coupons(None, None)
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed.data.len(),
        1,
        "the coupon exists although the caller gave up"
    );
}

#[tokio::test]
async fn a_dropped_connection_leaves_no_answer_and_applies_only_when_asked() {
    let sandbox = sandbox().await;
    let client = flex_client(&sandbox);
    for apply in [false, true] {
        sandbox.state().inject(FaultSpec {
            provider: Provider::Flex,
            operation: Some("create_coupon".into()),
            kind: FaultKind::Drop,
            times: Some(1),
            apply,
        });
        let result = client
            .create_coupon(&flex_coupon(
                json!({ "name": "Dropped", "duration": "once", "amount_off": 100 }),
            ))
            .await;
        assert!(
            matches!(
                result,
                Err(Error::CommunicationError(_) | Error::ResponseBodyError(_))
            ),
            "apply={apply}: {result:?}"
        );
    }
    let coupons = client.list_coupons(None).await.expect("list").into_inner();
    assert_eq!(coupons.coupons.len(), 1, "only the applied attempt landed");
}

#[tokio::test]
async fn the_control_api_works_over_http() {
    let sandbox = sandbox().await;
    let http = reqwest::Client::new();
    let control = format!("{}/_sandbox", sandbox.url());

    let added = http
        .post(format!("{control}/faults"))
        .json(
            &json!({ "provider": "flex", "operation": "list_coupons", "kind": "status",
                       "status": 500, "times": 1 }),
        )
        .send()
        .await
        .expect("add fault");
    assert_eq!(added.status(), 201);
    let bad = http
        .post(format!("{control}/faults"))
        .json(&json!({ "provider": "flex", "operation": "no_such_op", "kind": "drop" }))
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 400, "unknown operations are refused");
    let faults: Value = http
        .get(format!("{control}/faults"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(faults.as_array().map(Vec::len), Some(1));

    let client = flex_client(&sandbox);
    let (status, _) = rejected(client.list_coupons(None).await).await;
    assert_eq!(status, 500);
    let coupon = client
        .create_coupon(&flex_coupon(
            json!({ "name": "C", "duration": "once", "amount_off": 100 }),
        ))
        .await
        .expect("coupon")
        .into_inner()
        .coupon;
    client
        .create_promo_code(&flex_code(&coupon.coupon_id, "HTTP1"))
        .await
        .expect("code");

    let redeemed = http
        .post(format!("{control}/flex/redemptions"))
        .json(&json!({ "code": "HTTP1" }))
        .send()
        .await
        .expect("redeem");
    assert_eq!(redeemed.status(), 200);
    let body: Value = redeemed.json().await.expect("json");
    assert_eq!(body["times_redeemed"], 1);
    let missing = http
        .post(format!("{control}/whop/redemptions"))
        .json(&json!({ "code": "NOPE" }))
        .send()
        .await
        .expect("redeem");
    assert_eq!(missing.status(), 404);

    let journal: Vec<Value> = http
        .get(format!(
            "{control}/journal?provider=flex&operation=create_promo_code"
        ))
        .send()
        .await
        .expect("journal")
        .json()
        .await
        .expect("json");
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["body"]["promo_code"]["code"], "HTTP1");
    assert_eq!(journal[0]["path"], "/v1/promo_codes");

    let reset = http
        .post(format!("{control}/reset"))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 204);
    assert!(sandbox.state().journal().is_empty());
    assert!(
        client
            .list_promo_codes(None)
            .await
            .expect("list")
            .into_inner()
            .promo_codes
            .is_empty()
    );
}

#[tokio::test]
async fn whop_lists_cap_total_count_at_50_and_show_plans_as_a_string() {
    let sandbox = sandbox().await;
    let client = whop_client(&sandbox);
    for n in 0..60 {
        let plans = if n == 0 {
            json!({ "plan_ids": ["plan_a", "plan_b"] })
        } else {
            json!({})
        };
        client
            .create_promo_code(&whop_code(&format!("CAP{n:02}"), plans))
            .await
            .expect("created");
    }
    let first = client
        .list_promo_codes(Some(1), Some(50), None)
        .await
        .expect("page 1")
        .into_inner();
    let pagination = first.pagination.expect("pagination");
    // "automatically maxed out at 50": the count, and the page count with it.
    assert_eq!(pagination.total_count, Some(50));
    assert_eq!(pagination.total_page, Some(1));
    assert_eq!(first.data.len(), 50);
    assert_eq!(first.data[0].plans, Some(json!("plan_a,plan_b")));
    let second = client
        .list_promo_codes(Some(2), Some(50), None)
        .await
        .expect("page 2 exists although total_page says 1")
        .into_inner();
    assert_eq!(second.data.len(), 10);
    assert_eq!(second.data[0].plans, Some(json!("")));
}

#[tokio::test]
async fn fynn_raw_coupons_and_a_success_status_fault() {
    let sandbox = sandbox().await;
    let http = reqwest::Client::new();
    let stored: Value = http
        .post(format!("{}/_sandbox/fynn/raw_coupons", sandbox.url()))
        .json(&json!({ "code": "ODD", "type": "buy_x_get_y" }))
        .send()
        .await
        .expect("stored")
        .json()
        .await
        .expect("json");
    let id = stored["id"].as_str().expect("an id was given").to_string();
    let client = fynn_client(&sandbox);
    let list = client
        .get_coupons(None, None)
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.data, std::slice::from_ref(&stored), "shown as stored");
    let detail: Value = http
        .get(format!("{}/coupons/{id}", sandbox.base_url(Provider::Fynn)))
        .bearer_auth(sandbox.key(Provider::Fynn))
        .send()
        .await
        .expect("detail")
        .json()
        .await
        .expect("json");
    assert_eq!(detail, stored);

    let added = http
        .post(format!("{}/_sandbox/faults", sandbox.url()))
        .json(&json!({ "provider": "fynn", "operation": "createCoupon",
                       "kind": "success_status", "status": 200, "times": 1 }))
        .send()
        .await
        .expect("fault");
    assert_eq!(added.status(), 201);
    let answer = http
        .post(format!("{}/coupons", sandbox.base_url(Provider::Fynn)))
        .bearer_auth(sandbox.key(Provider::Fynn))
        .json(
            &json!({ "code": "TWOHUNDRED", "name": "n", "type": "percentage",
                       "percentage": 5, "frequency": "once" }),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(answer.status(), 200, "the create landed and answered 200");
}
