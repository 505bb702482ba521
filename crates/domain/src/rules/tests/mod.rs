//! Table-driven tests of every rule: each row an input, the providers, and the error
//! expected (field path and code), or none. The end-to-end tests (tests/domain.rs) check that a
//! refused input stores nothing and calls no provider; here each rule is checked on its own.

use chrono::{Duration as Days, Utc};
use serde_json::{Map, Value, json};

use super::*;
use crate::error::ErrorCode;
use crate::model::{
    CreatePromoCodeInput, DiscountInput, DiscountType, DurationInput, DurationType, Patch,
    RestrictionsInput, SyncState,
};

/// A create that every provider accepts, changed by `change`.
pub(super) fn create(
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

pub(super) fn fixed(input: &mut CreatePromoCodeInput, amount: i64, currency: &str) {
    input.discount = DiscountInput {
        kind: Some(DiscountType::FixedAmount),
        amount_off: Some(amount),
        currency: Some(currency.into()),
        ..Default::default()
    };
}

/// Every error as (field path, code).
pub(super) fn found(errors: &[UserError]) -> Vec<(String, ErrorCode)> {
    errors.iter().map(|e| (e.field.join("."), e.code)).collect()
}

pub(super) type CreateRow = (
    &'static str,
    CreatePromoCodeInput,
    Option<(&'static str, ErrorCode)>,
);

pub(super) fn check_create_rows(rows: Vec<CreateRow>) {
    for (name, input, expected) in rows {
        check_outcome(
            name,
            expected,
            validate_create(&input, Utc::now()).map(drop),
        );
    }
}

/// A row's outcome: accepted when nothing is expected, else refused with (at least) that field
/// and code.
pub(super) fn check_outcome(
    name: &str,
    expected: Option<(&str, ErrorCode)>,
    result: Result<(), Vec<UserError>>,
) {
    match (expected, result) {
        (None, Ok(())) => {}
        (None, Err(errors)) => panic!("{name}: refused {:?}", found(&errors)),
        (Some((field, code)), Ok(())) => panic!("{name}: accepted, expected {field} {code:?}"),
        (Some((field, code)), Err(errors)) => assert!(
            found(&errors).contains(&(field.to_string(), code)),
            "{name}: expected {field} {code:?}, got {:?}",
            found(&errors)
        ),
    }
}

mod caps;
mod fit;
mod inputs;
