//! Table-driven tests of every rule: each row an input, the providers, and the error
//! expected (field path and code), or none. The end-to-end tests (tests/domain.rs) check that a
//! refused input stores nothing and calls no provider; here each rule is checked on its own.

use chrono::{Duration as Days, Utc};
use serde_json::{Map, Value, json};

use super::inputs::json_depth;
use super::*;
use crate::error::ErrorCode;
use crate::model::{
    CreatePromoCodeInput, DiscountInput, DiscountType, DurationInput, DurationType, Patch,
    RestrictionsInput, SyncState,
};

/// A create that every provider accepts, changed by `change`.
fn create(
    providers: &[Provider],
    change: impl FnOnce(&mut CreatePromoCodeInput),
) -> CreatePromoCodeInput {
    let mut input = CreatePromoCodeInput {
        code: "GOOD_CODE".into(),
        discount: DiscountInput {
            kind: Some(DiscountType::Percentage),
            percent_off: Some(10.0),
            ..Default::default()
        },
        providers: providers.to_vec(),
        ..Default::default()
    };
    change(&mut input);
    input
}

fn fixed(input: &mut CreatePromoCodeInput, amount: i64, currency: &str) {
    input.discount = DiscountInput {
        kind: Some(DiscountType::FixedAmount),
        amount_off: Some(amount),
        currency: Some(currency.into()),
        ..Default::default()
    };
}

/// Every error as (field path, code).
fn found(errors: &[UserError]) -> Vec<(String, ErrorCode)> {
    errors.iter().map(|e| (e.field.join("."), e.code)).collect()
}

