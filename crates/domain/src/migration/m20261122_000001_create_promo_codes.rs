use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PromoCodes {
    Table,
    Id,
    Code,
    CodeKey,
    Name,
    Status,
    DiscountType,
    PercentOff,
    AmountOff,
    Currency,
    DurationType,
    DurationPeriods,
    MaxRedemptions,
    MaxRedemptionsPerCustomer,
    TimesRedeemed,
    ExpiresAt,
    PlanIds,
    ProductIds,
    CustomerId,
    NewCustomersOnly,
    Metadata,
    Version,
    LockToken,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PromoCodes::*;
        // Byte order for codes on every backend: PostgreSQL's locale collations would sort
        // `alpha-2` and `alpha_1` differently from SQLite, and pages must not depend on that.
        let mut code_key = ColumnDef::new(CodeKey);
        code_key.string().not_null();
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            code_key.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                sea_query::Table::create()
                    .table(Table)
                    .col(ColumnDef::new(Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Code).string().not_null())
                    .col(code_key)
                    .col(ColumnDef::new(Name).string().not_null())
                    .col(ColumnDef::new(Status).string().not_null())
                    .col(ColumnDef::new(DiscountType).string().not_null())
                    .col(ColumnDef::new(PercentOff).double())
                    .col(ColumnDef::new(AmountOff).big_integer())
                    .col(ColumnDef::new(Currency).string())
                    .col(ColumnDef::new(DurationType).string().not_null())
                    .col(ColumnDef::new(DurationPeriods).integer())
                    .col(ColumnDef::new(MaxRedemptions).big_integer())
                    .col(ColumnDef::new(MaxRedemptionsPerCustomer).big_integer())
                    .col(
                        ColumnDef::new(TimesRedeemed)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(ExpiresAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(PlanIds).text().not_null())
                    .col(ColumnDef::new(ProductIds).text().not_null())
                    .col(ColumnDef::new(CustomerId).string())
                    .col(ColumnDef::new(NewCustomersOnly).boolean().not_null())
                    .col(ColumnDef::new(Metadata).text().not_null())
                    .col(ColumnDef::new(Version).big_integer().not_null())
                    .col(ColumnDef::new(LockToken).string())
                    .col(ColumnDef::new(LockedUntil).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Case-insensitive uniqueness lives in code_key (lower case), which also serves
        // codePrefix filters and CODE sorting.
        manager
            .create_index(
                Index::create()
                    .name("ux_promo_codes_code_key")
                    .table(Table)
                    .col(CodeKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_promo_codes_status", Status),
            ("ix_promo_codes_expires_at", ExpiresAt),
            ("ix_promo_codes_times_redeemed", TimesRedeemed),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Table)
                        .col(column)
                        .col(Id)
                        .to_owned(),
                )
                .await?;
        }
        // The default page order: created_at, then id.
        manager
            .create_index(
                Index::create()
                    .name("ix_promo_codes_created_at")
                    .table(Table)
                    .col(CreatedAt)
                    .col(Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PromoCodes::Table).to_owned())
            .await
    }
}
