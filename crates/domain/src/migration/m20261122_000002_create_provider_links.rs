use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProviderLinks {
    Table,
    PromoCodeId,
    Provider,
    ExternalId,
    SecondaryId,
    State,
    LastError,
    Attempts,
    SyncedAt,
    SyncedVersion,
    TimesRedeemed,
    NextAttemptAt,
}

#[derive(DeriveIden)]
enum PromoCodes {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ProviderLinks::*;
        manager
            .create_table(
                sea_query::Table::create()
                    .table(Table)
                    .col(ColumnDef::new(PromoCodeId).string().not_null())
                    .col(ColumnDef::new(Provider).string().not_null())
                    .col(ColumnDef::new(ExternalId).string())
                    .col(ColumnDef::new(SecondaryId).string())
                    .col(ColumnDef::new(State).string().not_null())
                    .col(ColumnDef::new(LastError).text())
                    .col(ColumnDef::new(Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(SyncedAt).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(SyncedVersion)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(TimesRedeemed)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(NextAttemptAt).timestamp_with_time_zone())
                    .primary_key(Index::create().col(PromoCodeId).col(Provider))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_provider_links_promo_code")
                            .from(Table, PromoCodeId)
                            .to(PromoCodes::Table, PromoCodes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Filters by provider and sync state; the sync worker's queue.
        manager
            .create_index(
                Index::create()
                    .name("ix_provider_links_provider_state")
                    .table(Table)
                    .col(Provider)
                    .col(State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_provider_links_state_next_attempt")
                    .table(Table)
                    .col(State)
                    .col(NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProviderLinks::Table).to_owned())
            .await
    }
}
