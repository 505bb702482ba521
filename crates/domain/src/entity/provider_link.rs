use sea_orm::entity::prelude::*;

/// One code on one provider: its ids there and how far the provider holds our state.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub promo_code_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider: String,
    pub external_id: Option<String>,
    pub secondary_id: Option<String>,
    pub state: String,
    pub last_error: Option<String>,
    pub attempts: i32,
    pub synced_at: Option<DateTimeUtc>,
    /// The code version the provider is known to hold.
    pub synced_version: i64,
    pub times_redeemed: i64,
    /// When the sync worker may try again (PENDING only).
    pub next_attempt_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
