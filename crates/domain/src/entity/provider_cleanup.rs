use sea_orm::entity::prelude::*;

/// A copy a rejected create left on a provider that could not be retired at once: the worker
/// retires it later (`service::cleanup`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_cleanups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub provider: String,
    /// The PromoHub id the create had (the code itself is gone).
    pub promo_code_id: String,
    pub code: String,
    /// None when the create's outcome was unknown and the look-up failed: found by code.
    pub external_id: Option<String>,
    pub secondary_id: Option<String>,
    /// PENDING (to retry) or FAILED (the provider refuses for good; see `last_error`).
    pub state: String,
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub lock_token: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
