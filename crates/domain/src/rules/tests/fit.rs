//! What each provider cannot hold (on create) or cannot change (on update).

use super::*;

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
        check_outcome(
            name,
            expected,
            validate_update(&current, &input, Utc::now()).map(drop),
        );
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