type CreateRow = (
    &'static str,
    CreatePromoCodeInput,
    Option<(&'static str, ErrorCode)>,
);

fn check_create_rows(rows: Vec<CreateRow>) {
    for (name, input, expected) in rows {
        let result = validate_create(&input, Utc::now());
        match (expected, result) {
            (None, Ok(_)) => {}
            (None, Err(errors)) => panic!("{name}: refused {:?}", found(&errors)),
            (Some((field, code)), Ok(_)) => panic!("{name}: accepted, expected {field} {code:?}"),
            (Some((field, code)), Err(errors)) => assert!(
                found(&errors).contains(&(field.to_string(), code)),
                "{name}: expected {field} {code:?}, got {:?}",
                found(&errors)
            ),
        }
    }
}

#[test]
fn every_input_rule_on_create() {
    use ErrorCode::{Invalid, Required};
    let whop = [Provider::Whop];
    let rows: Vec<CreateRow> = vec![
        ("a good code", create(&whop, |_| {}), None),
        (
            "no code",
            create(&whop, |i| i.code.clear()),
            Some(("input.code", Required)),
        ),
        (
            "2 characters",
            create(&whop, |i| i.code = "AB".into()),
            Some(("input.code", Invalid)),
        ),
        (
            "3 characters",
            create(&whop, |i| i.code = "ABC".into()),
            None,
        ),
        (
            "a space",
            create(&whop, |i| i.code = "has space".into()),
            Some(("input.code", Invalid)),
        ),
        (
            "64 characters",
            create(&whop, |i| i.code = "X".repeat(64)),
            None,
        ),
        (
            "65 characters",
            create(&whop, |i| i.code = "X".repeat(65)),
            Some(("input.code", Invalid)),
        ),
        (
            "blank name",
            create(&whop, |i| i.name = Some("  ".into())),
            Some(("input.name", Invalid)),
        ),
        (
            "201-character name",
            create(&whop, |i| i.name = Some("n".repeat(201))),
            Some(("input.name", Invalid)),
        ),
        (
            "200-character name",
            create(&whop, |i| i.name = Some("n".repeat(200))),
            None,
        ),
        (
            "0 percent",
            create(&whop, |i| i.discount.percent_off = Some(0.0)),
            Some(("input.discount.percentOff", Invalid)),
        ),
        (
            "100 percent",
            create(&whop, |i| i.discount.percent_off = Some(100.0)),
            None,
        ),
        (
            "100.5 percent",
            create(&whop, |i| i.discount.percent_off = Some(100.5)),
            Some(("input.discount.percentOff", Invalid)),
        ),
        (
            "NaN percent",
            create(&whop, |i| i.discount.percent_off = Some(f64::NAN)),
            Some(("input.discount.percentOff", Invalid)),
        ),
        (
            "no percent",
            create(&whop, |i| i.discount.percent_off = None),
            Some(("input.discount.percentOff", Required)),
        ),
        (
            "currency on a percentage",
            create(&whop, |i| i.discount.currency = Some("USD".into())),
            Some(("input.discount.amountOff", Invalid)),
        ),
        (
            "no discount type",
            create(&whop, |i| i.discount.kind = None),
            Some(("input.discount.type", Required)),
        ),
        (
            "0 cents",
            create(&whop, |i| fixed(i, 0, "USD")),
            Some(("input.discount.amountOff", Invalid)),
        ),
        (
            "lower-case currency",
            create(&whop, |i| fixed(i, 100, "usd")),
            Some(("input.discount.currency", Invalid)),
        ),
        (
            "no such currency",
            create(&whop, |i| fixed(i, 100, "XYZ")),
            Some(("input.discount.currency", Invalid)),
        ),
        (
            "no currency",
            create(&whop, |i| {
                fixed(i, 100, "USD");
                i.discount.currency = None;
            }),
            Some(("input.discount.currency", Required)),
        ),
        (
            "percent on a fixed amount",
            create(&whop, |i| {
                fixed(i, 100, "USD");
                i.discount.percent_off = Some(5.0);
            }),
            Some(("input.discount.percentOff", Invalid)),
        ),
        (
            "repeating without periods",
            create(&whop, |i| {
                i.duration = Some(DurationInput {
                    kind: DurationType::Repeating,
                    periods: None,
                })
            }),
            Some(("input.duration.periods", Required)),
        ),
        (
            "0 periods",
            create(&whop, |i| {
                i.duration = Some(DurationInput {
                    kind: DurationType::Repeating,
                    periods: Some(0),
                })
            }),
            Some(("input.duration.periods", Invalid)),
        ),
        (
            "1200 periods",
            create(&whop, |i| {
                i.duration = Some(DurationInput {
                    kind: DurationType::Repeating,
                    periods: Some(1200),
                })
            }),
            None,
        ),
        (
            "1201 periods",
            create(&whop, |i| {
                i.duration = Some(DurationInput {
                    kind: DurationType::Repeating,
                    periods: Some(1201),
                })
            }),
            Some(("input.duration.periods", Invalid)),
        ),
        (
            "periods on once",
            create(&whop, |i| {
                i.duration = Some(DurationInput {
                    kind: DurationType::Once,
                    periods: Some(2),
                })
            }),
            Some(("input.duration.periods", Invalid)),
        ),
        (
            "a limit of 0",
            create(&whop, |i| i.max_redemptions = Some(0)),
            Some(("input.maxRedemptions", Invalid)),
        ),
        (
            "a limit of 1",
            create(&whop, |i| i.max_redemptions = Some(1)),
            None,
        ),
        (
            "a per-customer limit below 1",
            create(&[Provider::Fynn], |i| {
                i.max_redemptions_per_customer = Some(-1)
            }),
            Some(("input.maxRedemptionsPerCustomer", Invalid)),
        ),
        (
            "expired a minute ago",
            create(&whop, |i| {
                i.expires_at = Some(Utc::now() - Days::minutes(1))
            }),
            Some(("input.expiresAt", Invalid)),
        ),
        (
            "expires tomorrow",
            create(&whop, |i| i.expires_at = Some(Utc::now() + Days::days(1))),
            None,
        ),
        (
            "metadata a list",
            create(&whop, |i| i.metadata = Some(json!([1, 2]))),
            Some(("input.metadata", Invalid)),
        ),
        (
            "metadata null",
            create(&whop, |i| i.metadata = Some(Value::Null)),
            None,
        ),
        (
            "an empty plan id",
            create(&whop, |i| {
                i.restrictions = Some(RestrictionsInput {
                    plan_ids: Some(vec![String::new()]),
                    ..Default::default()
                })
            }),
            Some(("input.restrictions.planIds", Invalid)),
        ),
        (
            "no provider",
            create(&[], |_| {}),
            Some(("input.providers", Required)),
        ),
        (
            "a provider twice",
            create(&[Provider::Whop, Provider::Whop], |_| {}),
            Some(("input.providers", Invalid)),
        ),
    ];
    check_create_rows(rows);
}

#[test]
fn what_each_provider_cannot_hold_is_refused_on_create() {
    use ErrorCode::UnsupportedByProvider as Unsupported;
    use Provider::{Flex, Fynn, Whop};
    let tomorrow = Utc::now() + Days::days(1);
    let plans = || {
        Some(RestrictionsInput {
            plan_ids: Some(vec!["plan_1".into()]),
            ..Default::default()
        })
    };
    let products = || {
        Some(RestrictionsInput {
            product_ids: Some(vec!["prod_1".into()]),
            ..Default::default()
        })
    };
    let customer = || {
        Some(RestrictionsInput {
            customer_id: Some("cus_1".into()),
            ..Default::default()
        })
    };
    let new_only = || {
        Some(RestrictionsInput {
            new_customers_only: Some(true),
            ..Default::default()
        })
    };
    let rows: Vec<CreateRow> = vec![
        (
            "Flex: expiry",
            create(&[Flex], |i| i.expires_at = Some(tomorrow)),
            Some(("input.expiresAt", Unsupported)),
        ),
        (
            "Fynn: expiry",
            create(&[Fynn], |i| i.expires_at = Some(tomorrow)),
            None,
        ),
        (
            "Whop: expiry",
            create(&[Whop], |i| i.expires_at = Some(tomorrow)),
            None,
        ),
        (
            "Flex: EUR",
            create(&[Flex], |i| fixed(i, 100, "EUR")),
            Some(("input.discount.currency", Unsupported)),
        ),
        ("Flex: USD", create(&[Flex], |i| fixed(i, 100, "USD")), None),
        (
            "Fynn: any ISO currency",
            create(&[Fynn], |i| fixed(i, 100, "ISK")),
            None,
        ),
        (
            "Whop: a currency it lacks",
            create(&[Whop], |i| fixed(i, 100, "ISK")),
            Some(("input.discount.currency", Unsupported)),
        ),
        (
            "Fynn: 12.5 percent",
            create(&[Fynn], |i| i.discount.percent_off = Some(12.5)),
            Some(("input.discount.percentOff", Unsupported)),
        ),
        (
            "Flex: 12.5 percent",
            create(&[Flex], |i| i.discount.percent_off = Some(12.5)),
            None,
        ),
        (
            "Fynn: metadata",
            create(&[Fynn], |i| i.metadata = Some(json!({"a": "b"}))),
            Some(("input.metadata", Unsupported)),
        ),
        (
            "Flex: string metadata",
            create(&[Flex], |i| i.metadata = Some(json!({"a": "b"}))),
            None,
        ),
        (
            "Flex: a number in metadata",
            create(&[Flex], |i| i.metadata = Some(json!({"n": 1}))),
            Some(("input.metadata", Unsupported)),
        ),
        (
            "Whop: a number in metadata",
            create(&[Whop], |i| i.metadata = Some(json!({"n": 1}))),
            None,
        ),
        (
            "Fynn: plans",
            create(&[Fynn], |i| i.restrictions = plans()),
            Some(("input.restrictions.planIds", Unsupported)),
        ),
        (
            "Flex: plans",
            create(&[Flex], |i| i.restrictions = plans()),
            Some(("input.restrictions.planIds", Unsupported)),
        ),
        (
            "Whop: plans",
            create(&[Whop], |i| i.restrictions = plans()),
            None,
        ),
        (
            "Flex: products",
            create(&[Flex], |i| i.restrictions = products()),
            None,
        ),
        (
            "Whop: products",
            create(&[Whop], |i| i.restrictions = products()),
            Some(("input.restrictions.productIds", Unsupported)),
        ),
        (
            "Fynn: products",
            create(&[Fynn], |i| i.restrictions = products()),
            Some(("input.restrictions.productIds", Unsupported)),
        ),
        (
            "Flex: one customer",
            create(&[Flex], |i| i.restrictions = customer()),
            None,
        ),
        (
            "Whop: one customer",
            create(&[Whop], |i| i.restrictions = customer()),
            Some(("input.restrictions.customerId", Unsupported)),
        ),
        (
            "Whop: new customers only",
            create(&[Whop], |i| i.restrictions = new_only()),
            None,
        ),
        (
            "Flex: new customers only",
            create(&[Flex], |i| i.restrictions = new_only()),
            Some(("input.restrictions.newCustomersOnly", Unsupported)),
        ),
        (
            "Whop: a per-customer limit",
            create(&[Whop], |i| i.max_redemptions_per_customer = Some(1)),
            Some(("input.maxRedemptionsPerCustomer", Unsupported)),
        ),
        (
            "Flex: a per-customer limit",
            create(&[Flex], |i| i.max_redemptions_per_customer = Some(1)),
            Some(("input.maxRedemptionsPerCustomer", Unsupported)),
        ),
        (
            "Fynn: a per-customer limit",
            create(&[Fynn], |i| i.max_redemptions_per_customer = Some(1)),
            None,
        ),
        (
            "one provider of several refuses",
            create(&[Whop, Flex], |i| i.expires_at = Some(tomorrow)),
            Some(("input.expiresAt", Unsupported)),
        ),
    ];
    check_create_rows(rows);
}

/// A stored code on `providers`, as a create of `input` leaves it.
fn stored(providers: &[Provider], change: impl FnOnce(&mut CreatePromoCodeInput)) -> PromoCode {
    let new = validate_create(&create(providers, change), Utc::now()).expect("a valid create");
    let mut code = new.into_code("id-1".into(), Utc::now());
    code.version = 1;
    for link in &mut code.providers {
        link.external_id = Some("ext-1".into());
        link.state = SyncState::Synced;
    }
    code
}

fn update(change: impl FnOnce(&mut UpdatePromoCodeInput)) -> UpdatePromoCodeInput {
    let mut input = UpdatePromoCodeInput::default();
    change(&mut input);
    input
}

#[test]
fn what_each_provider_cannot_change_is_refused_on_update() {
    use ErrorCode::{Archived, Immutable, Invalid, UnsupportedByProvider as Unsupported};
    use Provider::{Flex, Fynn, Whop};
    let in_3_days = Utc::now() + Days::days(3);
    let limited = |i: &mut CreatePromoCodeInput| i.max_redemptions = Some(5);
    type Row = (
        &'static str,
        PromoCode,
        UpdatePromoCodeInput,
        Option<(&'static str, ErrorCode)>,
    );
    let rows: Vec<Row> = vec![
        (
            "Flex: the limit",
            stored(&[Flex], limited),
            update(|u| u.max_redemptions = Patch::Set(9)),
            Some(("input.maxRedemptions", Immutable)),
        ),
        (
            "Fynn: the limit",
            stored(&[Fynn], limited),
            update(|u| u.max_redemptions = Patch::Set(9)),
            None,
        ),
        (
            "Whop: the limit",
            stored(&[Whop], limited),
            update(|u| u.max_redemptions = Patch::Set(9)),
            None,
        ),
        (
            "Flex: the name",
            stored(&[Flex], |_| {}),
            update(|u| u.name = Some("Renamed".into())),
            Some(("input.name", Immutable)),
        ),
        (
            "Fynn: the name",
            stored(&[Fynn], |_| {}),
            update(|u| u.name = Some("Renamed".into())),
            None,
        ),
        (
            "Whop: the name (PromoHub's own)",
            stored(&[Whop], |_| {}),
            update(|u| u.name = Some("Renamed".into())),
            None,
        ),
        (
            "Flex: an expiry",
            stored(&[Flex], |_| {}),
            update(|u| u.expires_at = Patch::Set(in_3_days)),
            Some(("input.expiresAt", Unsupported)),
        ),
        (
            "Whop: the expiry",
            stored(&[Whop], |_| {}),
            update(|u| u.expires_at = Patch::Set(in_3_days)),
            Some(("input.expiresAt", Immutable)),
        ),
        (
            "Fynn: the expiry",
            stored(&[Fynn], |_| {}),
            update(|u| u.expires_at = Patch::Set(in_3_days)),
            None,
        ),
        (
            "Whop: the plans",
            stored(&[Whop], |_| {}),
            update(|u| {
                u.restrictions = Some(RestrictionsInput {
                    plan_ids: Some(vec!["p2".into()]),
                    ..Default::default()
                })
            }),
            None,
        ),
        (
            "Whop: new customers only",
            stored(&[Whop], |_| {}),
            update(|u| {
                u.restrictions = Some(RestrictionsInput {
                    new_customers_only: Some(true),
                    ..Default::default()
                })
            }),
            Some(("input.restrictions.newCustomersOnly", Immutable)),
        ),
        (
            "Flex: metadata",
            stored(&[Flex], |_| {}),
            update(|u| u.metadata = Some(json!({"a": "b"}))),
            None,
        ),
        (
            "Flex: a number in metadata",
            stored(&[Flex], |_| {}),
            update(|u| u.metadata = Some(json!({"n": 1}))),
            Some(("input.metadata", Unsupported)),
        ),
        (
            "Fynn: metadata",
            stored(&[Fynn], |_| {}),
            update(|u| u.metadata = Some(json!({"a": "b"}))),
            Some(("input.metadata", Unsupported)),
        ),
        (
            "Fynn: emptying metadata it never held",
            stored(&[Fynn], |_| {}),
            update(|u| u.metadata = Some(json!({}))),
            None,
        ),
        (
            "any: the status",
            stored(&[Flex, Fynn, Whop], |_| {}),
            update(|u| u.status = Some(PromoCodeStatus::Inactive)),
            None,
        ),
        (
            "any: archiving by update",
            stored(&[Whop], |_| {}),
            update(|u| u.status = Some(PromoCodeStatus::Archived)),
            Some(("input.status", Invalid)),
        ),
        (
            "any: a limit below 1",
            stored(&[Whop], |_| {}),
            update(|u| u.max_redemptions = Patch::Set(0)),
            Some(("input.maxRedemptions", Invalid)),
        ),
        (
            "any: an expiry in the past",
            stored(&[Fynn], |_| {}),
            update(|u| u.expires_at = Patch::Set(Utc::now() - Days::days(1))),
            Some(("input.expiresAt", Invalid)),
        ),
        (
            "one provider of two refuses",
            stored(&[Whop, Flex], limited),
            update(|u| u.max_redemptions = Patch::Set(9)),
            Some(("input.maxRedemptions", Immutable)),
        ),
        (
            "an archived code",
            {
                let mut code = stored(&[Whop], |_| {});
                code.status = PromoCodeStatus::Archived;
                code
            },
            update(|u| u.name = Some("Late".into())),
            Some(("", Archived)),
        ),
    ];
    for (name, current, input, expected) in rows {
        let result = validate_update(&current, &input, Utc::now());
        match (expected, result) {
            (None, Ok(_)) => {}
            (None, Err(errors)) => panic!("{name}: refused {:?}", found(&errors)),
            (Some((field, code)), Ok(_)) => panic!("{name}: accepted, expected {field} {code:?}"),
            (Some((field, code)), Err(errors)) => assert!(
                found(&errors).contains(&(field.to_string(), code)),
                "{name}: expected {field} {code:?}, got {:?}",
                found(&errors)
            ),
        }
    }
}

/// The capabilities as the contract's table lists them (reference/*.md): a change to a
/// provider's table must be a change here too.
#[test]
fn updatable_fields_per_provider_are_the_documented_ones() {
    let names = |provider| {
        crate::providers::capabilities(provider)
            .updatable_fields()
            .map(Field::api_name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(Provider::Flex), ["status", "metadata"]);
    assert_eq!(
        names(Provider::Fynn),
        [
            "name",
            "status",
            "maxRedemptions",
            "maxRedemptionsPerCustomer",
            "expiresAt"
        ]
    );
    assert_eq!(
        names(Provider::Whop),
        [
            "name",
            "status",
            "maxRedemptions",
            "restrictions.planIds",
            "metadata"
        ]
    );
}

fn create_with(
    metadata: Option<Value>,
    restrictions: Option<RestrictionsInput>,
) -> Result<NewPromoCode, Vec<UserError>> {
    let input = CreatePromoCodeInput {
        code: "CAPS-1".into(),
        discount: DiscountInput {
            kind: Some(DiscountType::Percentage),
            percent_off: Some(10.0),
            ..Default::default()
        },
        metadata,
        restrictions,
        providers: vec![Provider::Whop],
        ..Default::default()
    };
    validate_create(&input, Utc::now())
}

/// The field path and code of the only error, or None when accepted.
fn refusal(result: Result<NewPromoCode, Vec<UserError>>) -> Option<(String, ErrorCode)> {
    match result {
        Ok(_) => None,
        Err(errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            Some((errors[0].field.join("."), errors[0].code))
        }
    }
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |inner, _| json!({ "n": inner }))
}

fn ids(count: usize, chars: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{i:0>width$}", width = chars))
        .collect()
}

/// A case: its name, the metadata and restrictions given, and the refusal expected.
type Case = (
    &'static str,
    Option<Value>,
    Option<RestrictionsInput>,
    Option<(String, ErrorCode)>,
);

#[test]
fn input_caps_just_under_and_just_over() {
    let keys = |n: usize| {
        Value::Object(
            (0..n)
                .map(|i| (format!("k{i}"), json!("v")))
                .collect::<Map<String, Value>>(),
        )
    };
    let with_plans = |plan_ids: Vec<String>| {
        Some(RestrictionsInput {
            plan_ids: Some(plan_ids),
            ..Default::default()
        })
    };
    let invalid = |field: &str| Some((field.to_string(), ErrorCode::Invalid));
    let cases: Vec<Case> = vec![
        ("50 keys", Some(keys(METADATA_MAX_KEYS)), None, None),
        (
            "51 keys",
            Some(keys(METADATA_MAX_KEYS + 1)),
            None,
            invalid("input.metadata"),
        ),
        (
            "40-char key",
            Some(json!({ "k".repeat(40): 1 })),
            None,
            None,
        ),
        (
            "41-char key",
            Some(json!({ "k".repeat(41): 1 })),
            None,
            invalid("input.metadata"),
        ),
        (
            "500-char value",
            Some(json!({ "a": "v".repeat(500) })),
            None,
            None,
        ),
        (
            "501-char value",
            Some(json!({ "a": "v".repeat(501) })),
            None,
            invalid("input.metadata.a"),
        ),
        (
            "501 chars deep inside",
            Some(json!({ "a": [{ "b": "v".repeat(501) }] })),
            None,
            invalid("input.metadata.a"),
        ),
        ("nested 5", Some(json!({ "a": nested(5) })), None, None),
        (
            "nested 6",
            Some(json!({ "a": nested(6) })),
            None,
            invalid("input.metadata.a"),
        ),
        (
            "nested 150",
            Some(json!({ "a": nested(150) })),
            None,
            invalid("input.metadata.a"),
        ),
        (
            "8 KiB in all",
            Some(Value::Object(
                (0..20)
                    .map(|i| (format!("k{i:02}"), json!("v".repeat(400))))
                    .collect(),
            )),
            None,
            None,
        ),
        (
            "over 8 KiB in all",
            Some(Value::Object(
                (0..21)
                    .map(|i| (format!("k{i:02}"), json!("v".repeat(400))))
                    .collect(),
            )),
            None,
            invalid("input.metadata"),
        ),
        ("100 plans", None, with_plans(ids(IDS_MAX, 5)), None),
        (
            "101 plans",
            None,
            with_plans(ids(IDS_MAX + 1, 5)),
            invalid("input.restrictions.planIds"),
        ),
        (
            "100,000 plans",
            None,
            with_plans(ids(100_000, 6)),
            invalid("input.restrictions.planIds"),
        ),
        ("200-char plan", None, with_plans(ids(1, 200)), None),
        (
            "201-char plan",
            None,
            with_plans(ids(1, 201)),
            invalid("input.restrictions.planIds"),
        ),
        (
            "201-char customer",
            None,
            Some(RestrictionsInput {
                customer_id: Some("c".repeat(201)),
                ..Default::default()
            }),
            invalid("input.restrictions.customerId"),
        ),
    ];
    for (name, metadata, restrictions, expected) in cases {
        assert_eq!(
            refusal(create_with(metadata, restrictions)),
            expected,
            "{name}"
        );
    }
}

#[test]
fn a_hundred_thousand_repeated_providers_are_one_error_each() {
    let input = CreatePromoCodeInput {
        code: "MANY-1".into(),
        discount: DiscountInput {
            kind: Some(DiscountType::Percentage),
            percent_off: Some(10.0),
            ..Default::default()
        },
        providers: [Provider::Whop, Provider::Fynn].repeat(50_000),
        ..Default::default()
    };
    let errors = validate_create(&input, Utc::now()).expect_err("repeats");
    let fields: Vec<(String, ErrorCode)> =
        errors.iter().map(|e| (e.field.join("."), e.code)).collect();
    assert_eq!(
        fields,
        vec![("input.providers".to_string(), ErrorCode::Invalid); 2]
    );
}

#[test]
fn json_depth_counts_levels_without_recursion() {
    assert_eq!(json_depth(&json!("x")), 0);
    assert_eq!(json_depth(&json!({ "a": 1 })), 1);
    assert_eq!(json_depth(&json!({ "a": [1, { "b": [] }] })), 4);
    assert_eq!(json_depth(&nested(1_000)), 1_000);
}
