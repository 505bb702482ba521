use sea_orm_migration::prelude::*;

/// Undos that failed: a rejected create left a copy on a provider, and retiring it failed.
/// The worker retries each until it is done or the provider refuses for good.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProviderCleanups {
    Table,
    Id,
    Provider,
    PromoCodeId,
    Code,
    ExternalId,
    SecondaryId,
    State,
    Attempts,
    LastError,
    NextAttemptAt,
    LockToken,
    LockedUntil,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ProviderCleanups::*;
        manager
            .create_table(
                sea_query::Table::create()
                    .table(Table)
                    .col(ColumnDef::new(Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Provider).string().not_null())
                    .col(ColumnDef::new(PromoCodeId).string().not_null())
                    .col(ColumnDef::new(Code).string().not_null())
                    .col(ColumnDef::new(ExternalId).string().null())
                    .col(ColumnDef::new(SecondaryId).string().null())
                    .col(ColumnDef::new(State).string().not_null())
                    .col(ColumnDef::new(Attempts).integer().not_null())
                    .col(ColumnDef::new(LastError).text().null())
                    .col(
                        ColumnDef::new(NextAttemptAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(LockToken).string().null())
                    .col(
                        ColumnDef::new(LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_provider_cleanups_due")
                    .table(Table)
                    .col(State)
                    .col(NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProviderCleanups::Table).to_owned())
            .await
    }
}
