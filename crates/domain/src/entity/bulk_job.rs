use sea_orm::entity::prelude::*;

/// One `generatePromoCodes` job: what to make, how far it got, who runs it now.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// QUEUED, RUNNING, DONE, CANCELLED, FAILED.
    pub state: String,
    pub total: i64,
    /// Codes stored so far; moved in the same transaction as each batch of codes.
    pub created: i64,
    /// The code pattern (`prefix + length` is stored as a pattern too).
    pub pattern: String,
    /// JSON: the settings every code shares, validated when the job was accepted.
    #[sea_orm(column_type = "Text")]
    pub template: String,
    /// JSON array of messages (bounded).
    #[sea_orm(column_type = "Text")]
    pub errors: String,
    /// The token's name that asked for the job.
    pub actor: String,
    /// Held by the one runner working on the job.
    pub lease_token: Option<String>,
    pub leased_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
