//! Every rule on one input alone, on create.

use super::*;

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
