//! What every resolver shares: the DateTime scalar, the caller and its guard, error helpers,
//! PageInfo.

use async_graphql::{
    Context, Error, ErrorExtensions, Guard, InputValueError, InputValueResult, Scalar, ScalarType,
    SimpleObject,
};

use chrono::Utc;
use promohub_domain as domain;

/// RFC 3339 timestamp in UTC, e.g. 2026-11-22T10:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// The contract writes UTC as `Z`; input may carry any offset and is turned into UTC.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(
                        "expected an RFC 3339 timestamp, e.g. 2026-11-22T10:00:00Z",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// Who is calling, from the bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub can_write: bool,
    /// Names the token in the audit log, never the token itself.
    pub actor: String,
}

pub(crate) fn coded(message: impl Into<String>, code: &'static str) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

/// Logs an internal error with its context; callers see no details.
pub(crate) fn internal(error: impl std::fmt::Display) -> Error {
    tracing::error!(%error, "internal error");
    coded("internal error", "INTERNAL")
}

pub(crate) fn service<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a domain::PromoService> {
    ctx.data::<domain::PromoService>()
        .map_err(|_| internal("no service in the schema context"))
}

/// Mutations need a write token.
pub(crate) struct WriteGuard;

impl Guard for WriteGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<Caller>() {
            Some(caller) if caller.can_write => Ok(()),
            _ => Err(coded("this token may only read", "FORBIDDEN")),
        }
    }
}

pub(crate) fn actor(ctx: &Context<'_>) -> String {
    ctx.data_opt::<Caller>()
        .map_or_else(|| "unknown".to_string(), |c| c.actor.clone())
}

/// GraphQL's Int is 32 bits; stored counts never come near the edge.
pub(crate) fn int(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub(crate) has_next_page: bool,
    pub(crate) has_previous_page: bool,
    pub(crate) start_cursor: Option<String>,
    pub(crate) end_cursor: Option<String>,
}

/// A user error of a query, as a top-level error carrying its code and field.
pub(crate) fn query_error(error: domain::ServiceError) -> Error {
    match error {
        domain::ServiceError::User(errors) => {
            let first = errors.into_iter().next();
            let message = first
                .as_ref()
                .map_or("invalid input".to_string(), |e| e.message.clone());
            Error::new(message).extend_with(|_, ext| {
                if let Some(first) = &first {
                    ext.set("code", first.code.as_str());
                    ext.set("field", first.field.clone());
                }
            })
        }
        domain::ServiceError::Internal(error) => internal(format!("{error:#}")),
    }
}
