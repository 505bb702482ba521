use sea_orm::entity::prelude::*;

/// Every accepted change: who (a token's name, never the token), when, what.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub promo_code_id: String,
    pub actor: String,
    /// create, update, archive.
    pub action: String,
    /// JSON: `{field: {"from": .., "to": ..}}`, or the created code.
    #[sea_orm(column_type = "Text")]
    pub changes: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
