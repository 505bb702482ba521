use sea_orm_migration::prelude::*;

/// The worker looks for expired leases every poll interval; without this it scans every code.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PromoCodes {
    Table,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_promo_codes_locked_until")
                    .table(PromoCodes::Table)
                    .col(PromoCodes::LockedUntil)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_promo_codes_locked_until")
                    .table(PromoCodes::Table)
                    .to_owned(),
            )
            .await
    }
}
