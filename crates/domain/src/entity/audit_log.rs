use sea_orm::entity::prelude::*;

/// Every accepted change: who (a token's name, never the token), when, what.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub promo_code_id: String,
    pub actor: String,
    /// What happened: `history::Action`'s stored names (create, update, archive, import...).
    pub action: String,
    /// JSON: `{field: {"from": .., "to": ..}}`, plus context keys (see `history`); rows of
    /// round 1 may hold `{"created": {..}}` instead.
    #[sea_orm(column_type = "Text")]
    pub changes: String,
    pub at: DateTimeUtc,
    /// The code's version after the change; None on rows written before it was recorded.
    pub version: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
