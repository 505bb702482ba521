//! Errors as values with codes: user errors the caller can fix, internal errors that are
//! logged and never shown in detail.

use crate::model::Provider;

/// The contract's user-error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Invalid,
    Required,
    DuplicateCode,
    NotFound,
    UnsupportedByProvider,
    Immutable,
    VersionConflict,
    Archived,
    NotConfigured,
    ProviderRejected,
    /// The provider holds the code but refuses every change to it now (Fynn, once redeemed).
    ImmutableOnProvider,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Invalid => "INVALID",
            ErrorCode::Required => "REQUIRED",
            ErrorCode::DuplicateCode => "DUPLICATE_CODE",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::UnsupportedByProvider => "UNSUPPORTED_BY_PROVIDER",
            ErrorCode::Immutable => "IMMUTABLE",
            ErrorCode::VersionConflict => "VERSION_CONFLICT",
            ErrorCode::Archived => "ARCHIVED",
            ErrorCode::NotConfigured => "NOT_CONFIGURED",
            ErrorCode::ProviderRejected => "PROVIDER_REJECTED",
            ErrorCode::ImmutableOnProvider => "IMMUTABLE_ON_PROVIDER",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with the caller's input or with what a provider accepts. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// Path to the input field, e.g. `["input", "discount", "percentOff"]`; empty when the
    /// error is not about one field.
    pub field: Vec<String>,
    pub code: ErrorCode,
    pub message: String,
}

impl UserError {
    pub fn new(field: &[&str], code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.iter().map(|s| s.to_string()).collect(),
            code,
            message: message.into(),
        }
    }

    pub fn unsupported(provider: Provider, field: &[&str], what: &str) -> Self {
        Self::new(
            field,
            ErrorCode::UnsupportedByProvider,
            format!("{provider} does not support {what}"),
        )
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {}: {}",
            self.code,
            self.field.join("."),
            self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller can fix these; nothing changed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    User(Vec<UserError>),
    /// Ours to fix: logged with context, reported to callers without details.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<UserError> for ServiceError {
    fn from(error: UserError) -> Self {
        ServiceError::User(vec![error])
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(error: sea_orm::DbErr) -> Self {
        ServiceError::Internal(anyhow::Error::new(error).context("database"))
    }
}

impl ServiceError {
    /// The user errors, if that is what this is (tests and callers match on codes).
    pub fn user_errors(&self) -> &[UserError] {
        match self {
            ServiceError::User(errors) => errors,
            ServiceError::Internal(_) => &[],
        }
    }
}
