use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "promo_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// As the caller gave it.
    pub code: String,
    /// Lower case: the case-insensitive unique key.
    #[sea_orm(unique)]
    pub code_key: String,
    pub name: String,
    pub status: String,
    pub discount_type: String,
    #[sea_orm(column_type = "Double", nullable)]
    pub percent_off: Option<f64>,
    pub amount_off: Option<i64>,
    pub currency: Option<String>,
    pub duration_type: String,
    pub duration_periods: Option<i32>,
    pub max_redemptions: Option<i64>,
    pub max_redemptions_per_customer: Option<i64>,
    pub times_redeemed: i64,
    pub expires_at: Option<DateTimeUtc>,
    /// JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub plan_ids: String,
    /// JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub product_ids: String,
    pub customer_id: Option<String>,
    pub new_customers_only: bool,
    /// JSON object.
    #[sea_orm(column_type = "Text")]
    pub metadata: String,
    /// 0 while the create is in flight (hidden from reads), then +1 per accepted change.
    pub version: i64,
    /// Held by the one request changing the code; other changes wait or conflict.
    pub lock_token: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
