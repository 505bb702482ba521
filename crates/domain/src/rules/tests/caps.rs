//! The caps on input size: just under is accepted, just over refused with one error.

use super::super::inputs::json_depth;
use super::*;

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
