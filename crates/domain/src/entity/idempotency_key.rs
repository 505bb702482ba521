use sea_orm::entity::prelude::*;

/// One `Idempotency-Key` of one API token: the request it was first sent with and its answer.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// SHA-256 (hex) of the API token: never the token itself.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    /// SHA-256 (hex) of the request: its document, operation name and variables.
    pub request_hash: String,
    /// `in_progress` or `done`.
    pub state: String,
    /// Who runs the request now: a random token, replaced when a stale request is taken over.
    pub claim: String,
    /// The stored answer (done only): HTTP status, Content-Type, body bytes.
    pub status: Option<i32>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
    /// When the current claim was taken (the first request, or a takeover).
    pub claimed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
