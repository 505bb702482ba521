use sea_orm_migration::prelude::*;

/// Answers to mutations sent with an `Idempotency-Key` (runtime.md, "Idempotent requests").
/// The primary key (scope, key) is what makes the first request win across replicas: the
/// database refuses the second insert.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Scope,
    IdempotencyKey,
    RequestHash,
    State,
    Claim,
    Status,
    ContentType,
    Body,
    CreatedAt,
    ClaimedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use IdempotencyKeys::*;
        manager
            .create_table(
                sea_query::Table::create()
                    .table(Table)
                    .col(ColumnDef::new(Scope).string_len(64).not_null())
                    .col(ColumnDef::new(IdempotencyKey).string_len(255).not_null())
                    .col(ColumnDef::new(RequestHash).string_len(64).not_null())
                    .col(ColumnDef::new(State).string_len(16).not_null())
                    .col(ColumnDef::new(Claim).string_len(64).not_null())
                    .col(ColumnDef::new(Status).integer().null())
                    .col(ColumnDef::new(ContentType).string().null())
                    .col(ColumnDef::new(Body).binary().null())
                    .col(
                        ColumnDef::new(CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ClaimedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Scope).col(IdempotencyKey))
                    .to_owned(),
            )
            .await?;
        // Pruning deletes by age on every new key: without this it would scan the table.
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_created_at")
                    .table(Table)
                    .col(CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
